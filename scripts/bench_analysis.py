#!/usr/bin/env python3
"""Benchmark every analysis on the whole synthetic city (in memory, no store).

Builds ``geo_service.demo.build_demo(scale)`` once (scale 30: ~11,000 compounds, ~217,000 hydrants,
~55,000 parking facilities), then runs each analysis of the registry with its default parameters
and prints a table of wall times, result sizes and headline figures. Each analysis must finish in
``--budget`` seconds (default 30); the exit status is 1 when one does not.

Usage: python scripts/bench_analysis.py [--scale 30] [--only NAME ...] [--budget 30] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

HEADLINE = {
    "parking-gaps": ("compounds_with_gap", "total_gap_spaces"),
    "shared-parking": ("served", "unserved", "arrangements", "largest_component"),
    "hydrant-coverage": ("fully_covered", "covered_share", "broken_hydrants"),
    "charging-coverage": ("compounds_without_charging", "sites_without_sprinkler", "port_shortfall"),
    "waterlogging": ("points", "waterlogged_points", "hotspots"),
    "renovation-priorities": ("eligible", "demonstration", "upgrade", "basic", "streets_missing_quota"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=30.0)
    parser.add_argument("--only", nargs="*", help="analyses to run (default: all)")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds allowed per analysis")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    from geo_service.analysis.registry import REGISTRY
    from geo_service.demo import build_demo

    t = time.perf_counter()
    frames = build_demo(scale=args.scale)
    build_s = time.perf_counter() - t
    sizes = {layer: len(frame) for layer, frame in frames.items()}
    print(f"demo city, scale {args.scale:g}: built in {build_s:.1f} s")
    for layer, n in sizes.items():
        print(f"  {layer:24s} {n:>9,d}")
    print()
    print(f"{'analysis':24s} {'seconds':>8s} {'rows':>8s}  headline")
    rows, slow = [], []
    for name, analysis in REGISTRY.items():
        if args.only and name not in args.only:
            continue
        t = time.perf_counter()
        result = analysis.run(frames)
        seconds = time.perf_counter() - t
        headline = {k: result.summary.get(k) for k in HEADLINE.get(name, ())}
        print(f"{name:24s} {seconds:8.2f} {len(result.main):8,d}  "
              + ", ".join(f"{k}={v}" for k, v in headline.items()), flush=True)
        rows.append({"analysis": name, "seconds": round(seconds, 2), "rows": len(result.main), **headline})
        if seconds > args.budget:
            slow.append(name)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"scale": args.scale, "layers": sizes, "build_seconds": round(build_s, 2), "analyses": rows},
                      fh, ensure_ascii=False, indent=2)
    if slow:
        print(f"\nover the {args.budget:g} s budget: {', '.join(slow)}", file=sys.stderr)
        return 1
    print(f"\nevery analysis within {args.budget:g} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
