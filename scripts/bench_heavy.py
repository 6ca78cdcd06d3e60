"""Reads while reports are drawn: items p95 with 8 uncached report PDFs requested at once.

Two servers on copies of the demo district, measured in the same run:
  unbounded  heavy_concurrency=8, no queue limit, no rate (what the service did before issue 13)
  bounded    the defaults (one heavy computation per two cores, a queue of 8, 60 a minute per client)
For each: 8 threads each ask a different compound's PDF (new data version, so nothing is cached) while
one client reads /collections/fire_hydrants/items with ~1 km boxes in a loop; the items latencies taken
while any report is still running give the p50/p95.

    .venv/bin/python scripts/bench_heavy.py [--reports 8] [--gpkg data/compound_gis.gpkg]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo_service.settings import Settings  # noqa: E402
from geo_service.store import open_store  # noqa: E402
from geo_service.store.base import Query  # noqa: E402
from tests.servers import running_server  # noqa: E402


def boxes(store, n: int = 50) -> list[str]:
    minx, miny, maxx, maxy = store.extent("fire_hydrants")
    out = []
    for i in range(n):
        x = minx + (maxx - minx - 0.01) * ((i * 37) % n) / n
        y = miny + (maxy - miny - 0.009) * ((i * 53) % n) / n
        out.append(f"{x:.5f},{y:.5f},{x + 0.0105:.5f},{y + 0.009:.5f}")
    return out


def measure(base: str, compound_ids: list[int], bboxes: list[str]) -> dict:
    done = threading.Event()
    statuses: list[int] = []

    def report(cid: int) -> None:
        with httpx.Client(timeout=300) as c:
            statuses.append(c.get(f"{base}/reports/compounds/{cid}.pdf").status_code)

    threads = [threading.Thread(target=report, args=(cid,)) for cid in compound_ids]
    latencies: list[float] = []
    with httpx.Client(base_url=base, timeout=60) as reader:
        reader.get("/collections/fire_hydrants/items", params={"bbox": bboxes[0]})  # warm
        started = time.perf_counter()
        for t in threads:
            t.start()
        watcher = threading.Thread(target=lambda: ([t.join() for t in threads], done.set()))
        watcher.start()
        i = 0
        while not done.is_set():
            t0 = time.perf_counter()
            r = reader.get("/collections/fire_hydrants/items", params={"bbox": bboxes[i % len(bboxes)]})
            latencies.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200
            i += 1
        watcher.join()
    latencies.sort()
    return {"reads": len(latencies), "p50_ms": statistics.median(latencies),
            "p95_ms": latencies[int(0.95 * (len(latencies) - 1))], "max_ms": latencies[-1],
            "reports_s": time.perf_counter() - started,
            "statuses": {s: statuses.count(s) for s in sorted(set(statuses))}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=int, default=8)
    ap.add_argument("--gpkg", type=Path, default=ROOT / "data" / "compound_gis.gpkg")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_heavy-"))
    results = {}
    for name, extra in (("unbounded", {"GEO_SERVICE_HEAVY_CONCURRENCY": "8", "GEO_SERVICE_HEAVY_QUEUE": "1000",
                                        "GEO_SERVICE_HEAVY_PER_MINUTE": "0"}),
                        ("bounded", {})):
        gpkg = folder / f"{name}.gpkg"
        shutil.copy(args.gpkg, gpkg)
        store = open_store(Settings(gpkg=gpkg))
        ids = [int(i) for i in store.query("compounds", Query(limit=args.reports, offset=20)).features.index]
        bboxes = boxes(store)
        store.close()
        env = {"GEO_SERVICE_GPKG": str(gpkg), "GEO_SERVICE_STATIC_MAPS_DIR": str(folder / f"maps-{name}"), **extra,
               "NO_PROXY": "127.0.0.1,localhost"}
        with running_server(env, workers=int(os.environ.get("WORKERS", "2")), log=folder / f"{name}.log") as base:
            httpx.get(f"{base}/reports/compounds/{ids[0]}.pdf", timeout=300)  # the font, warmed once
            with open_store(Settings(gpkg=gpkg)) as s:  # a new data version: every report is drawn again
                s.update("compounds", ids[0], {"households": 1 + int(s.get("compounds", ids[0])["properties"]
                                                                    .get("households") or 0)}, actor="bench")
            results[name] = measure(base, ids, bboxes)
        print(f"{name:10s} {results[name]}", flush=True)
    print(f"\nload average {os.getloadavg()}")
    print("| server | reads during reports | items p50 ms | items p95 ms | max ms | reports done in s | statuses |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['reads']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['max_ms']:.0f} | "
              f"{r['reports_s']:.1f} | {r['statuses']} |")


if __name__ == "__main__":
    main()
