#!/usr/bin/env python3
"""Benchmark the embedded store on a whole synthetic city.

Measures, each in a fresh process so the figures are honest:
  * building the city (`geo-service demo --scale N`) when the GeoPackage does not exist yet;
  * start-up: opening the store, i.e. loading every layer and building the rtree indexes;
  * bbox queries on fire_hydrants: ~1 km² boxes centred on random hydrants, and boxes grown
    until they return ~1,000 features; median / p95 time per query (in-process, no HTTP);
  * peak memory (max RSS) of the process that loaded the city and ran the queries.

Usage: python scripts/bench_store.py [--scale 30] [--gpkg PATH] [--queries 300]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(gpkg: Path, scale: float) -> float:
    env = {**os.environ, "GEO_SERVICE_GPKG": str(gpkg)}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "geo_service.cli", "demo", "--scale", str(scale)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def measure(gpkg: str, queries: int) -> dict:
    """Runs in the child process."""
    import numpy as np

    from geo_service.catalog import load_catalog
    from geo_service.settings import default_layers_dir
    from geo_service.store.base import Query
    from geo_service.store.geopackage import GeoPackageStore

    catalog = load_catalog(default_layers_dir())
    t = time.perf_counter()
    store = GeoPackageStore(gpkg, catalog)
    startup = time.perf_counter() - t
    counts = {spec.id: store.count(spec.id) for spec in catalog}

    hyd = store.query("fire_hydrants", Query(properties=[])).features
    rng = np.random.default_rng(7)
    centres = hyd.geometry.values[rng.choice(len(hyd), queries, replace=False)]
    lat0 = float(np.mean([c.y for c in centres]))
    deg_lat = 1000 / 110_574
    deg_lon = 1000 / (111_320 * math.cos(math.radians(lat0)))

    def run(scale_side: float) -> tuple[list[float], list[int]]:
        times, found = [], []
        for c in centres:
            hx, hy = deg_lon * scale_side / 2, deg_lat * scale_side / 2
            q = Query(bbox=(c.x - hx, c.y - hy, c.x + hx, c.y + hy))
            t0 = time.perf_counter()
            r = store.query("fire_hydrants", q)
            times.append(time.perf_counter() - t0)
            found.append(len(r.features))
        return times, found

    run(1.0)  # warm-up
    t1, n1 = run(1.0)
    # grow the side until the median box holds ~1,000 hydrants
    side = 1.0
    for _ in range(20):
        _, n = run(side)
        med = float(np.median(n))
        if 900 <= med <= 1100:
            break
        side *= math.sqrt(1000 / max(med, 1.0))
    t2, n2 = run(side)
    pct = lambda v, p: float(np.percentile(v, p)) * 1000  # noqa: E731
    store.close()
    return {
        "layers": counts,
        "startup_s": round(startup, 2),
        "bbox_1km2": {"median_ms": round(pct(t1, 50), 3), "p95_ms": round(pct(t1, 95), 3),
                      "features_median": int(np.median(n1)), "features_mean": round(float(np.mean(n1)), 1)},
        "bbox_1000": {"side_km": round(side, 2), "median_ms": round(pct(t2, 50), 3), "p95_ms": round(pct(t2, 95), 3),
                      "features_median": int(np.median(n2)), "features_mean": round(float(np.mean(n2)), 1)},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=30)
    ap.add_argument("--gpkg", type=Path, default=ROOT / "data" / "bench_city.gpkg")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(str(args.gpkg), args.queries)))
        return 0
    result = {"gpkg": str(args.gpkg)}
    if not args.gpkg.exists():
        args.gpkg.parent.mkdir(parents=True, exist_ok=True)
        result["build_s"] = round(build(args.gpkg, args.scale), 1)
    out = subprocess.run([sys.executable, __file__, "--child", "--gpkg", str(args.gpkg), "--queries",
                          str(args.queries)], check=True, capture_output=True, text=True)
    result.update(json.loads(out.stdout.strip().splitlines()[-1]))
    result["gpkg_mb"] = round(args.gpkg.stat().st_size / 1e6, 1)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
