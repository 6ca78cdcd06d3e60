#!/usr/bin/env python3
"""Benchmark the map reports: one compound page, and the atlas of the biggest street.

Writes the demo district (``--scale``, default 1: four streets of ~80-100 compounds) into a temporary
GeoPackage, warms the process up (imports, the CJK font, one small page), then times:

* one compound page, cold: its street's analyses not cached yet (budget ``--page-budget``, 3 s);
* one compound page, warm: another compound of the same street (analyses reused);
* the atlas of the street with the most compounds (budget ``--atlas-budget``, 60 s), PDF, drawn by
  ``--workers`` processes (default: up to two).

Prints the figures; the exit status is 1 when a budget is missed.

Usage: python scripts/bench_reports.py [--scale 1] [--workers N] [--keep DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=None, help="processes drawing the atlas")
    parser.add_argument("--page-budget", type=float, default=3.0)
    parser.add_argument("--atlas-budget", type=float, default=60.0)
    parser.add_argument("--keep", help="write the reports here instead of a temporary folder")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    from geo_service.catalog import load_catalog
    from geo_service.demo import write_demo
    from geo_service.reports.data import Scope
    from geo_service.reports.fonts import use_report_font
    from geo_service.reports.pdf import build_report, default_workers
    from geo_service.settings import Settings
    from geo_service.store.geopackage import GeoPackageStore

    tmp = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    out = Path(args.keep) if args.keep else tmp / "static_maps"  # the temporary folder goes at the end
    settings = Settings(gpkg=tmp / "demo.gpkg", static_maps_dir=out)
    workers = args.workers or default_workers()
    with GeoPackageStore(settings.gpkg, load_catalog(settings.layers)) as store:
        write_demo(store, scale=args.scale)
        compounds = store.frame("compounds")
        sizes = compounds.groupby("street").size().sort_values(ascending=False)
        street = str(sizes.index[0])
        others = compounds[compounds["street"] != street]
        members = compounds[compounds["street"] == street].index
        print(f"demo scale {args.scale:g}: {len(compounds)} compounds in {len(sizes)} streets; "
              f"biggest: {street} ({sizes.iloc[0]} compounds)")

        t = time.perf_counter()
        use_report_font()
        build_report(store, settings, Scope("compound", str(int(others.index[0]))), force=True)
        print(f"warm-up (imports, font, one page of another street): {time.perf_counter() - t:.2f} s")

        cold = build_report(store, settings, Scope("compound", str(int(members[0]))), force=True)
        warm = build_report(store, settings, Scope("compound", str(int(members[1]))), force=True)
        print(f"compound page, street analyses cold: {cold.seconds:6.2f} s  ({cold.path.name})")
        print(f"compound page, street analyses warm: {warm.seconds:6.2f} s")

        atlas = build_report(store, settings, Scope("street", street), force=True, workers=workers)
        per_page = atlas.seconds / atlas.pages
        print(f"street atlas {street}: {atlas.pages} pages in {atlas.seconds:.1f} s "
              f"({per_page:.2f} s/page, {workers} worker{'s' if workers > 1 else ''}; "
              f"{atlas.path.stat().st_size / 1e6:.1f} MB)")

    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    figures = {"scale": args.scale, "street": street, "compounds": int(sizes.iloc[0]), "workers": workers,
               "page_cold_s": round(cold.seconds, 2), "page_warm_s": round(warm.seconds, 2),
               "atlas_pages": atlas.pages, "atlas_s": round(atlas.seconds, 1)}
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    missed = []
    if cold.seconds > args.page_budget:
        missed.append(f"compound page {cold.seconds:.2f} s > {args.page_budget:g} s")
    if atlas.seconds > args.atlas_budget:
        missed.append(f"street atlas {atlas.seconds:.1f} s > {args.atlas_budget:g} s")
    if missed:
        print("over budget: " + "; ".join(missed), file=sys.stderr)
        return 1
    print(f"within budget (page {args.page_budget:g} s, atlas {args.atlas_budget:g} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
