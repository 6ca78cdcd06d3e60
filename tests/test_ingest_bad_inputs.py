"""A corpus of bad inputs: each fails with ITS message, and the GeoPackage is byte-for-byte unchanged."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from geo_service.cli import app
from geo_service.ingest.importer import ImportFailed
from geo_service.store.geopackage import GeoPackageStore

from .test_ingest_common import (
    CATALOG,
    SHANGHAI,
    content_hash,
    feature_collection,
    hydrant_rows,
    point,
    run_import,
    sha256,
    store_path_fixture,  # noqa: F401 - the store_path fixture
    write_csv,
    write_json,
)

HEADER = ["lon", "lat", "kind", "status"]


def hydrants_csv(name: str = "hydrants.csv", change: dict[int, list] | None = None, extra: list[str] = (),
                 header: list[str] = HEADER, **kw) -> Callable[[Path], tuple[Path, str, dict]]:
    """25 good hydrant rows; ``change`` replaces whole rows by index (row i is on CSV line i + 2)."""

    def build(tmp: Path):
        rows = hydrant_rows(25)
        for i, row in (change or {}).items():
            rows[i] = row
        return write_csv(tmp / name, [*header, *extra], rows), "fire_hydrants", kw

    return build


def compounds_csv(values: dict[str, object], name: str = "xiaoqu.csv", **kw):
    """Two compounds as WKT polygons; ``values`` overrides fields of the first one."""

    def build(tmp: Path):
        base = [{"name": "康乐小区", "households": 520}, {"name": "梅陇三村", "households": 1310}]
        base[0].update(values)
        fields = list(base[0])
        wkt = [shapely.Point(p).buffer(0.001, quad_segs=2).wkt for p in SHANGHAI[:2]]
        rows = [[f'"{w}"', *(b.get(f) for f in fields)] for w, b in zip(wkt, base, strict=True)]
        return write_csv(tmp / name, ["wkt", *fields], rows), "compounds", kw

    return build


def geojson(layer: str, features, name: str = "input.geojson", **kw):
    def build(tmp: Path):
        return write_json(tmp / name, feature_collection(features)), layer, kw

    return build


def raw_file(name: str, data: bytes | str, layer: str = "fire_hydrants", **kw):
    def build(tmp: Path):
        path = tmp / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path, layer, kw

    return build


def zip_of(members: dict[str, bytes], name: str = "bundle.zip"):
    def build(tmp: Path):
        path = tmp / name
        with zipfile.ZipFile(path, "w") as z:
            for member, data in members.items():
                z.writestr(member, data)
        return path, "fire_hydrants", {}

    return build


def shapefile_without_dbf(tmp: Path):
    frame = gpd.GeoDataFrame({"status": ["ok"]}, geometry=[shapely.Point(SHANGHAI[0])], crs="EPSG:4326")
    path = tmp / "hydrants.shp"
    pyogrio.write_dataframe(frame, path)
    path.with_suffix(".dbf").unlink()
    return path, "fire_hydrants", {}


def two_layer_gpkg(tmp: Path, **kw):
    path = tmp / "two.gpkg"
    frame = gpd.GeoDataFrame({"status": ["ok"]}, geometry=[shapely.Point(SHANGHAI[0])], crs="EPSG:4326")
    pyogrio.write_dataframe(frame, path, layer="a_points")
    pyogrio.write_dataframe(frame, path, layer="b_points")
    return path, "fire_hydrants", kw


def attribute_only_gpkg(tmp: Path):
    path = tmp / "attrs.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"status": ["ok"]}), path, layer="fire_hydrants")
    return path, "fire_hydrants", {}


def hydrants_with_ids(name: str, ids: list[int]):
    def build(tmp: Path):
        rows = [[*r, i] for r, i in zip(hydrant_rows(len(ids)), ids, strict=True)]
        return write_csv(tmp / name, [*HEADER, "id"], rows), "fire_hydrants", {}

    return build


def preload_ids(tmp: Path, store: Path) -> None:
    path, layer, _ = hydrants_with_ids("first.csv", [1, 2, 3])(tmp)
    run_import(store, path, layer)


def osm_xml(tmp: Path):
    path = tmp / "area.osm"
    path.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" version="1" lat="31.2" lon="121.4">'
                    '<tag k="emergency" v="fire_hydrant"/></node></osm>', encoding="utf-8")
    return path, "waterlogging_points", {}


def workbook(name: str, rows: list[list], title: str = "数据", **kw):
    def build(tmp: Path):
        book = openpyxl.Workbook()
        book.active.title = title
        for row in rows:
            book.active.append(row)
        book.save(tmp / name)
        return tmp / name, "fire_hydrants", kw

    return build


def text_file(name: str, text: str, layer: str = "fire_hydrants", **kw):
    return raw_file(name, text.encode("utf-8"), layer=layer, **kw)


def many_rows(name: str, n: int, change: dict[int, list], header: list[str] = ("编号", *HEADER), **kw):
    """``n`` good hydrants with source ids XHS-i; ``change`` replaces rows (row i is on line i + 2)."""

    def build(tmp: Path):
        rows = [[f"XHS-{i}", round(121.40 + (i % 30) * 0.001, 6), round(31.20 + (i // 30) * 0.001, 6),
                 "pillar", "ok"] for i in range(n)]
        for i, row in change.items():
            rows[i] = row
        return write_csv(tmp / name, list(header), rows), "fire_hydrants", kw

    return build


def gbk_after_many_lines(tmp: Path):
    path = tmp / "late_gbk.csv"
    good = "".join(f"{121.4 + i * 1e-4:.4f},31.2,pillar,ok\n" for i in range(300))
    path.write_bytes(("lon,lat,kind,status\n" + good).encode() + "121.4,31.2,地上,完好\n".encode("gbk"))
    return path, "fire_hydrants", {"chunk_rows": 50}


def preload_keys(tmp: Path, store: Path) -> None:
    path, layer, _ = many_rows("first.csv", 3, {})(tmp)
    run_import(store, path, layer)


def osm_only_broken_parking(tmp: Path):
    path = tmp / "broken.osm"
    path.write_text('<?xml version="1.0"?><osm version="0.6">'
                    '<node id="1" version="1" lat="31.2" lon="121.4"/>'
                    '<node id="2" version="1" lat="31.2" lon="121.41"/>'
                    '<way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="1"/></way>'
                    '<relation id="20" version="1"><member type="way" ref="10" role="outer"/>'
                    '<tag k="type" v="multipolygon"/><tag k="amenity" v="parking"/></relation></osm>',
                    encoding="utf-8")
    return path, "parking_facilities", {}


@dataclass
class Case:
    id: str
    build: Callable[[Path], tuple[Path, str, dict]]
    expect: list[str]
    prepare: Callable[[Path, Path], None] | None = None
    rows: list[int] = field(default_factory=list)  # row numbers that must appear in .errors


GBK_ROW = "121.47,31.23,地上,完好\n".encode("gbk")
LINE = {"type": "LineString", "coordinates": [SHANGHAI[0], SHANGHAI[1]]}
MULTIPOINT = {"type": "MultiPoint", "coordinates": [SHANGHAI[0], SHANGHAI[1]]}
COLLINEAR = {"type": "Polygon", "coordinates": [[[121.40, 31.20], [121.41, 31.20], [121.42, 31.20], [121.40, 31.20]]]}
SHANGHAI_BOX = (120.8, 30.6, 122.2, 31.9)
bad = [121.4, 31.2, "pillar", "ok"]  # a template row, copied and changed below

CASES = [
    Case("non_utf8_csv", raw_file("gbk.csv", b"lon,lat,kind,status\n" + GBK_ROW),
         ["gbk.csv", "not UTF-8", "byte 0xb5 at byte offset 33 (line 2)", "--encoding gbk"]),
    Case("unknown_encoding", hydrants_csv(encoding="klingon"), ["hydrants.csv", "unknown encoding 'klingon'"]),
    Case("empty_file", raw_file("empty.geojson", b""), ["empty.geojson", "the file is empty (0 bytes)"]),
    Case("truncated_geojson", raw_file("cut.geojson", '{"type": "FeatureCollection", "features": [{"type": "Fea'),
         ["cut.geojson", "not valid JSON", "line 1 column", "truncated"]),
    Case("bare_geometry_list", raw_file("list.geojson", json.dumps([point(*SHANGHAI[0])])),
         ["list.geojson", "holds a JSON array", "FeatureCollection"]),
    Case("json_not_geojson", raw_file("plain.json", json.dumps({"hydrants": []})),
         ["plain.json", "not GeoJSON", "without a \"type\" member"]),
    Case("geojson_without_features", raw_file("none.geojson", json.dumps(feature_collection([]))),
         ["none.geojson", "holds no features"]),
    Case("zip_without_shp", zip_of({"readme.txt": b"hello", "data.csv": b"a,b"}),
         ["bundle.zip", "holds no .shp file", "readme.txt"]),
    Case("not_a_zip", raw_file("fake.zip", b"PK but not really"), ["fake.zip", "not a valid zip archive"]),
    Case("shp_without_dbf", shapefile_without_dbf, ["hydrants.shp", "no .dbf"]),
    Case("corrupt_gpkg", raw_file("broken.gpkg", b"SQLite format 3\x00" + b"\x07" * 300),
         ["broken.gpkg", "cannot be read"]),
    # .xlsx is a format since issue 11 item 5: the "unknown extension" case uses a spreadsheet format we do not read
    Case("wrong_extension", raw_file("sheet.ods", b"PK\x03\x04"), ["sheet.ods", "unsupported file type '.ods'"]),
    Case("xlsx_not_a_workbook", raw_file("sheet.xlsx", b"PK\x03\x04"),
         ["sheet.xlsx", "cannot be read as an Excel workbook (.xlsx)"]),
    Case("missing_file", lambda tmp: (tmp / "nowhere.csv", "fire_hydrants", {}), ["nowhere.csv", "no such file"]),
    Case("csv_without_coordinates", hydrants_csv(header=["east", "north", "kind", "status"]),
         ["hydrants.csv", "no coordinate columns", "the header has: east, north, kind, status"]),
    Case("ragged_row", hydrants_csv(change={1: [121.4, 31.2, "pillar"]}),
         ["hydrants.csv: row 3: columns: has 3 values; the header has 4"], rows=[3]),
    Case("non_numeric_lon", hydrants_csv(change={2: ["abc", 31.2, "pillar", "ok"]}),
         ["hydrants.csv: row 4: lon: 'abc' is not a number"], rows=[4]),
    Case("nan_coordinate", hydrants_csv(change={3: [121.4, "nan", "pillar", "ok"]}),
         ["hydrants.csv: row 5: lat: 'nan' is not a finite number"], rows=[5]),
    Case("empty_coordinate", hydrants_csv(change={3: ["", 31.2, "pillar", "ok"]}),
         ["hydrants.csv: row 5: lon: coordinate is empty"], rows=[5]),
    Case("lon_200", hydrants_csv(change={4: [200, 31.2, "pillar", "ok"]}),
         ["hydrants.csv: row 6: geometry: longitude 200.0 is out of range -180..180"], rows=[6]),
    Case("lat_minus_95", hydrants_csv(change={5: [121.4, -95, "pillar", "ok"]}),
         ["hydrants.csv: row 7: geometry: latitude -95.0 is out of range -90..90"], rows=[7]),
    Case("swapped_lat_lon", hydrants_csv(change={1: [31.2, 121.4, "pillar", "ok"]}),
         ["hydrants.csv: row 3: geometry: likely swapped lat/lon: (31.2, 121.4)"], rows=[3]),
    Case("projected_without_crs", hydrants_csv(change={0: [452000.5, 3452000.2, "pillar", "ok"]}),
         ["row 2: geometry: longitude 452000.5 is out of range", "projected metres? pass --crs"], rows=[2]),
    Case("far_outlier", hydrants_csv(change={8: [116.397, 39.909, "pillar", "ok"]}),
         ["hydrants.csv: row 10: geometry: far outside the rest of the data: (116.397, 39.909) is 1,0", " km "],
         rows=[10]),
    Case("outside_service_area", hydrants_csv(change={9: [120.155, 30.274, "pillar", "ok"]},
                                              service_area=SHANGHAI_BOX),
         ["hydrants.csv: row 11: geometry: outside the service area (120.8, 30.6, 122.2, 31.9)"], rows=[11]),
    Case("wrong_geometry_type", geojson("fire_hydrants", [({"status": "ok"}, point(*SHANGHAI[0])),
                                                          ({"status": "ok"}, LINE)]),
         ["input.geojson: row 2: geometry: LineString where the layer takes Point"], rows=[2]),
    Case("multipoint_with_two_parts", geojson("fire_hydrants", [({"status": "ok"}, MULTIPOINT)]),
         ["row 1: geometry: MultiPoint with 2 parts where the layer takes Point"], rows=[1]),
    Case("unrepairable_polygon", geojson("compounds", [({"name": "线状小区", "households": 10}, COLLINEAR)]),
         ["input.geojson: row 1: geometry: invalid geometry that cannot be repaired without changing its kind",
          "Self-intersection"], rows=[1]),
    Case("missing_geometry", geojson("fire_hydrants", [({"status": "ok"}, point(*SHANGHAI[0])),
                                                       ({"status": "ok"}, None)]),
         ["input.geojson: row 2: geometry: geometry is missing"], rows=[2]),
    Case("empty_geometry", raw_file("wkt.csv", 'wkt,status\n"POINT (121.4 31.2)",ok\nPOINT EMPTY,ok\n'),
         ["wkt.csv: row 3: geometry: geometry is empty"], rows=[3]),
    Case("bad_wkt", raw_file("wkt.csv", 'wkt,status\n"POINT (121.4 31.2",ok\n'),
         ["wkt.csv: row 2: wkt: not valid WKT: 'POINT (121.4 31.2'"], rows=[2]),
    Case("missing_required_value", hydrants_csv(change={0: [121.4, 31.2, "pillar", ""]}),
         ["hydrants.csv: row 2: status: required value is missing"], rows=[2]),
    Case("missing_required_column", hydrants_csv(header=["lon", "lat", "kind", "condition"]),
         ["hydrants.csv: status: required field has no column in the file", "condition"]),
    Case("value_not_allowed", hydrants_csv(change={1: [121.4, 31.2, "pillar", "blue"]}),
         ["hydrants.csv: row 3: status: 'blue' is not one of: 正常 working, 故障 faulty"], rows=[3]),
    Case("integer_abc", compounds_csv({"households": "abc"}),
         ["xiaoqu.csv: row 2: households: 'abc' is not an integer"], rows=[2]),
    Case("integer_fraction", compounds_csv({"households": "12.5"}), ["row 2: households: '12.5' is not an integer"],
         rows=[2]),
    Case("integer_above_max", compounds_csv({"households": 200000}),
         ["row 2: households: 200000 is above the maximum 100000"], rows=[2]),
    Case("number_below_min", hydrants_csv(change={0: [*bad, -1]}, extra=["flow_lps"]),
         ["row 2: flow_lps: -1 is below the minimum 0"], rows=[2]),
    Case("number_abc", hydrants_csv(change={0: [*bad, "lots"]}, extra=["flow_lps"]),
         ["row 2: flow_lps: 'lots' is not a number"], rows=[2]),
    Case("bad_date", hydrants_csv(change={2: [*bad, "2023-02-30"]}, extra=["last_inspected"]),
         ["row 4: last_inspected: '2023-02-30' is not a date (day is out of range for month)"], rows=[4]),
    Case("bad_boolean", raw_file("sites.csv", "lon,lat,ports,has_sprinkler\n121.4,31.2,8,maybe\n",
                                 layer="ebike_charging_sites"),
         ["sites.csv: row 2: has_sprinkler: 'maybe' is not a boolean"], rows=[2]),
    Case("duplicate_ids", hydrants_with_ids("dups.csv", [7, 8, 7]),
         ["dups.csv: row 2: id: duplicate id 7 (also on row 4)", "row 4: id: duplicate id 7 (also on row 2)"],
         rows=[2, 4]),
    Case("map_unknown_source_column", hydrants_csv(mapping={"colour": "status"}),
         ["--map colour=status: the file has no column 'colour'", "its columns: kind, status"]),
    Case("map_to_unknown_field", hydrants_csv(mapping={"status": "colour"}),
         ["--map status=colour: layer 'fire_hydrants' has no field 'colour'"]),
    Case("ambiguous_columns", raw_file("names.csv", "lon,lat,Name,名称,kind\n121.4,31.2,A,B,public\n",
                                       layer="parking_facilities"),
         ["names.csv", "columns 'Name', '名称' all match field 'name'", "--map Name=name"]),
    Case("unknown_layer", lambda tmp: hydrants_csv()(tmp)[:1] + ("hydrant", {}),
         ["unknown layer 'hydrant'", "fire_hydrants"]),
    Case("unknown_crs", hydrants_csv(crs="EPSG:999999"), ["hydrants.csv", "cannot read a CRS from 'EPSG:999999'"]),
    Case("unknown_mode", hydrants_csv(mode="merge"), ["unknown import mode 'merge'; use append or replace"]),
    Case("gpkg_without_matching_layer", two_layer_gpkg,
         ["two.gpkg", "none is named 'fire_hydrants'", "a_points (Point), b_points (Point)", "--source-layer"]),
    Case("gpkg_source_layer_missing", lambda tmp: two_layer_gpkg(tmp, source_layer="c_points"),
         ["two.gpkg", "has no layer 'c_points'"]),
    Case("attribute_table_without_geometry", attribute_only_gpkg, ["attrs.gpkg", "has no geometry column"]),
    Case("osm_layer_without_mapping", osm_xml, ["area.osm", "no OSM mapping for layer 'waterlogging_points'"]),
    Case("append_existing_id", hydrants_with_ids("again.csv", [2, 9]),
         ["again.csv", "1 feature id(s) already exist: 2"], prepare=preload_ids),
    # issue 11, session 3: Excel, streamed reading, keys, nested values and more quirks
    Case("xlsx_unknown_sheet", workbook("book.xlsx", [["lon", "lat", "status"]], sheet="Sheet9"),
         ["book.xlsx", "has no sheet 'Sheet9'; its sheets: 数据"]),
    Case("xlsx_empty_sheet", workbook("empty.xlsx", []), ["empty.xlsx", "sheet '数据' is empty"]),
    Case("xlsx_without_coordinates", workbook("names.xlsx", [["名称", "地址"], ["康乐", "漕宝路"]]),
         ["names.xlsx", "no coordinate columns", "the header has: 名称, 地址"]),
    Case("xlsx_bad_latitude", workbook("lat.xlsx", [["台账"], [], ["lon", "lat", "status"], [121.4, "north", "ok"]]),
         ["lat.xlsx: row 4: lat: 'north' is not a number"], rows=[4]),
    Case("xlsx_duplicate_header", workbook("dup.xlsx", [["lon", "lat", "LON", "status"]]),
         ["dup.xlsx", "the header names column 'LON' twice"]),
    Case("xlsx_values_beyond_header", workbook("wide.xlsx", [["lon", "lat", "status"], [121.4, 31.2, "ok", "备注"]]),
         ["wide.xlsx: row 2: columns: has values beyond the header's 3 columns (e.g. '备注')"], rows=[2]),
    Case("xlsx_null_island", workbook("zero.xlsx", [["lon", "lat", "status"], [0, 0, "ok"]]),
         ["zero.xlsx: row 2: geometry: Null Island"], rows=[2]),
    Case("old_xls", raw_file("old.xls", b"\xd0\xcf\x11\xe0"),
         ["old.xls", "old-style Excel file (.xls)", "save it as .xlsx"]),
    Case("sheet_for_a_csv", hydrants_csv(sheet="数据"), ["hydrants.csv", "--sheet is for Excel workbooks (.xlsx)"]),
    Case("too_many_errors_stop_reading",
         many_rows("garbage.csv", 400, {i: [f"X{i}", "east", "north", "pillar", "ok"] for i in range(400)},
                   max_errors=30, chunk_rows=20),
         ["garbage.csv", "30 errors by row 16, so reading stopped there"], rows=[2, 16]),
    Case("gbk_byte_after_many_chunks", gbk_after_many_lines,
         ["late_gbk.csv", "not UTF-8 text: byte 0xb5", "(line 302)", "--encoding gbk"]),
    Case("key_repeated_in_a_later_chunk", many_rows("later.csv", 120, {110: ["XHS-3", 121.41, 31.21, "pillar", "ok"]},
                                                    chunk_rows=25),
         ["later.csv: row 5: source_id: key 'XHS-3' also on row(s) 112 of this file"], rows=[5, 112]),
    Case("outlier_in_a_later_chunk", many_rows("far.csv", 120, {115: ["XHS-115", 116.40, 39.90, "pillar", "ok"]},
                                               chunk_rows=25),
         ["far.csv: row 117: geometry: far outside the rest of the data"], rows=[117]),
    Case("id_repeated_in_a_later_chunk",
         many_rows("ids.csv", 60, {50: [3, 121.41, 31.21, "pillar", "ok"]} | {i: [i + 1, 121.40 + i * 1e-4, 31.2,
                   "pillar", "ok"] for i in range(50)}, header=["id", *HEADER], chunk_rows=20),
         ["ids.csv: row 52: id: duplicate id 3 (also on row 4)"], rows=[52]),
    Case("upsert_without_a_key_column", hydrants_csv(mode="upsert"),
         ["--mode upsert matches rows by their source id, and the file has no id column; name one with --key"]),
    Case("upsert_row_without_key", many_rows("nokey.csv", 25, {4: ["", 121.41, 31.21, "pillar", "ok"]}, mode="sync"),
         ["nokey.csv: row 6: source_id: no source id in column '编号'; --mode sync matches rows by it"], rows=[6]),
    Case("key_option_names_no_column", hydrants_csv(key="编码"),
         ["hydrants.csv", "--key 编码: the file has no column '编码'; its columns: kind, status"]),
    Case("append_keys_already_stored", many_rows("again2.csv", 5, {}), ["again2.csv",
         "3 source id(s) of this file are already stored", "already in fire_hydrants: XHS-0, XHS-1, XHS-2",
         "--mode upsert"], prepare=preload_keys),
    Case("nested_object_in_coded_field", geojson("fire_hydrants", [({"status": {"a": 1}}, point(*SHANGHAI[0]))],
                                                 name="nested.geojson"),
         ["""nested.geojson: row 1: status: '{"a": 1}' is not one of"""], rows=[1]),
    Case("array_in_number_field", geojson("fire_hydrants", [({"status": "ok", "flow_lps": [1, 2]},
                                                             point(*SHANGHAI[0]))], name="array.geojson"),
         ["array.geojson: row 1: flow_lps: '[1, 2]' is not a number"], rows=[1]),
    Case("geometry_collection", geojson("fire_hydrants", [({"status": "ok"}, {"type": "GeometryCollection",
                                                           "geometries": [point(*SHANGHAI[0])]})], name="gc.geojson"),
         ["gc.geojson: row 1: geometry: GeometryCollection where the layer takes Point"], rows=[1]),
    Case("decimal_comma_with_two_commas", text_file("semi.csv", "lon;lat;status\n121,4,5;31,2;ok\n"),
         ["semi.csv: row 2: lon: '121,4,5' is not a number"], rows=[2]),
    Case("header_only_csv", text_file("header.csv", "lon,lat,status\n"), ["header.csv: holds no features"]),
    Case("whitespace_only_csv", text_file("blank.csv", "  \n\n  \n"), ["blank.csv: file holds no text"]),
    Case("osm_with_only_broken_areas", osm_only_broken_parking,
         ["broken.osm", "holds no OpenStreetMap features for layer 'parking_facilities'"]),
    Case("mixed_ids_in_a_later_chunk",
         many_rows("mixed.csv", 40, {i: [i + 1, 121.40 + i * 1e-4, 31.2, "pillar", "ok"] for i in range(40)}
                   | {30: ["X", 121.41, 31.21, "pillar", "ok"]}, header=["id", *HEADER], chunk_rows=20),
         ["mixed.csv: row 32: id: 'X' is not an integer"], rows=[32]),
    Case("xlsx_bad_wkt", workbook("wkt.xlsx", [["WKT", "status"], ["POINT (121.4", "ok"]]),
         ["wkt.xlsx: row 2: WKT: not valid WKT: 'POINT (121.4'"], rows=[2]),
    Case("set_unknown_field", hydrants_csv(constants={"colour": "red"}),
         ["hydrants.csv", "--set colour=...: layer 'fire_hydrants' has no field 'colour'"]),
    Case("set_value_not_allowed", hydrants_csv(header=["lon", "lat", "kind", "state"], constants={"status": "坏了"}),
         ["hydrants.csv: row 2: status: '坏了' is not one of: 正常 working"], rows=[2]),
    Case("skip_invalid_but_nothing_valid", hydrants_csv(change={i: ["x", 31.2, "pillar", "ok"] for i in range(25)},
                                                        skip_invalid=True),
         ["none of the 25 rows is valid", "hydrants.rejects.csv"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_fails_with_its_message_and_leaves_the_store_unchanged(case, tmp_path, store_path):
    if case.prepare:
        case.prepare(tmp_path, store_path)
    src, layer, kwargs = case.build(tmp_path)
    before, content = sha256(store_path), content_hash(store_path)
    with pytest.raises(ImportFailed) as info:
        run_import(store_path, src, layer, **kwargs)
    message = str(info.value)
    for part in case.expect:
        assert part in message, f"{part!r} not in:\n{message}"
    assert src.name in message
    assert {e.row for e in info.value.errors} >= set(case.rows)
    assert content_hash(store_path) == content
    assert sha256(store_path) == before, UNCHANGED_BYTES


UNCHANGED_BYTES = "the content is unchanged but not the bytes: see test_store_open_close_keeps_the_file_bytes"


def test_store_open_close_keeps_the_file_bytes(store_path):
    before = sha256(store_path)
    GeoPackageStore(store_path, CATALOG).close()
    assert sha256(store_path) == before, (
        "opening and closing GeoPackageStore rewrote the file (header change counter): "
        "store/gpkg_format.init_core sets PRAGMA application_id / user_version on every open")


def test_corpus_is_big_enough():
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)


def test_long_error_lists_are_capped(tmp_path, store_path):
    rows = [["abc", 31.2, "pillar", "ok"]] * 120 + hydrant_rows(5)
    src = write_csv(tmp_path / "many.csv", HEADER, rows)
    with pytest.raises(ImportFailed) as info:
        run_import(store_path, src, "fire_hydrants")
    assert len(info.value.errors) == 120
    assert "... and 70 more" in str(info.value)
    assert "--skip-invalid to import the 5 good rows" in str(info.value)


def test_repairable_bowtie_imports_with_a_warning(tmp_path, store_path):
    bowtie = {"type": "Polygon", "coordinates": [[[121.40, 31.20], [121.41, 31.21], [121.41, 31.20],
                                                  [121.40, 31.21], [121.40, 31.20]]]}
    doc = feature_collection([({"name": "蝴蝶小区", "households": 80}, bowtie)])
    src = write_json(tmp_path / "bowtie.geojson", doc)
    report = run_import(store_path, src, "compounds")
    assert report.imported == 1
    assert any("row 1: invalid geometry repaired (Self-intersection" in w for w in report.warnings)
    assert "MultiPolygon" in report.describe()


def test_cli_exit_code_and_stderr(tmp_path, store_path, monkeypatch):
    monkeypatch.setenv("GEO_SERVICE_GPKG", str(store_path))
    src, _, _ = hydrants_csv(change={2: ["abc", 31.2, "pillar", "ok"]})(tmp_path)
    before = sha256(store_path)
    result = CliRunner().invoke(app, ["import", str(src), "--layer", "fire_hydrants"])
    assert result.exit_code == 2
    assert "row 4: lon: 'abc' is not a number" in result.stderr
    assert sha256(store_path) == before, UNCHANGED_BYTES
    ok = CliRunner().invoke(app, ["import", str(src), "--layer", "fire_hydrants", "--skip-invalid"])
    assert ok.exit_code == 0, ok.output
    assert "imported 24 of 25 rows" in ok.stdout
