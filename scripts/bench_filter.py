"""CQL2 filter speed in-process, on the peers' city (200,000 hydrants), on the embedded and the PostGIS store.

    .venv/bin/python scripts/bench_filter.py --gpkg /tmp/peerbench/cmp/after-gpkg.gpkg \
        [--database-url postgresql://bench:bench@127.0.0.1:5433/compound_gis_cmp] [--n 200]

Two questions, each as the items route asks the store (geojson_page with a parsed filter, limit 1000):
  bboxed  status IN ('faulty','unknown') AND S_INTERSECTS(geometry, BBOX(<one of the peers' ~1 km² boxes>))
  layer   status = 'out_of_service' AND flow_lps < 8   (no bbox: the whole layer)
Prints median and p99 in milliseconds and the features each returns.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo_service.catalog import load_catalog  # noqa: E402
from geo_service.settings import Settings  # noqa: E402
from geo_service.store import cql  # noqa: E402
from geo_service.store.query import Query  # noqa: E402

BOXES = ROOT.parent / "shared" / "peers" / "load" / "bboxes.txt"


def measure(store, texts: list[str]) -> tuple[float, float, float]:
    spec = store.catalog.get("fire_hydrants")
    times, counts = [], []
    for text in texts:
        t0 = time.perf_counter()
        page = store.geojson_page("fire_hydrants", Query(limit=1000, cql=cql.parse(text, spec)))
        times.append((time.perf_counter() - t0) * 1000)
        counts.append(page.number_returned)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))], statistics.mean(counts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpkg", type=Path, required=True)
    ap.add_argument("--database-url")
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    boxes = [line.strip() for line in BOXES.read_text().splitlines() if line.strip()][: args.n]
    bboxed = [f"status IN ('faulty','unknown') AND S_INTERSECTS(geometry, BBOX({b}))" for b in boxes]
    layer = ["status = 'out_of_service' AND flow_lps < 8"] * 20
    catalog = load_catalog(Settings().layers)
    stores = []
    from geo_service.store.geopackage import GeoPackageStore

    stores.append(("geopackage", GeoPackageStore(args.gpkg, catalog)))
    if args.database_url:
        from geo_service.store.postgis import PostGISStore  # optional extra

        stores.append(("postgis", PostGISStore(args.database_url, catalog)))
    print("| store | question | median ms | p99 ms | features returned (mean) |")
    print("|---|---|---|---|---|")
    for name, store in stores:
        measure(store, bboxed[:5])  # warm caches and connections
        for label, texts in (("bboxed (1 km²)", bboxed), ("whole layer", layer)):
            med, p99, mean = measure(store, texts)
            print(f"| {name} | {label} | {med:.2f} | {p99:.2f} | {mean:.1f} |", flush=True)
        store.close()


if __name__ == "__main__":
    main()
