"""Waterlogging: severity normalisation, thresholds, missing values, cause mix, hotspots (DBSCAN in metres)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo_service.analysis.clustering import dbscan
from geo_service.analysis.waterlogging import waterlogging

from .test_analysis_support import layer, pt, square


def _scene():
    compounds = layer([{"name": "A", "street": "梅陇镇"}, {"name": "B", "street": "梅陇镇"},
                       {"name": "far", "street": "莘庄镇"}],
                      [square(0, 0, 200), square(230, 0, 200), square(3000, 0, 200)])
    points = layer([
        {"depth_cm": 20, "duration_min": 60, "events_per_year": 2, "cause": "internal_drainage"},  # 2,400
        {"depth_cm": 10, "duration_min": 30, "events_per_year": 1, "cause": "internal_drainage"},  # 300, shallow
        {"depth_cm": 40, "duration_min": 90, "events_per_year": 3, "cause": "external_backflow"},  # 10,800: max
        {"depth_cm": 15, "duration_min": 30, "events_per_year": 1, "cause": "other"},  # 450, at both thresholds
        {"depth_cm": 50, "duration_min": 600, "events_per_year": 9, "status": "fixed"},  # fixed: left out
    ], [pt(50, 50), pt(120, 80), pt(215, 100), pt(3100, 100), pt(60, 60)])
    return compounds, points


def test_severity_is_normalised_and_thresholds_count():
    result = waterlogging(*_scene())
    points = result["points"].sort_index()
    assert points.index.tolist() == [1, 2, 3, 4]
    assert points["severity"].tolist() == pytest.approx([2400 / 10800, 300 / 10800, 1.0, 450 / 10800], abs=1e-6)
    assert points["waterlogged"].tolist() == [True, False, True, True]
    table = result.main.set_index("name")
    a, b, far = table.loc["A"], table.loc["B"], table.loc["far"]
    # the point on the road between A and B (15 m from each) counts for both
    assert (a["points"], a["points_inside"], b["points"], b["points_inside"]) == (3, 2, 1, 0)
    assert a["severity_sum"] == pytest.approx((2400 + 300 + 10800) / 10800, abs=1e-6)
    assert a["severity"] == 1.0 and b["severity"] == pytest.approx(10800 / 13500, abs=1e-6)
    assert (a["cause_external_backflow"], a["cause_internal_drainage"], a["cause_other"]) == (1, 2, 0)
    assert a["dominant_cause"] == "internal_drainage" and far["dominant_cause"] == "other"
    assert a["waterlogged_points"] == 2 and a["waterlogged_internal"] == 1
    assert b["severity_internal"] == 0.0  # its only point is external backflow
    assert result.main["name"].tolist() == ["A", "B", "far"]
    assert waterlogging(*_scene(), exclude_fixed=False).summary["points"] == 5


def test_missing_duration_takes_the_median_and_is_flagged():
    compounds, points = _scene()
    points.loc[points["id"] == 2, "duration_min"] = np.nan  # median of 60, 90, 30 = 60
    row = waterlogging(compounds, points)["points"].loc[2]
    assert row["duration_filled"] and row["duration_min"] == 60
    assert row["severity"] == pytest.approx(10 * 60 * 1 / 10800, abs=1e-6)


def test_a_hotspot_is_found_across_compounds():
    compounds, points = _scene()
    result = waterlogging(compounds, points)
    hotspots = result["hotspots"]
    assert len(hotspots) == 1  # the three points in and between A and B (within 300 m); the far one is noise
    spot = hotspots.iloc[0]
    assert spot["points"] == 3 and spot["compound_ids"] == "1,2"
    assert spot["dominant_cause"] == "internal_drainage"
    members = result["points"].loc[[1, 2, 3]]
    assert set(members["hotspot"]) == {1} and result["points"].loc[4, "hotspot"] is None
    assert shapely.contains(spot.geometry, shapely.MultiPoint(list(members.geometry)))
    assert result.main.set_index("name").loc["A", "hotspots"] == "1"
    assert waterlogging(compounds, points, min_points=4)["hotspots"].empty


def test_dbscan_matches_a_hand_example():
    xy = np.array([[0, 0], [100, 0], [200, 0], [1000, 0], [1290, 0], [5000, 0], [480, 0]], dtype=float)
    # 0,1,2 core (each has 3 within 300 m incl. itself); 480 is a border of 2 (280 m); 1000/1290 only pair
    assert dbscan(xy, 300, 3).tolist() == [0, 0, 0, -1, -1, -1, 0]
    assert dbscan(xy, 300, 2).tolist() == [0, 0, 0, 1, 1, -1, 0]


def _canonical(labels: np.ndarray) -> list[int]:
    """Labels renamed by order of first appearance (noise stays -1): equal iff the partitions are."""
    names: dict[int, int] = {}
    return [-1 if v < 0 else names.setdefault(int(v), len(names)) for v in labels]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), min_size=1, max_size=25, unique=True),
       st.randoms())
def test_dbscan_does_not_depend_on_point_order(points, rnd):
    xy = np.array(points, dtype=float) * 10.37  # a coarse grid of distinct points
    perm = np.array(rnd.sample(range(len(xy)), len(xy)))
    back = np.empty(len(xy), dtype=np.int64)
    back[perm] = dbscan(xy[perm], 300, 3)
    assert _canonical(back) == _canonical(dbscan(xy, 300, 3))
