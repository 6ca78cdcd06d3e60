"""Renovation priorities: tier quotas per street, the score from its components, categories, eligibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo_service.analysis.renovation_priorities import renovation_priorities
from geo_service.analysis.tiers import propose_tiers, quota

from .test_analysis_support import layer, pt, square

# ----------------------------------------------------------------------------------- tiers


def test_tier_quotas_per_street_round_up():
    street = np.array(["X"] * 10 + ["Y"] * 3 + ["Z"] * 30 + ["W"], dtype=object)
    score = np.arange(len(street), dtype=float)  # later compounds score higher
    ids = np.arange(1, len(street) + 1)
    eligible = np.ones(len(street), dtype=bool)
    tier, rank, streets = propose_tiers(street, score, eligible, ids, 0.10, 0.40)
    counts = streets.set_index("street")[["demonstration", "upgrade", "basic"]].T.to_dict("list")
    assert counts == {"X": [1, 4, 5], "Y": [1, 2, 0], "Z": [3, 12, 15], "W": [1, 0, 0]}
    assert streets.set_index("street")["quotas_met"].to_dict() == {"X": True, "Y": True, "Z": True, "W": False}
    # in street X the highest score (id 10) is the demonstration compound, ids 6-9 upgrade
    assert tier[9] == "demonstration" and list(tier[5:9]) == ["upgrade"] * 4 and tier[0] == "basic"
    assert rank[9] == 1 and rank[0] == 10


def test_ineligible_compounds_get_no_tier_and_do_not_count():
    street = np.array(["X"] * 4, dtype=object)
    tier, rank, streets = propose_tiers(street, np.array([4.0, 3, 2, 1]), np.array([True, False, True, True]),
                                        np.arange(1, 5), 0.1, 0.4)
    assert list(tier) == ["demonstration", None, "upgrade", "upgrade"] and rank[1] == 0
    assert streets["eligible"].tolist() == [3]


def test_quota_is_immune_to_float_noise():
    assert quota(30, 0.1) == 3 and quota(10, 0.4) == 4 and quota(11, 0.1) == 2 and quota(0, 0.4) == 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ABC"), st.floats(0, 100), st.booleans()), min_size=1, max_size=60))
def test_quotas_always_hold_for_streets_with_two_or_more(rows):
    demo, upgrade = 0.10, 0.40
    street = np.array([r[0] for r in rows], dtype=object)
    score = np.array([r[1] for r in rows])
    eligible = np.array([r[2] for r in rows])
    tier, _, streets = propose_tiers(street, score, eligible, np.arange(len(rows)), demo, upgrade)
    for s in streets.itertuples():
        members = tier[(street == s.street) & eligible]
        n = len(members)
        assert (members == "demonstration").sum() == s.demonstration >= min(demo * n - 1e-9, n)
        if n >= 2:
            assert s.quotas_met and s.upgrade >= upgrade * n - 1e-9
        assert s.demonstration + s.upgrade + s.basic == n
    assert all(t is None for t in tier[~eligible])


# ----------------------------------------------------------------------------------- priorities

def _one_compound(**overrides):
    """1,000 households, 600 registered cars, 100 spaces, no lots, hydrants, points or charging."""
    row = {"name": "梅陇三村", "street": "梅陇镇", "district": "闵行区", "build_year": 1988, "households": 1000,
           "registered_vehicles": 600, "parking_spaces": 100, **overrides}
    compounds = layer([row], [square(0, 0, 200)])
    empty = layer([], [])
    return compounds, empty


def test_score_is_the_weighted_mean_of_its_components():
    compounds, empty = _one_compound()
    result = renovation_priorities(compounds, empty, empty, empty, empty)
    row = result.main.iloc[0]
    c_parking = 500 / 600
    assert row["c_parking"] == pytest.approx(c_parking, abs=1e-4)
    assert (row["c_drainage"], row["c_fire"], row["c_charging"]) == (0.0, 1.0, 1.0)
    assert row["score"] == pytest.approx(100 * (c_parking + 0 + 1 + 1) / 4, abs=0.01)
    assert row["categories"] == "4 停车; 11 消防; 12 电瓶车充电"
    assert row["categories_en"] == "4 parking; 11 fire facilities; 12 e-bike charging"
    assert row["eligible"] and row["tier"] == "demonstration" and row["tier_zh"] == "示范版"
    weighted = renovation_priorities(compounds, empty, empty, empty, empty, weight_fire=0, weight_parking=2)
    assert weighted.main.iloc[0]["score"] == pytest.approx(100 * (2 * c_parking + 1) / 4, abs=0.01)


def test_needs_from_the_data_and_shared_parking_reduce_the_parking_need():
    compounds, empty = _one_compound(registered_vehicles=150)  # 50 short
    lots = layer([{"kind": "office", "night_free_spaces": 40}], [pt(300, 100)])
    hydrants = layer([{"status": "working"}] * 4 + [{"status": "faulty"}],
                     [pt(50, 50), pt(150, 50), pt(50, 150), pt(150, 150), pt(100, 100)])
    sites = layer([{"ports": 100, "status": "working", "has_sprinkler": True}], [pt(100, 100)])
    points = layer([{"depth_cm": 30, "duration_min": 60, "events_per_year": 2, "cause": "internal_drainage"}],
                   [pt(20, 20)])
    row = renovation_priorities(compounds, lots, hydrants, sites, points).main.iloc[0]
    assert row["parking_gap_spaces"] == 50 and row["shared_spaces"] == 40
    assert row["c_parking"] == pytest.approx(10 / 150, abs=1e-4)
    assert row["c_fire"] == 0.0 and row["broken_inside"] == 1 and row["c_charging"] == 0.0
    assert row["c_drainage"] == 1.0 and row["waterlogged_points"] == 1
    assert row["categories"] == "4 停车; 6 雨污分流/排水; 11 消防"  # 11: a broken hydrant inside
    raw = renovation_priorities(compounds, lots, hydrants, sites, points, net_of_sharing=False).main.iloc[0]
    assert raw["c_parking"] == pytest.approx(50 / 150, abs=1e-4) and raw["shared_spaces"] == 0


def test_eligibility_by_build_year_and_sub_analysis_parameters():
    compounds, empty = _one_compound(build_year=2001)
    row = renovation_priorities(compounds, empty, empty, empty, empty).main.iloc[0]
    assert not row["eligible"] and row["tier"] is None
    assert renovation_priorities(compounds, empty, empty, empty, empty,
                                 eligible_before_year=2002).main.iloc[0]["tier"] == "demonstration"
    hydrants = layer([{"status": "working"}], [pt(0, 0)])
    covered = renovation_priorities(compounds, empty, hydrants, empty, empty, radius_m=200).main.iloc[0]
    assert covered["c_fire"] == pytest.approx(1 - math.pi / 4, abs=2e-3)  # a quarter circle of r = 200 m at a corner
    with pytest.raises(TypeError):
        renovation_priorities(compounds, empty, empty, empty, empty, radius=300)
