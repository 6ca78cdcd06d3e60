"""Hydrant coverage on hand-built compounds: shares worked out with π, statuses, buildings, invariants."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_service.analysis.coverage import disks
from geo_service.analysis.hydrant_coverage import hydrant_coverage

from .test_analysis_support import UTM, layer, pt, quarter_circle_share, square

SIDE = 300.0


def _compound(name: str = "A", x: float = 0.0):
    return layer([{"name": name, "street": "梅陇镇", "households": 500}], [square(x, 0, SIDE)])


def test_one_working_hydrant_at_a_corner_covers_a_quarter_circle():
    result = hydrant_coverage(_compound(), layer([{"status": "working"}], [pt(0, 0)]))
    row = result.main.iloc[0]
    expected = quarter_circle_share(150, SIDE)  # π·150²/4 / 300² ≈ 19.6 %
    assert expected == pytest.approx(0.19635, abs=1e-5)
    assert row["covered_share"] == pytest.approx(expected, rel=1e-3)
    assert row["uncovered_m2"] == pytest.approx(SIDE ** 2 * (1 - expected), rel=1e-3)
    assert row["working_hydrants"] == 1 and row["broken_hydrants"] == 0
    # the uncovered part is a MultiPolygon whose area (in metres) is the uncovered area
    gap = gpd.GeoSeries([row.geometry], crs="EPSG:4326").to_crs(UTM)
    assert row.geometry.geom_type == "MultiPolygon"
    assert gap.area.iloc[0] == pytest.approx(row["uncovered_m2"], rel=1e-4)


def test_hydrant_in_the_middle_covers_the_inscribed_circle():
    result = hydrant_coverage(_compound(), layer([{"status": "working"}], [pt(150, 150)]))
    assert result.main.iloc[0]["covered_share"] == pytest.approx(math.pi / 4, rel=1e-3)


def test_a_faulty_hydrant_covers_nothing_but_is_listed():
    hydrants = layer([{"status": "faulty"}, {"status": "out_of_service"}, {"status": "under_repair"},
                      {"status": "faulty"}, {"status": "unknown"}],
                     [pt(0, 0), pt(150, -100), pt(150, 500), pt(150, 150), pt(10, 10)])
    row = hydrant_coverage(_compound(), hydrants).main.iloc[0]
    assert row["covered_share"] == 0.0 and row["uncovered_m2"] == pytest.approx(SIDE ** 2)
    # corner and centre are inside (the boundary counts), one 100 m south is near, one 200 m north is too far
    assert row["broken_hydrants"] == 3 and row["broken_inside"] == 2
    assert (row["broken_faulty"], row["broken_out_of_service"], row["broken_under_repair"]) == (2, 1, 0)
    assert row["broken_ids"] == "1,2,4"
    assert row.geometry.area > 0  # the whole compound is the gap


def test_full_coverage_and_ranking_by_uncovered_area():
    hydrants = layer([{"status": "working"}] * 4, [pt(75, 75), pt(225, 75), pt(75, 225), pt(225, 225)])
    compounds = layer([{"name": "covered"}, {"name": "bare"}, {"name": "corner"}],
                      [square(0, 0, SIDE), square(2000, 0, 100), square(700, 0, SIDE)])
    hydrants = pd.concat([hydrants, layer([{"status": "working"}], [pt(700, 0)], first_id=9)])
    table = hydrant_coverage(compounds, hydrants).main
    assert table["name"].tolist() == ["corner", "bare", "covered"]  # 72,300 m² > 10,000 m² > 0
    covered = table.set_index("name").loc["covered"]
    assert covered["covered_share"] == 1.0 and covered["uncovered_m2"] == 0.0 and covered.geometry.is_empty
    assert table["rank"].tolist() == [1, 2, 3]


def test_radius_and_status_are_parameters():
    hydrants = layer([{"status": "ok"}], [pt(0, 0)])
    assert hydrant_coverage(_compound(), hydrants).main.iloc[0]["covered_share"] == 0.0
    row = hydrant_coverage(_compound(), hydrants, working_status="ok", radius_m=300).main.iloc[0]
    assert row["covered_share"] == pytest.approx(math.pi / 4, rel=1e-3)


def test_per_building_with_a_buildings_layer():
    buildings = layer([{"name": "1号楼"}, {"name": "2号楼"}], [square(10, 10, 40), square(200, 200, 60)])
    result = hydrant_coverage(_compound(), layer([{"status": "working"}], [pt(0, 0)]), buildings)
    table = result["buildings"].set_index("name")
    assert table.loc["1号楼", "covered_share"] == 1.0
    assert table.loc["2号楼", "covered_share"] == 0.0
    assert table["compound_id"].tolist() == [1, 1]


def test_equal_area_disks():
    disk = disks(np.array([shapely.Point(0, 0)]), 150.0, 64)[0]
    assert disk.area == pytest.approx(math.pi * 150 ** 2, rel=1e-9)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.floats(-300, 600), st.floats(-300, 600),
                          st.sampled_from(["working", "faulty", "under_repair"])), max_size=8))
def test_shares_lie_between_0_and_1_and_broken_hydrants_never_cover(points):
    hydrants = layer([{"status": s} for *_, s in points], [pt(x, y) for x, y, _ in points])
    table = hydrant_coverage(_compound(), hydrants).main
    share = table["covered_share"].iloc[0]
    assert 0.0 <= share <= 1.0
    working_only = layer([{"status": s} for *_, s in points if s == "working"],
                         [pt(x, y) for x, y, s in points if s == "working"])
    assert hydrant_coverage(_compound(), working_only).main["covered_share"].iloc[0] == pytest.approx(share, abs=1e-9)
