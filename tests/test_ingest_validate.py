"""validate_frame: type normalisation per field type, geometry rules, speed."""

from __future__ import annotations

import datetime as dt
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo_service.catalog import FieldSpec, LayerSpec, Title
from geo_service.catalog.validation import RowError, validate_frame
from geo_service.store.base import InvalidFeature, validate_feature

from .test_ingest_common import CATALOG

T = Title("t", "t")
SPEC = LayerSpec(
    id="things", title=T, geometry_types=("Point",),
    fields=(
        FieldSpec("label", "string", T),
        FieldSpec("colour", "string", T, values={"red": Title("红", "Red"), "green": Title("绿", "Green")},
                  aliases={"R": "red"}),
        FieldSpec("count", "integer", T, minimum=0, maximum=100),
        FieldSpec("ratio", "number", T),
        FieldSpec("ok", "boolean", T),
        FieldSpec("day", "date", T),
        FieldSpec("seen", "datetime", T),
        FieldSpec("must", "string", T, required=True),
    ),
)
P = shapely.Point(121.4, 31.2)


def run(column: str, values: list, spec: LayerSpec = SPEC, **kw):
    frame = gpd.GeoDataFrame({"must": ["x"] * len(values), column: values}, geometry=[P] * len(values),
                             crs="EPSG:4326")
    return validate_frame(frame, spec, **kw)


def reasons(result) -> list[str]:
    return [str(e) for e in result.errors]


def test_output_columns_and_dtypes():
    result = run("count", ["3"])
    assert list(result.valid.columns) == ["id", *SPEC.field_names, "geometry"]
    dtypes = result.valid.dtypes
    assert str(dtypes["id"]) == "Int64" and str(dtypes["count"]) == "Int64"
    assert dtypes["ratio"] == np.float64 and str(dtypes["ok"]) == "boolean"
    assert result.valid["label"].tolist() == [None] and result.valid.crs.to_epsg() == 4326


def test_strings_are_stripped_aliased_and_checked():
    result = run("colour", [" red ", "R", "GREEN", "绿", "Red", "", None, "blue"])
    assert result.valid["colour"].tolist() == ["red", "red", "green", "green", "red", None, None]
    assert reasons(result) == ["row 8: colour: 'blue' is not one of: 红 red, 绿 green"]
    assert run("label", ["  a b ", 12, 12.0, 1.5, ""]).valid["label"].tolist() == ["a b", "12", "12", "1.5", None]


def test_integers():
    result = run("count", ["12", 12.0, " 7 ", "8.0", 9, None, "", 12.5, "abc", True, -1, 101])
    assert result.valid["count"].tolist()[:5] == [12, 12, 7, 8, 9]
    assert result.valid["count"].isna().tolist()[5:] == [True, True]
    assert reasons(result) == ["row 8: count: 12.5 is not an integer", "row 9: count: 'abc' is not an integer",
                               "row 10: count: True is not an integer", "row 11: count: -1 is below the minimum 0",
                               "row 12: count: 101 is above the maximum 100"]
    typed = run("count", np.array([1.0, 2.5, np.nan]))  # a float column takes the vectorised path
    assert reasons(typed) == ["row 2: count: 2.5 is not an integer"]
    assert typed.valid["count"].tolist()[0] == 1


def test_numbers():
    result = run("ratio", ["1e3", 5, " 2.5 ", None, "abc", "inf", float("inf")])
    assert result.valid["ratio"].tolist()[:3] == [1000.0, 5.0, 2.5]
    assert reasons(result) == ["row 5: ratio: 'abc' is not a number", "row 6: ratio: 'inf' is not a finite number",
                               "row 7: ratio: inf is not a finite number"]


def test_booleans():
    words = ["true", "False", "1", "0", "yes", "NO", "是", "否", "y", "n", 1, 0, True]
    result = run("ok", [*words, "maybe"])
    assert result.valid["ok"].tolist() == [True, False, True, False, True, False, True, False, True, False,
                                           True, False, True]
    assert reasons(result) == ["row 14: ok: 'maybe' is not a boolean (true/false, yes/no, 1/0, 是/否)"]


def test_dates():
    values = [dt.date(2024, 5, 1), dt.datetime(2024, 5, 1, 13, 0), pd.Timestamp("2024-05-01"), "2024/5/1",
              "2024年5月1日", "20240501", "2024-05-01T08:00:00Z", "2024.05.01", "2023-13-01", "soon"]
    result = run("day", values)
    assert result.valid["day"].tolist() == ["2024-05-01"] * 8
    assert reasons(result) == ["row 9: day: '2023-13-01' is not a date (month must be in 1..12)",
                               "row 10: day: 'soon' is not a date (expected YYYY-MM-DD)"]
    typed = run("day", pd.to_datetime(["2024-05-01", None]))
    assert typed.valid["day"].tolist() == ["2024-05-01", None]


def test_datetimes_are_utc():
    values = ["2024-05-01 08:30", "2024-05-01T08:30:00+08:00", dt.datetime(2024, 5, 1, 8, 30, 5),
              dt.date(2024, 5, 1), "2024/05/01 08:30:00", "yesterday"]
    result = run("seen", values)
    assert result.valid["seen"].tolist() == ["2024-05-01T08:30:00Z", "2024-05-01T00:30:00Z", "2024-05-01T08:30:05Z",
                                             "2024-05-01T00:00:00Z", "2024-05-01T08:30:00Z"]
    assert reasons(result) == ["row 6: seen: 'yesterday' is not a date-time (expected YYYY-MM-DDTHH:MM:SSZ)"]


def test_required_and_row_numbers():
    frame = gpd.GeoDataFrame({"must": ["a", "", None]}, geometry=[P] * 3, crs="EPSG:4326")
    result = validate_frame(frame, SPEC, row_numbers=np.array([10, 11, 12]))
    assert reasons(result) == ["row 11: must: required value is missing", "row 12: must: required value is missing"]
    assert result.rejected_rows.tolist() == [11, 12]
    assert result.rejected.index.tolist() == [1, 2]
    assert validate_frame(frame, SPEC, check_required=False).errors == []


def test_row_error_str():
    assert str(RowError(12, "households", "'abc' is not an integer", "abc")) == \
        "row 12: households: 'abc' is not an integer"
    assert str(RowError(None, "status", "required field has no column")) == "status: required field has no column"


# ---- geometry -------------------------------------------------------------------------------------

def geoms_of(spec: LayerSpec, geoms, **kw):
    frame = gpd.GeoDataFrame({"must": ["x"] * len(geoms)}, geometry=list(geoms), crs="EPSG:4326")
    return validate_frame(frame, spec, **kw)


def with_types(*types: str) -> LayerSpec:
    return LayerSpec(id="g", title=T, geometry_types=types, fields=(FieldSpec("must", "string", T),))


SQUARE = shapely.box(121.40, 31.20, 121.41, 31.21)


def test_polygon_promoted_and_single_part_multi_demoted():
    promoted = geoms_of(with_types("MultiPolygon"), [SQUARE])
    assert promoted.valid.geometry.iloc[0].geom_type == "MultiPolygon"
    demoted = geoms_of(with_types("Point"), [shapely.MultiPoint([(121.4, 31.2)])])
    assert demoted.valid.geometry.iloc[0].equals(P)
    two = geoms_of(with_types("Polygon"), [shapely.MultiPolygon([SQUARE, shapely.box(121.5, 31.2, 121.51, 31.21)])])
    assert reasons(two) == ["row 1: geometry: MultiPolygon with 2 parts where the layer takes Polygon"]


def test_repair_keeps_polygonal_parts_of_a_collection():
    spike = shapely.Polygon([(121.40, 31.20), (121.42, 31.20), (121.42, 31.22), (121.40, 31.22), (121.40, 31.21),
                             (121.39, 31.21), (121.40, 31.21), (121.40, 31.20)])
    assert shapely.make_valid(spike).geom_type == "GeometryCollection"
    result = geoms_of(with_types("Polygon", "MultiPolygon"), [spike])
    assert result.errors == []
    assert result.valid.geometry.iloc[0].geom_type == "Polygon"
    assert result.warnings and "invalid geometry repaired (Self-intersection" in result.warnings[0]


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_geometry_reasons():
    nan_poly = shapely.Polygon([(121.4, 31.2), (121.41, np.nan), (121.41, 31.21), (121.4, 31.2)])
    result = geoms_of(with_types("Point", "Polygon"), [None, shapely.Point(), nan_poly,
                                                       shapely.LineString([(0, 0), (1, 1)])])
    assert reasons(result) == ["row 1: geometry: geometry is missing", "row 2: geometry: geometry is empty",
                               "row 3: geometry: coordinates are not finite numbers (NaN or infinity)",
                               "row 4: geometry: LineString where the layer takes Point or Polygon"]


def test_z_is_dropped_with_a_warning():
    result = geoms_of(with_types("Point"), [shapely.Point(121.4, 31.2, 5.0)])
    assert not result.valid.geometry.iloc[0].has_z
    assert any("heights (z)" in w for w in result.warnings)


def test_swapped_detected_inside_range_by_service_area():
    area = (5.0, 40.0, 15.0, 50.0)  # lon 5..15, lat 40..50: (45, 10) is in range but swapped
    result = geoms_of(with_types("Point"), [shapely.Point(10, 45), shapely.Point(45, 10)], service_area=area)
    assert reasons(result) == ["row 2: geometry: likely swapped lat/lon: (45.0, 10.0) lies outside the service "
                               "area, (10.0, 45.0) inside it"]


def test_swapped_detected_inside_range_by_the_data_core():
    rng = np.random.default_rng(3)
    points = list(shapely.points(rng.uniform(10, 10.2, 30), rng.uniform(45, 45.2, 30)))
    points.append(shapely.Point(45.1, 10.1))
    result = geoms_of(with_types("Point"), points)
    assert [e.row for e in result.errors] == [31]
    assert "likely swapped lat/lon: (45.1, 10.1)" in result.errors[0].reason


def test_outliers_need_twenty_rows_and_can_be_switched_off():
    rng = np.random.default_rng(4)
    near = list(shapely.points(rng.uniform(121.4, 121.5, 19), rng.uniform(31.1, 31.2, 19)))
    far = shapely.Point(116.4, 39.9)
    assert geoms_of(with_types("Point"), near[:18] + [far]).errors == []  # 19 rows: not checked
    flagged = geoms_of(with_types("Point"), near + [far])
    assert [e.row for e in flagged.errors] == [20] and "km" in flagged.errors[0].reason
    assert geoms_of(with_types("Point"), near + [far], outliers=False).errors == []


def test_validate_feature_uses_the_same_rules():
    spec = CATALOG.get("fire_hydrants")
    props, geom = validate_feature(spec, {"status": "ok", "kind": "地上"}, {"type": "Point",
                                                                           "coordinates": [121.4, 31.2]},
                                   partial=False)
    assert props == {"status": "working", "kind": "above_ground"} and geom.equals(P)
    with pytest.raises(InvalidFeature, match="status: 'blue' is not one of"):
        validate_feature(spec, {"status": "blue"}, P, partial=False)
    assert validate_feature(spec, {"flow_lps": "12"}, None, partial=True)[0] == {"flow_lps": 12.0}


def test_two_hundred_thousand_rows_in_a_few_seconds():
    n = 200_000
    rng = np.random.default_rng(5)
    frame = gpd.GeoDataFrame({
        "id": np.arange(1, n + 1),
        "kind": rng.choice(["pillar", "underground", "wall", "地上"], n),
        "status": rng.choice(["ok", "damaged", "working", "报废"], n),
        "last_inspected": rng.choice(["2023-01-05", "2024/2/3", "20240101"], n),
        "flow_lps": rng.uniform(0, 50, n).round(3).astype(str),
    }, geometry=shapely.points(rng.uniform(121.2, 121.7, n), rng.uniform(31.0, 31.4, n)), crs="EPSG:4326")
    started = time.perf_counter()
    result = validate_frame(frame, CATALOG.get("fire_hydrants"))
    elapsed = time.perf_counter() - started
    assert len(result.valid) == n and not result.errors
    assert elapsed < 5.0, f"validation of {n:,} rows took {elapsed:.1f} s"
