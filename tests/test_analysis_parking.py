"""Parking gaps and shared off-peak parking, on hand-built scenes whose answers are worked out here."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_service.analysis.allocation import allocate, max_flow_value
from geo_service.analysis.parking_gaps import parking_gaps
from geo_service.analysis.shared_parking import shared_parking

from .test_analysis_support import around, layer, pt

# ----------------------------------------------------------------------------------- parking gaps


def test_demand_by_era_flat_size_and_registered_vehicles():
    compounds = layer([
        {"name": "old", "build_year": 1990, "households": 1000, "avg_flat_m2": 55},
        {"name": "small", "build_year": 2005, "households": 500, "avg_flat_m2": 80},
        {"name": "medium", "build_year": 2005, "households": 100, "avg_flat_m2": 120},
        {"name": "large", "build_year": 2012, "households": 100, "avg_flat_m2": 160},
        {"name": "edge", "build_year": 2000, "households": 100, "avg_flat_m2": 100},  # 2000 is not 'before 2000'
        {"name": "unknown", "households": 100},
        {"name": "counted", "build_year": 1985, "households": 400, "registered_vehicles": 321},
    ], [around(i * 500, 0, 100) for i in range(7)])
    table = parking_gaps(compounds).main.sort_index()
    assert table["demand"].tolist() == [500.0, 200.0, 60.0, 95.0, 60.0, 50.0, 321.0]
    assert table["ratio"].tolist() == [0.5, 0.4, 0.6, 0.95, 0.6, 0.5, 0.5]
    assert table["demand_source"].tolist()[-1] == "registered_vehicles"
    without_vehicles = parking_gaps(compounds, use_registered_vehicles=False).main.sort_index()
    assert without_vehicles["demand"].iloc[-1] == 200.0
    custom = parking_gaps(compounds, ratio_pre2000=0.3, ratio_large_flat=1.1).main.sort_index()
    assert custom["demand"].iloc[0] == 300.0 and custom["demand"].iloc[3] == 110.0


def test_supply_takes_the_larger_record_and_only_own_car_parks_inside():
    compounds = layer([
        {"name": "A", "build_year": 1990, "households": 1000, "parking_spaces": 200},
        {"name": "B", "build_year": 1990, "households": 400, "parking_spaces": 100},
        {"name": "C", "build_year": 1990, "households": 400},
    ], [around(0, 0, 200), around(1000, 0, 200), around(2000, 0, 200)])
    facilities = layer([
        {"kind": "compound", "capacity": 150},  # inside A, smaller than its attribute: attribute wins
        {"kind": "compound", "capacity": 150},  # inside B: 100 + 150 would double count
        {"kind": "compound", "capacity": 100},  # inside B too: 250 > 100
        {"kind": "public", "capacity": 500},  # inside C but not C's own
        {"kind": "compound", "capacity": 900},  # 300 m from C: outside
    ], [pt(0, 0), pt(1000, 10), pt(1000, -10), pt(2000, 0), pt(2300, 0)])
    table = parking_gaps(compounds, facilities).main.sort_index()
    assert table["spaces_facilities"].tolist() == [150, 250, 0]
    assert table["supply"].tolist() == [200, 250, 0]
    assert table["gap"].tolist() == [300.0, -50.0, 200.0]
    assert table["gap_spaces"].tolist() == [300, 0, 200]
    assert table["gap_per_100_households"].tolist() == [30.0, -12.5, 50.0]
    assert table["rank"].tolist() == [1, 3, 2]
    per_household = parking_gaps(compounds, facilities, rank_by="gap_per_100_households").main.sort_index()
    assert per_household["rank"].tolist() == [2, 3, 1]


def test_fractional_demand_rounds_the_gap_up_to_whole_spaces():
    compounds = layer([{"name": "x", "build_year": 2010, "households": 101, "avg_flat_m2": 90,
                        "parking_spaces": 40}], [around(0, 0, 100)])
    row = parking_gaps(compounds).main.iloc[0]
    assert row["demand"] == 40.4 and row["gap"] == 0.4 and row["gap_spaces"] == 1


# ----------------------------------------------------------------------------------- shared parking

def _three_compounds_two_lots(crs: str = "EPSG:4326"):
    """A(0,0) B(350,0) C(800,0), each 8 cars short; office L1 at (200,0) with 10 free, public L2 at (600,0) with 12.

    Reach (500 m): A-L1 200, B-L1 150, B-L2 250, C-L2 200. Every plan saturating both lots serves
    22 = the maximum; its walk is 4400 - 50·B1 + 50·B2 with B1 in [2, 4], B2 >= 4, B1 + B2 <= 8,
    so the optimum is unique: A 6 from L1, B 4 from L1 and 4 from L2, C 8 from L2; 4400 space-metres,
    A left 2 short. (Nearest-lot-first would give B all of L1 and serve only 18.)
    """
    compounds = layer([{"name": n, "street": "梅陇镇", "households": 100, "registered_vehicles": 8,
                        "parking_spaces": 0} for n in "ABC"],
                      [around(0, 0, 40), around(350, 0, 40), around(800, 0, 40)], crs)
    lots = layer([
        {"name": "L1", "kind": "office", "capacity": 40, "night_free_spaces": 10},
        {"name": "L2", "kind": "public", "capacity": 40, "night_free_spaces": 12},
        {"name": "kerb", "kind": "street", "capacity": 90, "night_free_spaces": 90},  # streets do not share
        {"name": "clinic", "kind": "hospital", "capacity": 90, "night_free_spaces": 90, "shareable": False},
        {"name": "full", "kind": "commercial", "capacity": 90, "night_free_spaces": 0},
    ], [pt(200, 0), pt(600, 0), pt(0, 30), pt(350, 30), pt(800, 30)], crs, first_id=11)
    return compounds, lots


def test_three_compounds_two_lots_known_optimum():
    compounds, lots = _three_compounds_two_lots()
    result = shared_parking(compounds, lots)
    plan = {(r.compound_name, r.lot_name): (r.spaces, r.distance_m) for r in result["arrangements"].itertuples()}
    assert plan == {("A", "L1"): (6, 200.0), ("B", "L1"): (4, 150.0), ("B", "L2"): (4, 250.0),
                    ("C", "L2"): (8, 200.0)}
    assert result.summary["served"] == 22 and result.summary["total_space_m"] == pytest.approx(4400, abs=0.5)
    unserved = result["unserved"].set_index("name")
    assert unserved.loc["A", "unserved"] == 2 and unserved.loc["B", "unserved"] == 0
    row = result["arrangements"].iloc[0]
    assert row["off_peak"] == "weekdays 17:00-08:00, weekends all day"
    assert row.geometry.geom_type == "LineString"


def test_flagged_hospital_shares_and_a_shared_lot_is_never_over_allocated():
    compounds, lots = _three_compounds_two_lots()
    lots.loc[lots["name"] == "clinic", "shareable"] = True  # 30 m from B, 90 free
    result = shared_parking(compounds, lots)
    taken = result["arrangements"].groupby("lot_name")["spaces"].sum()
    assert result.summary["served"] == 24  # every gap served now
    assert taken.get("L1", 0) <= 10 and taken.get("L2", 0) <= 12 and taken["clinic"] == 8


def test_walk_limit_and_edge_measure():
    compounds, lots = _three_compounds_two_lots()
    assert shared_parking(compounds, lots, walk_m=100).summary["served"] == 0
    # from the boundary (squares 40 m wide) every walk is 20 m shorter: B-L2 is 230 m
    edge = shared_parking(compounds, lots, measure_from="edge")["arrangements"]
    assert set(edge["distance_m"]) <= {130.0, 180.0, 230.0}


def test_distance_along_roads():
    """Lot 300 m away as the crow flies, 700 m by the only road: out of reach at 500 m, 700 m at 800 m."""
    compounds = layer([{"name": "A", "households": 100, "registered_vehicles": 5, "parking_spaces": 0}],
                      [around(0, 0, 40)])
    lots = layer([{"name": "L", "kind": "office", "night_free_spaces": 9}], [pt(300, 0)])
    roads = layer([{"name": "detour"}], [shapely.LineString([pt(0, 0), pt(0, 200), pt(300, 200), pt(300, 0)])])
    assert shared_parking(compounds, lots).summary["served"] == 5
    assert shared_parking(compounds, lots, roads).summary["served"] == 0
    far = shared_parking(compounds, lots, roads, walk_m=800)
    assert far.summary["distance"] == "roads"
    assert far["arrangements"]["distance_m"].iloc[0] == pytest.approx(700.0, abs=0.5)
    # a straight road joins the network where it crosses the detour's start: 300 m again
    both = layer([{"name": "detour"}, {"name": "direct"}],
                 [shapely.LineString([pt(0, 0), pt(0, 200), pt(300, 200), pt(300, 0)]),
                  shapely.LineString([pt(-50, 0), pt(350, 0)])])
    assert shared_parking(compounds, lots, both)["arrangements"]["distance_m"].iloc[0] == pytest.approx(300, abs=0.5)


# ----------------------------------------------------------------------------------- the solver

@st.composite
def transport_problems(draw):
    nc = draw(st.integers(1, 6))
    nl = draw(st.integers(1, 6))
    gap = np.array(draw(st.lists(st.integers(0, 12), min_size=nc, max_size=nc)))
    free = np.array(draw(st.lists(st.integers(0, 12), min_size=nl, max_size=nl)))
    pairs = draw(st.lists(st.tuples(st.integers(0, nc - 1), st.integers(0, nl - 1)), unique=True, max_size=nc * nl))
    pairs = sorted(pairs)
    cost = np.array(draw(st.lists(st.integers(1, 500), min_size=len(pairs), max_size=len(pairs))), dtype=float)
    ec = np.array([p[0] for p in pairs], dtype=np.int64)
    el = np.array([p[1] for p in pairs], dtype=np.int64)
    return gap, free, ec, el, cost


def _networkx_optimum(gap, free, ec, el, cost) -> tuple[int, float]:
    graph = nx.DiGraph()
    graph.add_node("s")
    graph.add_node("t")
    for c, g in enumerate(gap):
        graph.add_edge("s", ("c", c), capacity=int(g), weight=0)
    for lot, f in enumerate(free):
        graph.add_edge(("l", lot), "t", capacity=int(f), weight=0)
    for c, lot, d in zip(ec, el, cost, strict=True):
        graph.add_edge(("c", int(c)), ("l", int(lot)), capacity=10**6, weight=int(d))
    flow = nx.max_flow_min_cost(graph, "s", "t")
    return sum(flow["s"].values()), float(nx.cost_of_flow(graph, flow))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transport_problems())
def test_allocation_is_a_least_cost_maximum_flow(problem):
    gap, free, ec, el, cost = problem
    flow, _ = allocate(gap, free, ec, el, cost)
    assert (flow >= 0).all()
    assert (np.bincount(el, flow, len(free)) <= free).all()  # no lot over its free spaces
    assert (np.bincount(ec, flow, len(gap)) <= gap).all()  # no compound over its gap
    served, walk = _networkx_optimum(gap, free, ec, el, cost)
    assert flow.sum() == served == (max_flow_value(gap, free, ec, el) if len(ec) else 0)
    assert float((flow * cost).sum()) == pytest.approx(walk)


def test_big_star_components_are_filled_nearest_first():
    # one compound, three lots; one lot, three compounds
    flow, stats = allocate(np.array([7, 3, 3, 3]), np.array([4, 4, 4, 5]), np.array([0, 0, 0, 1, 2, 3]),
                           np.array([0, 1, 2, 3, 3, 3]), np.array([300.0, 100.0, 200.0, 50.0, 10.0, 30.0]))
    assert flow.tolist() == [0, 4, 3, 0, 3, 2]
    assert stats["greedy_components"] == 2 and stats["lp_components"] == 0


def test_gap_is_whole_spaces():
    compounds, lots = _three_compounds_two_lots()
    compounds["registered_vehicles"] = 7.5  # 7.5 cars short -> 8 spaces
    assert math.isclose(shared_parking(compounds, lots).summary["total_gap_spaces"], 24)
