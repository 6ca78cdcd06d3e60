"""Nearest facilities and the walking routes to them, on hand-built networks worked out here and against networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely

from geo_service.analysis.life_circle import road_network
from geo_service.analysis.walking_routes import counted_facilities, nearest_facilities

from .test_life_circle import MARKET, RIVER_COMPOUND, RIVER_ROADS, UTM, _grid_streets, box, frame, line, pt


def routes(compound, facilities, roads, categories=None, **params):
    net = road_network(roads, UTM) if roads is not None else None
    got = nearest_facilities(compound, counted_facilities(facilities, UTM, **params), net, UTM, categories, **params)
    return got.to_crs(UTM).set_index("category")


def test_route_crosses_the_one_bridge_and_its_length_is_the_distance():
    facilities = frame([MARKET], category=["market"], status=["working"], name=["北岸菜场"])
    row = routes(frame([RIVER_COMPOUND]), facilities, frame(RIVER_ROADS)).loc["market"]
    route = row.geometry
    assert row.distance_m == pytest.approx(1100, abs=0.05) and route.length == pytest.approx(1100, abs=0.05)
    assert row.minutes == pytest.approx(1100 / 60, abs=0.05) and row.circle == 10
    assert not row.within_circle and not row.estimated
    assert row.facility_id == 1 and row.facility_name == "北岸菜场"
    bridge = line((350, 0), (350, 400))
    assert shapely.intersection(route, shapely.buffer(bridge, 0.01)).length == pytest.approx(400, abs=0.05)
    start, end = shapely.get_point(route, 0), shapely.get_point(route, -1)
    assert shapely.distance(start, RIVER_COMPOUND.boundary) < 1e-6
    assert shapely.distance(end, MARKET) < 1e-6
    assert shapely.distance(MARKET, RIVER_COMPOUND) == pytest.approx(400)  # the straight line would be 400 m


def test_closed_facility_is_never_chosen():
    facilities = frame([pt(100, 0), pt(300, 0)], category=["kindergarten"] * 2, status=["closed", "working"])
    row = routes(frame([RIVER_COMPOUND]), facilities, frame(RIVER_ROADS)).loc["kindergarten"]
    assert row.facility_id == 2 and row.distance_m == pytest.approx(300, abs=0.05) and row.within_circle
    only_closed = frame([pt(100, 0)], category=["kindergarten"], status=["closed"])
    row = routes(frame([RIVER_COMPOUND]), only_closed, frame(RIVER_ROADS)).loc["kindergarten"]
    assert row.geometry is None and np.isnan(row.distance_m) and not row.within_circle


def test_route_from_an_entrance_with_a_leg_and_to_a_facility_off_the_road():
    # the compound stands 20 m south of the street; the clinic 15 m north of it at x=500
    compound = box(0, -120, 100, -20)
    clinic = pt(500, 15)
    facilities = frame([clinic], category=["health_station"], status=["working"])
    row = routes(frame([compound]), facilities, frame([line((-100, 0), (1200, 0))])).loc["health_station"]
    # the nearest entrance is the node at x=100 (20 m leg from the corner), then 400 m east, then 15 m north
    assert row.distance_m == pytest.approx(20 + 400 + 15, abs=0.05)
    assert row.geometry.length == pytest.approx(row.distance_m, abs=0.05)
    assert shapely.distance(shapely.get_point(row.geometry, 0), compound.boundary) < 1e-6
    assert shapely.distance(shapely.get_point(row.geometry, -1), clinic) < 1e-6
    assert row.circle == 5 and not row.within_circle  # 435 m > 300 m


def test_without_network_the_route_is_the_straight_segment_flagged():
    facilities = frame([MARKET], category=["market"], status=["working"])
    row = routes(frame([RIVER_COMPOUND]), facilities, None, detour_factor=1.3).loc["market"]
    assert row.estimated and row.distance_m == pytest.approx(400 * 1.3, abs=0.05)
    assert row.geometry.length == pytest.approx(400, abs=0.01)
    assert shapely.distance(shapely.get_point(row.geometry, -1), MARKET) < 1e-6


def test_categories_restrict_and_keep_the_standards_order():
    facilities = frame([MARKET, pt(50, 0)], category=["market", "park"], status=["working"] * 2)
    got = routes(frame([RIVER_COMPOUND]), facilities, frame(RIVER_ROADS), ["park", "market"])
    assert got.index.tolist() == ["market", "park"] and got.circle.tolist() == [10, 15]
    assert got.loc["park"].within_circle and got.loc["park"].distance_m == pytest.approx(50, abs=0.05)


def test_routes_equal_networkx_shortest_paths():
    rng = np.random.default_rng(29)
    xy, graph, roads = _grid_streets(rng)
    nodes = sorted(graph.nodes)
    picks = rng.choice(len(nodes), size=16, replace=False)
    cats = ["kindergarten", "market", "park"]
    shops = [(nodes[k], cats[i % 3]) for i, k in enumerate(picks[4:])]
    facilities = frame([pt(*xy[s]) for s, _ in shops], category=[c for _, c in shops], status=["working"] * 12)
    net = road_network(roads, UTM)
    fac = counted_facilities(facilities, UTM)
    checked = 0
    for k in picks[:4]:
        home = nodes[k]
        compound = frame([box(xy[home][0] - 1, xy[home][1] - 1, xy[home][0] + 1, xy[home][1] + 1)])
        got = nearest_facilities(compound, fac, net, UTM, cats, entry_reach_m=5, max_walk_m=20000)
        got = got.to_crs(UTM).set_index("category")
        for cat in cats:
            sources = {s for s, c in shops if c == cat}
            dist = nx.multi_source_dijkstra_path_length(graph, sources, weight="weight")
            row = got.loc[cat]
            if home not in dist:
                assert row.geometry is None, (home, cat)
                continue
            # the home node lies inside the 2 m compound: an entrance with no leg, where the route starts
            assert row.distance_m == pytest.approx(dist[home], abs=0.1), (home, cat)
            assert shapely.distance(shapely.get_point(row.geometry, 0), compound.geometry[0]) < 1e-6
            assert row.geometry.length == pytest.approx(row.distance_m, abs=0.1), (home, cat)
            shop = facilities.geometry[row.facility_id - 1]
            assert shapely.distance(shapely.get_point(row.geometry, -1), shop) < 1e-6
            checked += 1
    assert checked >= 8
