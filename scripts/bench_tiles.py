"""In-process cost of vector tiles on the GeoPackage store, through the whole ASGI route: each tile cut for the
first time (what a map client meets after every edit, and what the peers' tile probe measures) and again from
the tile cache.

Runs against whichever tree PYTHONPATH points at, so a before/after pair is two runs of this script:

    PYTHONPATH=/path/to/tree python scripts/bench_tiles.py [--gpkg city-store.gpkg] [--rounds 3]

The store is a copy of a compound-gis GeoPackage holding the peers' city (as bench_items_inprocess.py finds
one). Tiles: the peers' 200 z14 tiles (../shared/peers/load/tiles_z14.txt) and, for more first cuts, their
800 z15 children. Each round opens a new app on a new copy of the store, prepares each layer with one tile,
then asks every z14 tile once (first cut) and once more (cached), and every z15 tile once. It prints median
and p90 wall ms and CPU ms per request for fire_hydrants (points) and compounds (polygons). Keep it brief:
the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_items_inprocess import _source_gpkg, asgi_get

LAYERS = ("fire_hydrants", "compounds")
TILE_FILE = Path(__file__).resolve().parent.parent.parent / "shared" / "peers" / "load" / "tiles_z14.txt"


def _tiles(path: Path) -> tuple[list[str], list[str]]:
    z14 = [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    z15 = []
    for t in z14:
        _, x, y = map(int, t.split("/"))
        z15 += [f"15/{2 * x + dx}/{2 * y + dy}" for dy in (0, 1) for dx in (0, 1)]
    return z14, z15


async def _pass(app, urls: list[str]) -> tuple[list[float], float]:
    """Wall ms of each request and CPU ms per request."""
    wall = []
    c0 = time.process_time()
    for url in urls:
        t0 = time.perf_counter()
        await asgi_get(app, url)
        wall.append((time.perf_counter() - t0) * 1000)
    return wall, (time.process_time() - c0) * 1000 / len(urls)


def _line(label: str, wall: list[float], cpu: float) -> str:
    a = np.asarray(wall)
    return f"{label:28s} median {np.median(a):6.3f} ms  p90 {np.percentile(a, 90):6.3f} ms  CPU {cpu:6.3f} ms/request"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpkg", help="a compound-gis GeoPackage holding the city (copied, never changed)")
    ap.add_argument("--tiles", type=Path, default=TILE_FILE, help="z/x/y tiles, one per line (default: the peers')")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    src = _source_gpkg(args.gpkg)
    z14, z15 = _tiles(args.tiles)

    import geo_service
    from geo_service.api.app import create_app
    from geo_service.settings import Settings

    print(f"tree: {Path(geo_service.__file__).parent.parent}  store: {src}  tiles: {len(z14)} z14, {len(z15)} z15")
    for r in range(1, args.rounds + 1):
        tmp = Path(tempfile.mkdtemp(prefix="bench_tiles_"))
        db = tmp / "store.gpkg"
        shutil.copy(src, db)
        os.environ["GEO_SERVICE_GPKG"] = str(db)
        app = create_app(Settings())
        try:
            for layer in LAYERS:
                base = f"/collections/{layer}/tiles/WebMercatorQuad/"
                asyncio.run(asgi_get(app, base + "10/857/418"))  # the layer, prepared for tiles once per version
                urls = [base + t for t in z14]
                first, first_cpu = asyncio.run(_pass(app, urls))
                again, again_cpu = asyncio.run(_pass(app, urls))
                print(_line(f"round {r} {layer} z14 first cut", first, first_cpu))
                print(_line(f"round {r} {layer} z14 cached", again, again_cpu))
                # (800 z15 tiles: more than a tile cache holds, so only their first cut is measured)
                first, first_cpu = asyncio.run(_pass(app, [base + t for t in z15]))
                print(_line(f"round {r} {layer} z15 first cut", first, first_cpu))
        finally:
            app.state.store.close()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
