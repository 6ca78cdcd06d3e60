"""Shared parking respects agreements already signed: a hand-built case with known numbers.

One public lot with 100 free spaces at night. Compound A (300 m west) has 60 of them by a signed
agreement; compound B (150 m east) is short of 70. The plan gives B the 40 spaces left, not 70;
once the agreement has expired, nothing is fixed and the least-walk plan gives B (the nearer) all 70.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pytest
import shapely

from geo_service.analysis.shared_parking import shared_parking

LAT = 31.10
LOT_X = 121.40
M_PER_DEG = 111_320.0 * 0.8563  # metres per degree of longitude at 31.1° N (cos 31.1° = 0.8563)


def square_at(metres_east: float, side_m: float = 40.0):
    x = LOT_X + metres_east / M_PER_DEG
    h = side_m / 2 / M_PER_DEG
    v = side_m / 2 / 110_574.0
    return shapely.box(x - h, LAT - v, x + h, LAT + v)


def frames(agreement_status: str = "signed", valid_to: str | None = None):
    compounds = gpd.GeoDataFrame(
        {"name": ["A", "B"], "street": ["梅陇镇", "梅陇镇"], "households": [100, 100], "build_year": [1990, 1990],
         "registered_vehicles": [60, 70], "parking_spaces": [0, 0]},
        geometry=[square_at(-300), square_at(150)], index=[1, 2], crs="EPSG:4326")
    compounds.index.name = "id"
    lots = gpd.GeoDataFrame({"name": ["公共停车场"], "kind": ["public"], "capacity": [120], "night_free_spaces": [100]},
                            geometry=[shapely.Point(LOT_X, LAT)], index=[7], crs="EPSG:4326")
    lots.index.name = "id"
    line = shapely.LineString([square_at(-300).centroid, (LOT_X, LAT)])
    agreements = gpd.GeoDataFrame({"compound": [1], "lot": [7], "spaces": [60], "status": [agreement_status],
                                   "valid_from": ["2025-01-01"], "valid_to": [valid_to]},
                                  geometry=[line], index=[1], crs="EPSG:4326")
    return compounds, lots, agreements


def given_to(result, compound_id: int) -> int:
    arr = result["arrangements"]
    return int(arr.loc[arr["compound_id"] == compound_id, "spaces"].sum())


def test_signed_agreement_is_fixed():
    compounds, lots, agreements = frames(valid_to=(dt.date.today() + dt.timedelta(days=365)).isoformat())
    result = shared_parking(compounds, lots, parking_agreements=agreements)
    assert given_to(result, 2) == 40
    assert given_to(result, 1) == 0  # A's gap is covered by its agreement
    unserved = result["unserved"]
    assert unserved.loc[1, "agreed"] == 60 and unserved.loc[1, "unserved"] == 0
    assert unserved.loc[2, "served"] == 40 and unserved.loc[2, "unserved"] == 30
    assert result.summary["agreed"] == 60


@pytest.mark.parametrize("status, valid_to", [
    ("signed", (dt.date.today() - dt.timedelta(days=1)).isoformat()),  # expired yesterday
    ("expired", None), ("terminated", None), ("proposed", None), ("negotiating", None)])
def test_agreements_that_do_not_bind_leave_the_lot_free(status, valid_to):
    compounds, lots, agreements = frames(status, valid_to)
    result = shared_parking(compounds, lots, parking_agreements=agreements)
    assert given_to(result, 2) == 70  # the nearer compound first
    assert given_to(result, 1) == 30
    assert result.summary["agreed"] == 0


def test_active_open_ended_agreement_binds():
    compounds, lots, agreements = frames("active", None)
    assert given_to(shared_parking(compounds, lots, parking_agreements=agreements), 2) == 40
