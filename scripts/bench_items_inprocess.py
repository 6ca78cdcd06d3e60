"""In-process cost of the items path on the GeoPackage store: `store.geojson_page` and the whole ASGI route.

Runs against whichever tree PYTHONPATH points at, so a before/after pair is two runs of this script:

    PYTHONPATH=/path/to/tree python scripts/bench_items_inprocess.py [--gpkg city-store.gpkg] [--n 200]

The store is a copy of a compound-gis GeoPackage that already holds the peers' city (scripts/bench_compare.sh
caches one in /tmp/peerbench/cmp/cache/); without one, `geo-service demo --scale 30` builds a stand-in.
For each of fire_hydrants and compounds it takes 200 random ~1 km² bboxes inside the layer's extent (fixed
seed) and prints median/p99 wall ms of `store.geojson_page` (limit 10, the OGC default; limit 1; a warm byte
cache, as a server has after the first pass) and CPU ms per request through the ASGI app (time.process_time).
Keep it brief: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LAYERS = ("fire_hydrants", "compounds")
KM_LAT = 1 / 110.574
KM_LON = 1 / 96.0  # ~1 km at 30° N


def _source_gpkg(given: str | None) -> Path:
    if given:
        return Path(given)
    cached = sorted(glob.glob("/tmp/peerbench/cmp/cache/*.gpkg"), key=os.path.getmtime)
    if cached:
        return Path(cached[-1])
    out = Path(tempfile.gettempdir()) / "bench_items_demo30.gpkg"
    if not out.exists():
        env = {**os.environ, "GEO_SERVICE_GPKG": str(out)}
        subprocess.run([sys.executable, "-m", "geo_service.cli", "demo", "--scale", "30"], check=True, env=env)
    return out


def _bboxes(extent, n: int, rng: np.random.Generator) -> list[tuple[float, float, float, float]]:
    minx, miny, maxx, maxy = extent
    xs = rng.uniform(minx, max(minx, maxx - KM_LON), n)
    ys = rng.uniform(miny, max(miny, maxy - KM_LAT), n)
    return [(float(x), float(y), float(x + KM_LON), float(y + KM_LAT)) for x, y in zip(xs, ys, strict=True)]


def _stats(ms: list[float]) -> str:
    a = np.asarray(ms)
    return f"median {np.median(a):6.3f} ms  p99 {np.percentile(a, 99):6.3f} ms"


def _time_pages(store, query_cls, layer: str, boxes, limit: int) -> tuple[list[float], int]:
    ms, returned = [], 0
    for b in boxes:
        t0 = time.perf_counter()
        page = store.geojson_page(layer, query_cls(bbox=b, limit=limit))
        ms.append((time.perf_counter() - t0) * 1000)
        returned += page.number_returned
    return ms, returned


async def asgi_get(app, path: str) -> list[dict]:
    """GET `path` straight through ASGI (no sockets); the messages the app sent. Asserts a 200."""
    raw_path, _, qs = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": raw_path, "raw_path": raw_path.encode(), "query_string": qs.encode(),
             "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1), "server": ("bench", 80),
             "root_path": ""}
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)

    messages: list[dict] = []

    async def send(msg):
        messages.append(msg)

    await app(scope, receive, send)
    assert messages[0]["status"] == 200, (path, messages[0]["status"])
    return messages


async def _asgi_cpu(app, paths: list[str]) -> float:
    """CPU ms per request of the whole route."""
    for p in paths[:20]:  # warm-up
        await asgi_get(app, p)
    c0 = time.process_time()
    for p in paths:
        await asgi_get(app, p)
    return (time.process_time() - c0) * 1000 / len(paths)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpkg", help="a compound-gis GeoPackage holding the city (copied, never changed)")
    ap.add_argument("--n", type=int, default=200, help="bboxes per layer")
    args = ap.parse_args()

    src = _source_gpkg(args.gpkg)
    tmp = Path(tempfile.mkdtemp(prefix="bench_items_"))
    db = tmp / "store.gpkg"
    shutil.copy(src, db)
    os.environ["GEO_SERVICE_GPKG"] = str(db)

    import geo_service
    from geo_service.api.app import create_app
    from geo_service.settings import Settings
    from geo_service.store import Query, open_store

    print(f"tree: {Path(geo_service.__file__).parent.parent}  store: {src}")
    settings = Settings()
    t0 = time.perf_counter()
    store = open_store(settings)
    print(f"open: {time.perf_counter() - t0:.2f} s")
    app = create_app(settings, store)
    rng = np.random.default_rng(12)
    try:
        for layer in LAYERS:
            boxes = _bboxes(store.extent(layer), args.n, rng)
            _time_pages(store, Query, layer, boxes, 10)  # fills the byte cache, as the first requests would
            ms10, n10 = _time_pages(store, Query, layer, boxes, 10)
            ms1, _ = _time_pages(store, Query, layer, boxes, 1)
            print(f"{layer:14s} geojson_page limit=10: {_stats(ms10)}  ({n10 / len(boxes):.1f} features/page)")
            print(f"{layer:14s} geojson_page limit=1:  {_stats(ms1)}")
            paths = [f"/collections/{layer}/items?bbox={b[0]:.6f},{b[1]:.6f},{b[2]:.6f},{b[3]:.6f}" for b in boxes]
            cpu = asyncio.run(_asgi_cpu(app, paths))
            print(f"{layer:14s} ASGI items route: {cpu:.3f} ms CPU per request")
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
