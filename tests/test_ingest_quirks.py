"""Real-world quirks of published files (issue 11 item 4), each with its expected outcome.

A case either imports (and ``check`` looks at what was stored) or fails with its own message;
a failure leaves the store's content unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from geo_service.ingest.importer import ImportFailed

from .test_ingest_common import content_hash, layer_frame, run_import, store_path_fixture  # noqa: F401


def fc(features: list[dict], **extra) -> str:
    return json.dumps({"type": "FeatureCollection", **extra, "features": features}, ensure_ascii=False)


def feat(props, geom, **kw) -> dict:
    return {"type": "Feature", **kw, "properties": props, "geometry": geom}


def pt(x: float = 121.4, y: float = 31.2, *more: float) -> dict:
    return {"type": "Point", "coordinates": [x, y, *more]}


OK = {"status": "ok"}


@dataclass
class Quirk:
    id: str
    name: str
    data: str | bytes
    check: Callable | None = None  # frame -> bool, for cases that import
    warning: str | None = None  # and a warning the import must give
    error: str | None = None  # the message of cases that fail
    layer: str = "fire_hydrants"
    kwargs: dict | None = None


def ids(frame):
    return sorted(frame.index.tolist())


def keys(frame):
    return sorted(k for k in frame["source_id"].tolist() if k is not None)


def xy(frame):
    return sorted((round(g.x, 7), round(g.y, 7)) for g in frame.geometry)


QUIRKS = [
    Quirk("integer_id_property", "a.geojson", fc([feat({"id": 5, **OK}, pt()), feat({"id": 7, **OK}, pt(121.41))]),
          check=lambda f: ids(f) == [5, 7] and keys(f) == ["5", "7"]),
    Quirk("string_id_property", "b.geojson", fc([feat({"id": "XHS-1", **OK}, pt())]),
          check=lambda f: keys(f) == ["XHS-1"]),
    Quirk("mixed_integer_and_string_ids", "c.geojson",
          fc([feat({"id": 5, **OK}, pt()), feat({"id": "X", **OK}, pt(121.41))]),
          check=lambda f: keys(f) == ["5", "X"], warning="not all positive integers"),
    Quirk("float_id_is_the_integer", "d.geojson", fc([feat({"id": 5.0, **OK}, pt())]),
          check=lambda f: ids(f) == [5] and keys(f) == ["5"]),
    Quirk("missing_id_on_one_feature", "e.geojson",
          fc([feat({"id": 5, **OK}, pt()), feat(OK, pt(121.41))]),
          check=lambda f: 5 in ids(f) and len(f) == 2 and keys(f) == ["5"]),
    Quirk("duplicate_string_id", "f.geojson",
          fc([feat({"id": "A", **OK}, pt()), feat({"id": "A", **OK}, pt(121.41))]),
          error="row 1: source_id: key 'A' also on row(s) 2 of this file"),
    Quirk("duplicate_integer_id", "g.geojson",
          fc([feat({"id": 4, **OK}, pt()), feat({"id": 4, **OK}, pt(121.41))]),
          error="row 1: id: duplicate id 4 (also on row 2)"),
    Quirk("feature_level_integer_id", "h.geojson", fc([feat(OK, pt(), id=11), feat(OK, pt(121.41), id=12)]),
          check=lambda f: ids(f) == [11, 12] and keys(f) == ["11", "12"]),
    Quirk("feature_level_string_id", "i.geojson", fc([feat(OK, pt(), id="A1"), feat(OK, pt(121.41), id="A2")]),
          check=lambda f: keys(f) == ["A1", "A2"]),
    Quirk("feature_id_and_property_id_the_property_wins", "j.geojson", fc([feat({"id": "P1", **OK}, pt(), id=3)]),
          check=lambda f: keys(f) == ["P1"]),
    Quirk("null_properties_on_one_feature", "k.geojson", fc([feat(OK, pt()), feat(None, pt(121.41))]),
          error="row 2: status: required value is missing"),
    Quirk("nested_object_in_a_text_field_is_json_text", "l.geojson",
          fc([feat({"name": {"zh": "停车场", "en": "P"}, "kind": "public"}, pt())]), layer="parking_facilities",
          check=lambda f: f["name"].tolist() == ['{"zh": "停车场", "en": "P"}']),
    Quirk("array_in_a_text_field_is_json_text", "m.geojson",
          fc([feat({"name": ["A区", "B区"], "kind": "public"}, pt())]), layer="parking_facilities",
          check=lambda f: f["name"].tolist() == ['["A区", "B区"]']),
    Quirk("nested_object_in_a_coded_field_is_refused", "n.geojson", fc([feat({"status": {"a": 1}}, pt())]),
          error="""row 1: status: '{"a": 1}' is not one of"""),
    Quirk("z_coordinates_are_dropped", "o.geojson", fc([feat(OK, pt(121.4, 31.2, 5.0))]),
          check=lambda f: xy(f) == [(121.4, 31.2)], warning="heights (z) were dropped"),
    Quirk("zm_coordinates_are_dropped", "p.geojson", fc([feat(OK, pt(121.4, 31.2, 5.0, 7.0))]),
          check=lambda f: xy(f) == [(121.4, 31.2)], warning="heights (z) were dropped"),
    Quirk("single_member_multipoint_for_a_point_layer", "q.geojson",
          fc([feat(OK, {"type": "MultiPoint", "coordinates": [[121.4, 31.2]]})]),
          check=lambda f: [g.geom_type for g in f.geometry] == ["Point"]),
    Quirk("two_member_multipoint_is_refused", "r.geojson",
          fc([feat(OK, {"type": "MultiPoint", "coordinates": [[121.4, 31.2], [121.5, 31.2]]})]),
          error="row 1: geometry: MultiPoint with 2 parts where the layer takes Point"),
    Quirk("geometry_collection_is_refused", "s.geojson",
          fc([feat(OK, {"type": "GeometryCollection", "geometries": [pt()]})]),
          error="row 1: geometry: GeometryCollection where the layer takes Point"),
    Quirk("legacy_crs_member_crs84", "t.geojson",
          fc([feat(OK, pt())], crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}),
          check=lambda f: xy(f) == [(121.4, 31.2)]),
    Quirk("legacy_crs_member_cgcs2000_gauss_kruger", "u.geojson",
          fc([feat(OK, pt(500000, 3456000))],
             crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}}),
          check=lambda f: xy(f) == [(120.0, 31.225718)]),
    Quirk("legacy_crs_member_nobody_knows_is_refused", "ua.geojson",
          fc([feat(OK, pt())], crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::999999"}}),
          error="its crs member names 'urn:ogc:def:crs:EPSG::999999', which is not a known coordinate system"),
    Quirk("utf8_bom_geojson", "v.geojson", "\ufeff" + fc([feat(OK, pt())]),
          check=lambda f: len(f) == 1),
    Quirk("utf8_bom_csv", "w.csv", "\ufeff编号,lon,lat,status\nA1,121.4,31.2,ok\n",
          check=lambda f: keys(f) == ["A1"]),
    Quirk("crlf_csv", "x.csv", "lon,lat,status\r\n121.4,31.2,ok\r\n121.41,31.2,ok\r\n",
          check=lambda f: len(f) == 2),
    Quirk("semicolon_csv_with_decimal_commas", "y.csv", "lon;lat;status\n121,4;31,2;ok\n121,41;31,2;ok\n",
          check=lambda f: xy(f) == [(121.4, 31.2), (121.41, 31.2)]),
    Quirk("gbk_csv_with_encoding", "z.csv", "编号,经度,纬度,状态\nXHS-1,121.4,31.2,正常\n".encode("gbk"),
          kwargs={"encoding": "gbk"}, check=lambda f: f["status"].tolist() == ["working"]),
    Quirk("gbk_csv_without_encoding_says_so", "za.csv", "编号,经度,纬度,状态\nXHS-1,121.4,31.2,正常\n".encode("gbk"),
          error="files saved by Excel or WPS on Chinese Windows are usually GBK: pass --encoding gbk"),
    Quirk("quoted_numbers_as_text", "zb.csv", 'lon,lat,status\n"121.4","31.2",ok\n',
          check=lambda f: xy(f) == [(121.4, 31.2)]),
    Quirk("tab_separated", "zc.tsv", "lon\tlat\tstatus\n121.4\t31.2\tok\n",
          check=lambda f: len(f) == 1),
    Quirk("blank_lines_and_trailing_spaces", "zd.csv", "lon , lat ,status\n\n121.4 , 31.2 , ok \n\n",
          check=lambda f: f["status"].tolist() == ["working"]),
    Quirk("wkt_with_z", "ze.csv", 'wkt,status\n"POINT Z (121.4 31.2 3)",ok\n',
          check=lambda f: xy(f) == [(121.4, 31.2)]),
    Quirk("more_than_seven_decimals_are_rounded", "zf.csv", "lon,lat,status\n121.123456789,31.987654321,ok\n",
          check=lambda f: xy(f) == [(121.1234568, 31.9876543)]),
    Quirk("gid_is_the_source_id_and_set_fills_a_missing_status", "zh.geojson",
          fc([feat({"gid": 1, "cod_hidrante": 1, "tipo_hidrante": None}, pt(-38.5046, -3.7286)),
              feat({"gid": 2, "cod_hidrante": 2, "tipo_hidrante": None}, pt(-38.5041, -3.7273))]),
          kwargs={"constants": {"status": "unknown"}},
          check=lambda f: keys(f) == ["1", "2"] and set(f["status"]) == {"unknown"}),
    Quirk("objectid_is_the_source_id", "zg.csv", "OBJECTID,lon,lat,status\n17,121.4,31.2,ok\n",
          check=lambda f: keys(f) == ["17"]),
]


@pytest.mark.parametrize("quirk", QUIRKS, ids=[q.id for q in QUIRKS])
def test_quirk(quirk, tmp_path, store_path):
    path = tmp_path / quirk.name
    path.write_bytes(quirk.data if isinstance(quirk.data, bytes) else quirk.data.encode("utf-8"))
    if quirk.error is not None:
        before = content_hash(store_path)
        with pytest.raises(ImportFailed) as info:
            run_import(store_path, path, quirk.layer, **(quirk.kwargs or {}))
        assert quirk.error in str(info.value), str(info.value)
        assert content_hash(store_path) == before
        return
    report = run_import(store_path, path, quirk.layer, **(quirk.kwargs or {}))
    frame = layer_frame(store_path, quirk.layer)
    assert quirk.check(frame), frame.to_string()
    if quirk.warning:
        assert any(quirk.warning in w for w in report.warnings), report.warnings


def test_the_quirk_corpus_is_big_enough():
    assert len(QUIRKS) >= 25
    assert len({q.id for q in QUIRKS}) == len(QUIRKS)
