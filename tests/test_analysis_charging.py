"""E-bike charging coverage: ports per 100 households against the target, sprinklers, sites serving one compound."""

from __future__ import annotations

import pytest

from geo_service.analysis.charging_coverage import charging_coverage

from .test_analysis_support import layer, pt, square


def _scene():
    compounds = layer([
        {"name": "A", "households": 100},  # 0-200 m
        {"name": "B", "households": 200},  # 1000-1200 m
        {"name": "C", "households": 50},  # 2000-2200 m
    ], [square(0, 0, 200), square(1000, 0, 200), square(2000, 0, 200)])
    sites = layer([
        {"name": "A inside", "ports": 5, "status": "working", "has_sprinkler": False},
        {"name": "A 50 m out", "ports": 3, "status": "working", "has_sprinkler": True},
        {"name": "B faulty", "ports": 30, "status": "faulty", "has_sprinkler": True},
        {"name": "B 150 m out", "ports": 30, "status": "working", "has_sprinkler": True},
        {"name": "C inside", "ports": 20, "has_sprinkler": True},  # no status: counts
        {"name": "between", "ports": 4, "status": "working"},  # 60 m from C, 740 m from B: C's; sprinkler unknown
    ], [pt(100, 100), pt(250, 100), pt(1100, 100), pt(1350, 100), pt(2100, 100), pt(1940, 100)])
    return compounds, sites


def test_ports_per_100_households_against_the_target():
    result = charging_coverage(*_scene())
    table = result.main.set_index("name")
    a, b, c = table.loc["A"], table.loc["B"], table.loc["C"]
    assert (a["sites"], a["ports"], a["ports_per_100_households"]) == (2, 8, 8.0)
    assert a["port_shortfall"] == 2 and not a["meets_target"] and a["sites_without_sprinkler"] == 1
    assert b["sites"] == 0 and b["no_charging"] and b["sites_not_counted"] == 1 and b["port_shortfall"] == 20
    assert (c["sites"], c["ports"], c["ports_per_100_households"]) == (2, 24, 48.0)
    assert c["meets_target"] and c["sites_without_sprinkler"] == 1  # unknown sprinkler counts as lacking
    assert result.main["name"].tolist()[0] == "B"  # compounds without charging first
    assert result.summary["compounds_without_charging"] == 1


def test_a_site_serves_only_its_nearest_compound():
    compounds = layer([{"name": "west", "households": 100}, {"name": "east", "households": 100}],
                      [square(0, 0, 100), square(130, 0, 100)])
    sites = layer([{"ports": 10, "status": "working"}], [pt(110, 50)])  # 10 m from west, 20 m from east
    result = charging_coverage(compounds, sites)
    assert result.main.set_index("name")["ports"].to_dict() == {"west": 10, "east": 0}
    assert result["sites"]["compound_name"].tolist() == ["west"]
    assert result["sites"]["distance_m"].tolist() == [10.0]


def test_reach_and_target_are_parameters():
    compounds, sites = _scene()
    table = charging_coverage(compounds, sites, reach_m=200, target_ports_per_100_households=5).main.set_index("name")
    assert table.loc["B", "ports"] == 30 and table.loc["B", "ports_per_100_households"] == 15.0
    assert table.loc["A", "meets_target"]  # 8 >= 5
    with_faulty = charging_coverage(compounds, sites, counted_statuses="working,faulty").main.set_index("name")
    assert with_faulty.loc["B", "ports"] == 30
    assert pytest.approx(with_faulty.loc["B", "ports_per_100_households"]) == 15.0
