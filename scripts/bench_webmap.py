#!/usr/bin/env python3
"""Benchmark the web map on the whole synthetic city: page size, first render, what panning fetches.

Builds ``geo_service.demo`` at ``--scale`` (30: ~11,000 compounds, ~217,000 hydrants, ~55,000
parking facilities) into a GeoPackage once (kept under benchmarks/out/, rebuilt with --rebuild),
starts the service on it, and drives headless Chromium (Playwright, /usr/bin/chromium) with
every off-machine request blocked, as on an offline intranet. It prints:

- the size of /map (must stay under 1 MB: the page holds no features);
- the first render: navigation until every visible layer's view is loaded and drawn, on a
  cold server (indexes built on first use) and again warm (must be under 3 s);
- each pan at street zoom: the /map/data requests made, the bytes and features they brought,
  and the requested area against the visible area (what is fetched is what is visible);
- server latency of /map/data views at city, district and street zooms;
- the median latency of z14 Mapbox Vector Tiles (OGC API - Tiles), against tipg's ~6 ms.

Exit status 1 when a budget is missed. Usage:
  python scripts/bench_webmap.py [--scale 30] [--gpkg FILE] [--rebuild] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
PAGE_BUDGET = 1_000_000
RENDER_BUDGET_S = 3.0
TIPG_MS = 6.0  # tipg's median z14 tile latency (peers/RESULTS.md)
VIEWPORT = {"width": 1280, "height": 800}

# Per-request resource timings of /map/data, collected in the page.
DATA_ENTRIES = """() => performance.getEntriesByType('resource')
    .filter(e => e.name.includes('/map/data/'))
    .map(e => ({url: e.name, bytes: e.encodedBodySize, size: e.decodedBodySize, ms: e.duration}))"""


def build_city(path: Path, scale: float, rebuild: bool) -> dict[str, int]:
    from geo_service.catalog import load_catalog
    from geo_service.demo import write_demo
    from geo_service.settings import default_layers_dir
    from geo_service.store.geopackage import GeoPackageStore

    stamp = path.with_suffix(".scale")
    if rebuild or not path.exists() or not stamp.exists() or stamp.read_text() != str(scale):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        t = time.perf_counter()
        with GeoPackageStore(path, load_catalog(default_layers_dir())) as store:
            write_demo(store, scale=scale)
        stamp.write_text(str(scale))
        print(f"built the scale-{scale:g} city into {path} in {time.perf_counter() - t:.0f} s")
    with GeoPackageStore(path, load_catalog(default_layers_dir())) as store:
        return {spec.id: store.count(spec.id) for spec in store.catalog}


def server_env(gpkg: Path, folder: Path) -> dict[str, str]:
    """Settings for the server."""
    return {"GEO_SERVICE_GPKG": str(gpkg), "NO_PROXY": "127.0.0.1,localhost"}


def new_page(browser):
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("http://127.0.0.1", "data:"))
               else r.abort())
    return context, page


def first_render(browser, url: str) -> tuple[float, float, list[dict]]:
    """Seconds from navigation start until every visible layer's first view is loaded and drawn (as the
    page measures it, and as seen from here, Playwright's round trips included), and the data requests."""
    context, page = new_page(browser)
    t = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function("window.compoundMap !== undefined && window.compoundMap.firstRenderMs !== undefined",
                           polling=20)
    outside = time.perf_counter() - t
    inside = page.evaluate("window.compoundMap.firstRenderMs") / 1000
    entries = page.evaluate(DATA_ENTRIES)
    context.close()
    return inside, outside, entries


def pans(browser, url: str, center: tuple[float, float], zoom: int, totals: dict[str, int]) -> list[dict]:
    """Pan around at street zoom; per pan: requests, bytes, features/clusters received, area asked/seen."""
    context, page = new_page(browser)
    page.goto(url)
    page.wait_for_function("window.compoundMap !== undefined")
    page.evaluate("window.compoundMap.idle()")
    page.evaluate(f"void window.compoundMap.map.setView([{center[1]}, {center[0]}], {zoom}, {{animate: false}})")
    page.wait_for_timeout(300)
    page.evaluate("window.compoundMap.idle()")
    # small moves stay inside the tiles already asked for (no request); half-screen pans ask the new view
    moves = [(0, 20), (15, 0), (600, 0), (0, 400), (-600, 0), (-600, 0), (0, -400), (0, -400), (600, 0)]
    out = []
    for dx, dy in moves:
        page.evaluate("performance.clearResourceTimings()")
        page.evaluate(f"void window.compoundMap.map.panBy([{dx}, {dy}], {{animate: false}})")
        page.wait_for_timeout(250)
        page.evaluate("window.compoundMap.idle()")
        entries = page.evaluate(DATA_ENTRIES)
        view = page.evaluate("(() => { const b = window.compoundMap.map.getBounds(); "
                             "return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; })()")
        asked = [_bbox_of(e["url"]) for e in entries]
        received = page.evaluate("""(() => { const a = window.compoundMap, out = {};
            Object.keys(a.layers).forEach(k => { const d = a.layers[k].data; if (!d) return;
              out[k] = d.mode === 'clusters' ? {clusters: d.clusters.length, singles: d.singles.length,
                       inView: d.numberMatched} : {features: d.features.length, inView: d.numberMatched}; });
            return out; })()""")
        out.append({"pan_px": [dx, dy], "requests": len(entries), "bytes": sum(e["bytes"] for e in entries),
                    "area_ratio": max((_area(a) / _area(view) for a in asked), default=0.0),
                    "received": received if entries else {}})
    context.close()
    return out


def _bbox_of(url: str) -> list[float]:
    from urllib.parse import parse_qs, urlparse

    return [float(v) for v in parse_qs(urlparse(url).query)["bbox"][0].split(",")]


def _area(b: list[float]) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def server_latency(base: str, extent: tuple[float, ...], center: tuple[float, float]) -> dict[str, tuple]:
    """Per layer and zoom: ms of a view's first request (computed) and median of repeats (answered from
    the view cache), bytes and mode."""
    x, y = center
    views = {"city z11": (extent, 11), "district z13": ((x - .08, y - .06, x + .08, y + .06), 13),
             "street z15": ((x - .02, y - .015, x + .02, y + .015), 15),
             "block z17": ((x - .005, y - .004, x + .005, y + .004), 17)}
    out = {}
    for layer in ("compounds", "fire_hydrants", "parking_facilities"):
        for name, (bbox, zoom) in views.items():
            url = f"{base}/map/data/{layer}?bbox={','.join(f'{v:.6f}' for v in bbox)}&zoom={zoom}"
            times = []
            for _ in range(7):
                t = time.perf_counter()
                with urllib.request.urlopen(url, timeout=60) as r:
                    body = r.read()
                times.append((time.perf_counter() - t) * 1000)
            out[f"{layer} {name}"] = (round(times[0], 1), round(statistics.median(times[1:]), 1), len(body),
                                      json.loads(body)["mode"])
    return out


def tile_latency(base: str, extent: tuple[float, ...], count: int = 60) -> dict[str, dict]:
    """Median and 90th-percentile ms of z14 Mapbox Vector Tiles, each tile asked once (so encoded, not
    cached), over random tiles of the city; the first tile of a layer (it prepares the layer) not counted."""
    import math
    import random

    rng = random.Random(14)
    out = {}
    for layer in ("compounds", "fire_hydrants", "parking_facilities"):
        seen, times, sizes = set(), [], []
        while len(times) < count + 1:
            lon, lat = rng.uniform(extent[0], extent[2]), rng.uniform(extent[1], extent[3])
            n, r = 2**14, math.radians(lat)
            x, y = int((lon + 180) / 360 * n), int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
            if (x, y) in seen:
                continue
            seen.add((x, y))
            t = time.perf_counter()
            with urllib.request.urlopen(f"{base}/collections/{layer}/tiles/WebMercatorQuad/14/{x}/{y}") as resp:
                body = resp.read()
            times.append((time.perf_counter() - t) * 1000)
            sizes.append(len(body))
        times, sizes = times[1:], sizes[1:]
        out[layer] = {"median_ms": round(statistics.median(times), 2),
                      "p90_ms": round(statistics.quantiles(times, n=10)[-1], 2),
                      "median_bytes": int(statistics.median(sizes))}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=30.0)
    parser.add_argument("--gpkg", type=Path, default=ROOT / "benchmarks" / "out" / "webmap-city.gpkg")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the city even if the file exists")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from geo_service.web import assets
    from tests.servers import running_server

    assets.check()
    totals = build_city(args.gpkg, args.scale, args.rebuild)
    print("layers:", ", ".join(f"{k} {v:,d}" for k, v in totals.items()))
    env = server_env(args.gpkg, args.gpkg.parent)
    figures: dict = {"scale": args.scale, "layers": totals}
    failures = []
    with running_server(env, timeout=180) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        with urllib.request.urlopen(base + "/map", timeout=60) as r:
            page_bytes = len(r.read())
        figures["map_html_bytes"] = page_bytes
        print(f"\n/map HTML: {page_bytes:,d} bytes (budget {PAGE_BUDGET:,d})")
        if page_bytes >= PAGE_BUDGET:
            failures.append("page size")

        for label in ("cold", "warm", "warm", "warm"):
            inside, outside, entries = first_render(browser, base + "/map")
            figures.setdefault("first_render_s", {}).setdefault(label, []).append(round(inside, 2))
            print(f"first render ({label} server): {inside:.2f} s in the page ({outside:.2f} s seen by the driver), "
                  f"{len(entries)} data requests, {sum(e['bytes'] for e in entries):,d} bytes, "
                  f"slowest {max(e['ms'] for e in entries):.0f} ms")
        cold, warm = figures["first_render_s"]["cold"][0], statistics.median(figures["first_render_s"]["warm"])
        print(f"first render: cold {cold:.2f} s, warm median {warm:.2f} s (budget {RENDER_BUDGET_S:.0f} s)")
        if warm >= RENDER_BUDGET_S or cold >= RENDER_BUDGET_S:
            failures.append("first render")

        with urllib.request.urlopen(base + "/collections/compounds", timeout=60) as r:
            extent = tuple(json.loads(r.read())["extent"]["spatial"]["bbox"][0])
        center = ((extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2)
        moves = pans(browser, base + "/map", center, 15, totals)
        figures["pans_z15"] = moves
        print("\npanning at zoom 15 (1280x800 view):")
        print(f"{'pan px':>12s} {'requests':>8s} {'bytes':>9s} {'asked/seen':>10s}  received (per layer)")
        for mv in moves:
            got = "; ".join(f"{k} " + (f"{v['features']} feat" if "features" in v else
                                        f"{v['clusters']} clusters+{v['singles']} single") + f" of {v['inView']}"
                            for k, v in mv["received"].items())
            print(f"{str(mv['pan_px']):>12s} {mv['requests']:8d} {mv['bytes']:9,d} {mv['area_ratio']:10.2f}  {got}")
        fetched = max(sum(v.get("features", 0) + v.get("clusters", 0) + v.get("singles", 0)
                          for v in mv["received"].values()) for mv in moves)
        print(f"most features+clusters held after a pan: {fetched:,d} of {sum(totals.values()):,d} in the city")
        if any(mv["area_ratio"] > 4.0 for mv in moves) or fetched > 20_000:
            failures.append("panning fetched more than the view")

        lat = server_latency(base, extent, center)
        figures["server_ms"] = {k: {"first": v[0], "repeat": v[1]} for k, v in lat.items()}
        print("\n/map/data server latency (HTTP round trip; first request, then median of 6 repeats):")
        for k, (first, repeat, size, mode) in lat.items():
            print(f"  {k:36s} {first:7.1f} ms {repeat:6.1f} ms {size:9,d} bytes  {mode}")
        mvt = tile_latency(base, extent)
        figures["mvt_z14"] = mvt
        print(f"\nMapbox Vector Tiles, z14, each tile encoded on request (HTTP round trip; tipg ~{TIPG_MS:g} ms):")
        for layer, v in mvt.items():
            print(f"  {layer:22s} median {v['median_ms']:5.2f} ms  p90 {v['p90_ms']:5.2f} ms  "
                  f"median {v['median_bytes']:,d} bytes")
        if max(v["median_ms"] for v in mvt.values()) > TIPG_MS:
            failures.append("z14 tile latency")
        browser.close()

    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    print("\n" + ("FAILED: " + ", ".join(failures) if failures else "all web map budgets met"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
