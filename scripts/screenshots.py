"""Screenshots for the README from a running demo server (`bash scripts/serve_demo.sh` first).

    python scripts/screenshots.py [--base http://127.0.0.1:8000] [--out docs] [--size 1366x768]

Writes map.png (/map), landing.png (/), compound.png (/map/compounds/{id} of the first search hit)
and report_page.png (the first page of that compound's PDF, drawn with poppler's pdftoppm).
Uses Playwright with Debian's Chromium (CHROMIUM overrides the path); basemap tiles are blocked so
the pictures show the data the same way on every machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def wait_for(base: str, seconds: float = 90.0) -> None:
    """The server may still be starting (reading the demo GeoPackage)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(base + "/conformance", timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def first_compound(base: str) -> int:
    with urllib.request.urlopen(base + "/compounds/search?limit=1&q=" + urllib.parse.quote("村")) as r:
        hits = json.load(r)["results"]
    if not hits:
        with urllib.request.urlopen(base + "/collections/compounds/items?limit=1&f=json") as r:
            return int(json.load(r)["features"][0]["id"])
    return int(hits[0]["id"])


def shoot(page, url: str, out: Path, wait_map: bool) -> None:
    page.goto(url)
    if wait_map:
        page.wait_for_function("window.compoundMap !== undefined", timeout=20_000)
        page.evaluate("window.compoundMap.idle()")
        page.wait_for_timeout(400)
    page.screenshot(path=str(out))
    print("wrote", out)


def report_page(base: str, compound: int, out: Path) -> None:
    with urllib.request.urlopen(f"{base}/reports/compounds/{compound}.pdf", timeout=120) as r:
        pdf = r.read()
    if shutil.which("pdftoppm") is None:
        print("pdftoppm (Debian: poppler-utils) not found: report page skipped", file=sys.stderr)
        return
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", "-",
                    str(out.with_suffix(""))], input=pdf, check=True)
    print("wrote", out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="http://127.0.0.1:8000")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    ap.add_argument("--size", default="1366x768")
    ap.add_argument("--only", choices=["map", "landing", "compound", "report"], action="append")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    only = set(args.only or ["map", "landing", "compound", "report"])
    wait_for(args.base)
    compound = first_compound(args.base)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", bypass_csp=True)
        page = context.new_page()
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(args.base) else r.abort())
        if "map" in only:
            shoot(page, args.base + "/map", args.out / "map.png", wait_map=True)
        if "landing" in only:
            shoot(page, args.base + "/", args.out / "landing.png", wait_map=False)
        if "compound" in only:
            shoot(page, f"{args.base}/map/compounds/{compound}", args.out / "compound.png", wait_map=True)
        browser.close()
    if "report" in only:
        report_page(args.base, compound, args.out / "report_page.png")


if __name__ == "__main__":
    main()
