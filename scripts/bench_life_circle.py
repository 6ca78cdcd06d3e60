#!/usr/bin/env python3
"""Benchmark the walking network and the life circle on the whole synthetic city (in memory, no store).

Builds ``geo_service.demo.build_demo(scale)`` (scale 30: ~11,000 compounds and their street network),
then measures: the graph build (noding, segmenting, CSR), ``life-circle`` for every compound and
category with a cold graph cache and again with the graph cached, one compound's 5/10/15-minute
isochrones in-process (median over ``--isochrones`` compounds; the HTTP figure is the integrator's), and
one compound's nearest facility + walking route per category with the graph and the counted facilities
prepared (as the API caches them; median over ``--routes`` compounds).
Peak RSS is the process maximum (the demo build included). Throughput is nearest-facility answers
(compounds x categories) per second, to compare with pandana's published ~127,000 queries/s on 4 cores.

Usage: python scripts/bench_life_circle.py [--scale 30] [--isochrones 20] [--routes 50] [--budget 30] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=30.0)
    parser.add_argument("--isochrones", type=int, default=20, help="compounds to time isochrones for")
    parser.add_argument("--routes", type=int, default=50, help="compounds to time nearest-facility routes for")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds allowed for life-circle")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    import numpy as np

    from geo_service.analysis import network
    from geo_service.analysis.frames import choose_crs, geometries, to_metric
    from geo_service.analysis.life_circle import isochrones, road_network
    from geo_service.analysis.registry import REGISTRY
    from geo_service.analysis.walking_routes import counted_facilities, nearest_facilities
    from geo_service.demo import build_demo

    figures: dict[str, float | int] = {}
    t = time.perf_counter()
    frames = build_demo(scale=args.scale)
    figures["demo_build_s"] = round(time.perf_counter() - t, 2)
    figures["rss_after_demo_mb"] = round(rss_mb(), 1)
    compounds, roads = frames["compounds"], frames["roads"]
    figures.update(compounds=len(compounds), roads=len(roads), facilities=len(frames["service_facilities"]))

    crs = choose_crs([compounds])
    t = time.perf_counter()
    lines = geometries(to_metric(roads, crs))
    figures["roads_to_metric_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    graph = network.RoadNetwork(lines)
    figures["graph_build_s"] = round(time.perf_counter() - t, 2)
    figures.update(graph_nodes=len(graph), graph_edges=len(graph.edge_a))
    del graph

    analysis = REGISTRY["life-circle"]
    network._GRAPHS.clear()  # cold: the run builds its graph
    t = time.perf_counter()
    result = analysis.run(frames)
    figures["life_circle_cold_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    result = analysis.run(frames)
    warm = time.perf_counter() - t
    figures["life_circle_warm_s"] = round(warm, 2)
    categories = len(result["gaps"])
    figures["categories"] = categories
    figures["nearest_queries_per_s_warm"] = round(len(compounds) * categories / warm)
    figures["peak_rss_mb"] = round(rss_mb(), 1)
    figures.update({k: v for k, v in result.summary.items() if k.startswith(("compounds_complete", "estimated"))})

    net = road_network(roads, crs)  # cached by content: the graph the analysis built
    rng = np.random.default_rng(1)
    times = []
    for pos in rng.choice(len(compounds), size=min(args.isochrones, len(compounds)), replace=False):
        one = compounds.iloc[[pos]]
        t = time.perf_counter()
        isochrones(one, net, crs, [5, 10, 15], **analysis.resolve())
        times.append(time.perf_counter() - t)
    figures["isochrones_median_ms"] = round(statistics.median(times) * 1000, 1)
    figures["isochrones_max_ms"] = round(max(times) * 1000, 1)

    params = analysis.resolve()
    t = time.perf_counter()
    facilities = counted_facilities(frames["service_facilities"], crs, **params)
    figures["routes_prepare_facilities_ms"] = round((time.perf_counter() - t) * 1000, 1)
    times, routed = [], 0
    for pos in rng.choice(len(compounds), size=min(args.routes, len(compounds)), replace=False):
        one = compounds.iloc[[pos]]
        t = time.perf_counter()
        got = nearest_facilities(one, facilities, net, crs, **params)
        times.append(time.perf_counter() - t)
        routed += int((~got.geometry.isna() & ~got["estimated"]).sum())
    figures["nearest_facilities_median_ms"] = round(statistics.median(times) * 1000, 1)
    figures["nearest_facilities_max_ms"] = round(max(times) * 1000, 1)
    figures["nearest_facilities_routed_share"] = round(routed / (len(times) * categories), 3)

    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value:,}" if isinstance(value, int) else f"{key:<{width}}  {value}")
    print(f"pandana (published): ~127,000 queries/s on 4 cores; here {figures['nearest_queries_per_s_warm']:,}/s "
          "on one core (one bounded multi-source Dijkstra per category)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
    return 0 if figures["life_circle_cold_s"] <= args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
