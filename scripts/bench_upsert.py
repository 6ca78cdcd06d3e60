"""Keyed re-import of a whole city (issue 11): `--mode upsert` of 200,000 hydrants with 1 % changed.

Takes the hydrants of /tmp/peerbench/city.gpkg (copied first; the original is never opened for
writing) or of a city made with /work/shared/peers/make_city.py, writes them as an office would
deliver them (a CSV with its own ids 编号 = HY-<n>), imports that into a fresh store, then
re-imports the same list with 1 % of the rows changed (status) under --mode upsert. Reports the
time of each step and proves that only the changed rows were rewritten: the upsert's audit rows,
the stored rows that differ before/after, and the layer version. Usage:

    PYTHONPATH=. python scripts/bench_upsert.py [--city PATH] [--postgis]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from geo_service.catalog import load_catalog
from geo_service.ingest.importer import import_file
from geo_service.store.geopackage import GeoPackageStore

ROOT = Path(__file__).resolve().parent.parent
CITY = Path("/tmp/peerbench/city.gpkg")
STATUS_CYCLE = {"ok": "damaged", "damaged": "ok", "under_repair": "ok", "out_of_service": "ok"}


def office_csv(city: Path, folder: Path) -> tuple[Path, Path, int]:
    copy = folder / "city.gpkg"
    shutil.copyfile(city, copy)
    frame = pyogrio.read_dataframe(copy, layer="fire_hydrants", fid_as_index=True)
    table = pd.DataFrame({"编号": [f"HY-{i}" for i in frame.index], "lon": frame.geometry.x.round(7),
                          "lat": frame.geometry.y.round(7), "kind": frame["kind"], "status": frame["status"],
                          "last_inspected": frame["last_inspected"]})
    first = folder / "hydrants_q1.csv"
    table.to_csv(first, index=False)
    rng = np.random.default_rng(11)
    changed = rng.choice(len(table), size=len(table) // 100, replace=False)
    table.loc[changed, "status"] = table.loc[changed, "status"].map(STATUS_CYCLE)
    second = folder / "hydrants_q2.csv"
    table.to_csv(second, index=False)
    return first, second, len(changed)


def bench(store, first: Path, second: Path, changed: int, label: str) -> None:
    t = time.perf_counter()
    report = import_file(store, first, "fire_hydrants")
    print(f"[{label}] first delivery, append: {report.imported:,} rows in {time.perf_counter() - t:.1f} s")
    before = store.frame("fire_hydrants")
    version = store.version("fire_hydrants")
    audits = len(store.audit_records())
    t = time.perf_counter()
    report = import_file(store, second, "fire_hydrants", mode="upsert")
    seconds = time.perf_counter() - t
    after = store.frame("fire_hydrants")
    audit = store.audit_records()[audits:]
    cols = ["kind", "status", "last_inspected", "source_id"]
    differs = (before[cols].fillna("").astype(str) != after.loc[before.index, cols].fillna("").astype(str)).any(axis=1)
    moved = ~np.array([a.equals(b) for a, b in zip(before.geometry, after.loc[before.index].geometry, strict=True)])
    print(f"[{label}] second delivery, upsert with {changed:,} rows changed: {seconds:.1f} s; "
          f"{report.imported:,} inserted, {report.updated:,} updated, {report.unchanged:,} unchanged")
    print(f"[{label}]   rows rewritten: {len(audit):,} audit rows (actor {audit[0]['actor'] if audit else '-'!r}, "
          f"actions {sorted({a['action'] for a in audit})}); stored rows that differ: {int(differs.sum()):,} "
          f"(geometry moved: {int(moved.sum())}); ids unchanged: {before.index.equals(after.index)}; "
          f"version {version} -> {store.version('fire_hydrants')}")
    t = time.perf_counter()
    again = import_file(store, second, "fire_hydrants", mode="upsert")
    print(f"[{label}] same file again: {time.perf_counter() - t:.1f} s; {again.updated:,} updated, "
          f"{again.unchanged:,} unchanged; version stays {store.version('fire_hydrants')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", type=Path, default=CITY, help="a city GeoPackage (make_city.py's output)")
    parser.add_argument("--postgis", action="store_true", help="also on a throwaway PostGIS cluster (tests/pg.py)")
    args = parser.parse_args()
    catalog = load_catalog(ROOT / "layers")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        first, second, changed = office_csv(args.city, folder)
        with GeoPackageStore(folder / "store.gpkg", catalog) as store:
            bench(store, first, second, changed, "GeoPackage")
        if args.postgis:
            sys.path.insert(0, str(ROOT))
            from tests.pg import throwaway_store  # deferred: only --postgis starts a cluster

            store = throwaway_store(catalog)
            try:
                bench(store, first, second, changed, "PostGIS")
            finally:
                store.close()


if __name__ == "__main__":
    main()
