"""Every input format imports into a real GeoPackage store with the right counts, values and positions."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import pytest
import shapely

from geo_service.crs import wgs84_to_bd09, wgs84_to_gcj02

from .test_ingest_common import (
    SHANGHAI,
    feature_collection,
    hydrant_rows,
    layer_frame,
    point,
    run_import,
    store_path_fixture,  # noqa: F401 - the store_path fixture
    write_csv,
    write_json,
)

CGCS2000_GK = "EPSG:4549"  # CGCS2000 3-degree Gauss-Kruger, CM 120E


def _metres_apart(lon_a, lat_a, lon_b, lat_b) -> np.ndarray:
    _, _, dist = pyproj.Geod(ellps="WGS84").inv(lon_a, lat_a, lon_b, lat_b)
    return np.asarray(dist)


def test_geojson_with_titles_and_aliases(tmp_path, store_path):
    features = [({"类型": "pillar", "状态": "ok", "最近检查日期": "2024/5/1", "flow_lps": "12.5"}, point(*SHANGHAI[0])),
                ({"类型": "地下", "状态": "损坏", "最近检查日期": None, "flow_lps": 8}, point(*SHANGHAI[1])),
                ({"类型": "Wall", "状态": " Working ", "最近检查日期": "20230102"}, point(*SHANGHAI[2]))]
    src = write_json(tmp_path / "hydrants.geojson", feature_collection(features))
    report = run_import(store_path, src, "fire_hydrants")
    assert report.imported == 3 and report.rejected == 0
    assert report.columns == {"类型": "kind", "状态": "status", "最近检查日期": "last_inspected",
                              "flow_lps": "flow_lps"}
    got = layer_frame(store_path, "fire_hydrants").sort_index()
    assert got["kind"].tolist() == ["above_ground", "underground", "wall"]
    assert got["status"].tolist() == ["working", "faulty", "working"]
    assert got["last_inspected"].tolist()[0] == "2024-05-01"
    assert got["last_inspected"].tolist()[2] == "2023-01-02"
    assert got["flow_lps"].tolist()[:2] == [12.5, 8.0]
    assert got.geometry.iloc[0].equals(shapely.Point(SHANGHAI[0]))


def test_geojson_feature_ids_and_legacy_crs_member(tmp_path, store_path):
    pts = gpd.GeoSeries([shapely.Point(p) for p in SHANGHAI], crs="EPSG:4326").to_crs(CGCS2000_GK)
    doc = {"type": "FeatureCollection",
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}},
           "features": [{"type": "Feature", "id": 10 + i, "properties": {"status": "ok"},
                         "geometry": point(p.x, p.y)} for i, p in enumerate(pts)]}
    report = run_import(store_path, write_json(tmp_path / "gk.geojson", doc), "fire_hydrants")
    assert "EPSG:4549" in report.crs_conversion
    got = layer_frame(store_path, "fire_hydrants").sort_index()
    assert got.index.tolist() == [10, 11, 12, 13]
    lon, lat = np.array(SHANGHAI).T
    assert _metres_apart(got.geometry.x, got.geometry.y, lon, lat).max() < 0.01


def test_geopackage_multi_layer_by_name_and_source_layer(tmp_path, store_path):
    src = tmp_path / "many.gpkg"
    hydrants = gpd.GeoDataFrame({"status": ["ok", "broken"], "kind": ["pillar", "wall"]},
                                geometry=[shapely.Point(p) for p in SHANGHAI[:2]], crs="EPSG:4326")
    lots = gpd.GeoDataFrame({"名称": ["A lot", "B lot", "C lot"], "kind": ["mall", "public", "公共"],
                             "capacity": [120, 40, 60]},
                            geometry=[shapely.Point(p).buffer(0.0005) for p in SHANGHAI[:3]], crs="EPSG:4326")
    pyogrio.write_dataframe(hydrants, src, layer="fire_hydrants")
    pyogrio.write_dataframe(lots, src, layer="lots_2024")
    assert run_import(store_path, src, "fire_hydrants").imported == 2
    report = run_import(store_path, src, "parking_facilities", source_layer="lots_2024")
    assert report.imported == 3
    got = layer_frame(store_path, "parking_facilities").sort_index()
    assert got["name"].tolist() == ["A lot", "B lot", "C lot"]
    assert got["kind"].tolist() == ["commercial", "public", "public"]
    assert got["capacity"].tolist() == [120, 40, 60]
    assert set(got.geom_type) == {"Polygon"}
    # the GeoPackage FIDs (1..n, positive and unique) are kept as ids
    assert layer_frame(store_path, "fire_hydrants").index.tolist() == [1, 2]


def _gk_compounds() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    wgs = gpd.GeoDataFrame({"name": ["康乐小区", "梅陇三村"], "households": [520, 1310], "build_year": [1988, 1995]},
                           geometry=[shapely.Point(p).buffer(0.002, quad_segs=2) for p in SHANGHAI[:2]],
                           crs="EPSG:4326")
    return wgs, wgs.to_crs(CGCS2000_GK)


def _check_gk(store_path, gk: gpd.GeoDataFrame) -> None:
    got = layer_frame(store_path, "compounds").sort_values("name")
    expect = gk.sort_values("name")
    assert got["name"].tolist() == expect["name"].tolist()
    assert got["households"].tolist() == expect["households"].tolist()
    back = got.to_crs(CGCS2000_GK).geometry.values
    a = shapely.get_coordinates(back)
    b = shapely.get_coordinates(expect.geometry.values)
    assert len(a) == len(b)
    assert np.hypot(*(a - b).T).max() < 0.01  # metres


def test_shapefile_in_cgcs2000_gauss_kruger(tmp_path, store_path):
    _, gk = _gk_compounds()
    shp = tmp_path / "compounds_gk.shp"
    pyogrio.write_dataframe(gk, shp, encoding="UTF-8")
    assert shp.with_suffix(".prj").exists()
    report = run_import(store_path, shp, "compounds")
    assert report.imported == 2 and "EPSG:4549" in report.crs_conversion
    _check_gk(store_path, gk)
    assert set(layer_frame(store_path, "compounds").geom_type) == {"Polygon"}


def test_zipped_shapefile(tmp_path, store_path):
    _, gk = _gk_compounds()
    folder = tmp_path / "parts"
    folder.mkdir()
    pyogrio.write_dataframe(gk, folder / "xiaoqu.shp", encoding="UTF-8")
    archive = tmp_path / "xiaoqu.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in folder.iterdir():
            z.write(f, f"data/{f.name}")
    report = run_import(store_path, archive, "compounds")
    assert report.imported == 2
    _check_gk(store_path, gk)


def test_shapefile_without_prj_is_wgs84_with_warning(tmp_path, store_path):
    wgs, _ = _gk_compounds()
    shp = tmp_path / "noprj.shp"
    pyogrio.write_dataframe(wgs, shp, encoding="UTF-8")
    shp.with_suffix(".prj").unlink()
    report = run_import(store_path, shp, "compounds")
    assert report.imported == 2
    assert any("no .prj" in w for w in report.warnings)


def test_shapefile_crs_override(tmp_path, store_path):
    """--crs wins over the file's own CRS (here a wrong .prj claiming EPSG:4326)."""
    _, gk = _gk_compounds()
    shp = tmp_path / "mislabelled.shp"
    pyogrio.write_dataframe(gk.set_crs("EPSG:4326", allow_override=True), shp, encoding="UTF-8")
    report = run_import(store_path, shp, "compounds", crs="4549")
    assert any("overrides the file's own CRS" in w for w in report.warnings)
    _check_gk(store_path, gk)


def test_csv_lon_lat(tmp_path, store_path):
    src = write_csv(tmp_path / "h.csv", ["LON", "Lat", "kind", "status", "id"],
                    [[*row, i + 100] for i, row in enumerate(hydrant_rows(25))])
    report = run_import(store_path, src, "fire_hydrants")
    assert report.imported == 25 and "columns LON/Lat" in report.source
    got = layer_frame(store_path, "fire_hydrants")
    assert sorted(got.index) == list(range(100, 125))
    assert set(got["status"]) == {"working"} and set(got["kind"]) == {"above_ground"}


def test_csv_x_y_projected_with_crs(tmp_path, store_path):
    lon, lat = np.array(SHANGHAI).T
    x, y = pyproj.Transformer.from_crs("EPSG:4326", CGCS2000_GK, always_xy=True).transform(lon, lat)
    src = write_csv(tmp_path / "gk.csv", ["x", "y", "status"],
                    [[f"{a:.4f}", f"{b:.4f}", "working"] for a, b in zip(x, y, strict=True)])
    run_import(store_path, src, "fire_hydrants", crs="EPSG:4549")
    got = layer_frame(store_path, "fire_hydrants").sort_index()
    assert _metres_apart(got.geometry.x, got.geometry.y, lon, lat).max() < 0.01


def test_gbk_csv_with_encoding(tmp_path, store_path):
    rows = [[121.47, 31.23, "百联停车场", "商场", 300], [121.48, 31.24, "康乐小区车库", "小区", 80]]
    src = write_csv(tmp_path / "停车_gbk.csv", ["经度", "纬度", "名称", "类型", "泊位数"], rows, encoding="gbk")
    report = run_import(store_path, src, "parking_facilities", encoding="gbk")
    assert report.imported == 2 and "经度/纬度" in report.source
    got = layer_frame(store_path, "parking_facilities").sort_values("capacity")
    assert got["name"].tolist() == ["康乐小区车库", "百联停车场"]
    assert got["kind"].tolist() == ["compound", "commercial"]


def test_gbk_tab_separated_wkt_polygons(tmp_path, store_path):
    rows = [("康乐小区", 520, "售后房"), ("梅陇三村", 1310, "商品房")]
    wkt = [shapely.Point(p).buffer(0.001, quad_segs=2).wkt for p in SHANGHAI[:2]]
    src = tmp_path / "xiaoqu.tsv"
    src.write_bytes(("wkt\t小区名称\t户数\t房屋类型\n" + "\n".join(
        f"{w}\t{n}\t{h}\t{t}" for w, (n, h, t) in zip(wkt, rows, strict=True)) + "\n").encode("gbk"))
    assert run_import(store_path, src, "compounds", encoding="gbk").imported == 2
    got = layer_frame(store_path, "compounds").sort_values("households")
    assert got["name"].tolist() == ["康乐小区", "梅陇三村"]
    assert got["housing_type"].tolist() == ["public_sold", "commodity"]


def test_utf8_bom_csv(tmp_path, store_path):
    src = tmp_path / "bom.csv"
    src.write_bytes("\ufefflongitude,latitude,状态\n121.47,31.23,完好\n".encode())
    assert run_import(store_path, src, "fire_hydrants").imported == 1
    assert layer_frame(store_path, "fire_hydrants")["status"].tolist() == ["working"]


# ---- GCJ-02 / BD-09 ------------------------------------------------------------------------------

REFERENCE_GCJ = ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597))  # WGS, GCJ (lon, lat)
REFERENCE_BD = ((120.00877901149691, 29.196131605295484), (120.019809, 29.199786))  # WGS, BD (STANDARDS.md)
# The STANDARDS BD vector comes from eviltransform, whose BD code has a pi-for-x_pi bug; the correct
# transform lands ~10.5 m from it (see tests/test_crs.py::test_eviltransform_bd_vector_is_an_artifact...).
BD_VECTOR_TOLERANCE_M = 11.0


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_shifted_csv_lands_on_wgs84(tmp_path, store_path, system):
    wgs = np.array(SHANGHAI[:3] + [REFERENCE_GCJ[0], REFERENCE_BD[0]])
    forward = wgs84_to_gcj02 if system == "gcj02" else wgs84_to_bd09
    sx, sy = forward(wgs[:, 0], wgs[:, 1])
    shifted = np.c_[sx, sy]
    assert _metres_apart(sx, sy, wgs[:, 0], wgs[:, 1]).min() > 100  # really shifted
    # the published vector (not our forward function) for the matching reference point
    tolerance = np.full(len(wgs), 1.0)
    if system == "gcj02":
        shifted[3] = REFERENCE_GCJ[1]
    else:
        shifted[4] = REFERENCE_BD[1]
        tolerance[4] = BD_VECTOR_TOLERANCE_M
    src = write_csv(tmp_path / f"{system}.csv", ["lng", "lat", "status", "id"],
                    [[repr(float(a)), repr(float(b)), "ok", i + 1] for i, (a, b) in enumerate(shifted)])
    report = run_import(store_path, src, "fire_hydrants", crs=system)
    assert report.crs_conversion.startswith("GCJ-02" if system == "gcj02" else "BD-09")
    got = layer_frame(store_path, "fire_hydrants").sort_index()
    apart = _metres_apart(got.geometry.x.to_numpy(), got.geometry.y.to_numpy(), wgs[:, 0], wgs[:, 1])
    assert (apart < tolerance).all(), apart


# ---- OpenStreetMap -------------------------------------------------------------------------------

OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="compound-gis tests">
 <node id="1" version="1" lat="31.2000" lon="121.4000"/>
 <node id="2" version="1" lat="31.2000" lon="121.4100"/>
 <node id="3" version="1" lat="31.2080" lon="121.4100"/>
 <node id="4" version="1" lat="31.2080" lon="121.4000"/>
 <node id="5" version="1" lat="31.2100" lon="121.4200"/>
 <node id="6" version="1" lat="31.2100" lon="121.4230"/>
 <node id="7" version="1" lat="31.2120" lon="121.4230"/>
 <node id="8" version="1" lat="31.2120" lon="121.4200"/>
 <node id="20" version="1" lat="31.2050" lon="121.4050">
  <tag k="emergency" v="fire_hydrant"/><tag k="fire_hydrant:type" v="pillar"/>
  <tag k="check_date" v="2024-03-05"/><tag k="description" v="a &quot;quoted&quot;, =&gt; value\\ here"/>
 </node>
 <node id="21" version="1" lat="31.2060" lon="121.4060">
  <tag k="emergency" v="fire_hydrant"/><tag k="fire_hydrant:type" v="underground"/>
  <tag k="operational_status" v="broken"/>
 </node>
 <node id="22" version="1" lat="31.2030" lon="121.4030">
  <tag k="amenity" v="parking"/><tag k="access" v="private"/><tag k="capacity" v="40"/>
 </node>
 <node id="23" version="1" lat="31.2040" lon="121.4070">
  <tag k="amenity" v="charging_station"/><tag k="bicycle" v="yes"/><tag k="capacity" v="12"/>
  <tag k="name" v="小区充电棚"/><tag k="covered" v="yes"/>
 </node>
 <node id="24" version="1" lat="31.2041" lon="121.4071">
  <tag k="amenity" v="charging_station"/><tag k="motorcar" v="yes"/><tag k="capacity" v="4"/>
 </node>
 <way id="100" version="1">
  <nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
  <tag k="landuse" v="residential"/><tag k="name" v="康乐小区"/><tag k="addr:households" v="520"/>
 </way>
 <way id="101" version="1">
  <nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="8"/><nd ref="5"/>
  <tag k="amenity" v="parking"/><tag k="name" v="百货停车场"/><tag k="access" v="customers"/>
  <tag k="capacity" v="300"/><tag k="fee" v="yes"/><tag k="opening_hours" v="24/7"/>
 </way>
</osm>
"""


@pytest.fixture
def osm_pbf(tmp_path) -> Path:
    osmium = pytest.importorskip("osmium", reason="pyosmium builds the test .osm.pbf (pip install osmium)")
    xml = tmp_path / "city.osm"
    xml.write_text(OSM_XML, encoding="utf-8")
    pbf = tmp_path / "city.osm.pbf"
    writer = osmium.SimpleWriter(str(pbf))
    try:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    finally:
        writer.close()
    return pbf


def test_osm_pbf_every_mapped_layer(osm_pbf, store_path):
    counts = {layer: run_import(store_path, osm_pbf, layer).imported
              for layer in ("compounds", "fire_hydrants", "parking_facilities", "ebike_charging_sites")}
    assert counts == {"compounds": 1, "fire_hydrants": 2, "parking_facilities": 2, "ebike_charging_sites": 1}
    compounds = layer_frame(store_path, "compounds")
    assert compounds["name"].tolist() == ["康乐小区"] and compounds["households"].tolist() == [520]
    hydrants = layer_frame(store_path, "fire_hydrants").sort_values("kind")
    assert hydrants["kind"].tolist() == ["above_ground", "underground"]
    assert hydrants["status"].tolist() == ["working", "faulty"]
    assert hydrants["last_inspected"].tolist()[0] == "2024-03-05"
    parking = layer_frame(store_path, "parking_facilities").sort_values("capacity")
    assert parking["kind"].tolist() == ["compound", "commercial"]  # private inside the residential area
    assert parking["capacity"].tolist() == [40, 300]
    assert parking.geom_type.tolist() == ["Point", "MultiPolygon"]
    assert parking["open_hours"].tolist()[1] == "24/7"
    sites = layer_frame(store_path, "ebike_charging_sites")
    assert sites["ports"].tolist() == [12] and sites["covered"].tolist() == [True]


def test_osm_xml_reads_too(tmp_path, store_path):
    xml = tmp_path / "small.osm"
    xml.write_text(OSM_XML, encoding="utf-8")
    report = run_import(store_path, xml, "ebike_charging_sites")
    assert report.imported == 1
    assert any("not for e-bikes" in w for w in report.warnings)


def _gbk_shapefile(tmp_path) -> Path:
    lots = gpd.GeoDataFrame({"名称": ["康乐小区车库", "百联停车场"], "类型": ["小区", "商场"], "泊位数": [80, 300]},
                            geometry=[shapely.Point(p) for p in SHANGHAI[:2]], crs="EPSG:4326")
    shp = tmp_path / "停车.shp"
    pyogrio.write_dataframe(lots, shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink()  # as from older Chinese ArcGIS installs
    return shp


@pytest.mark.parametrize("encoding", ["gbk", None])
def test_gbk_shapefile_without_cpg(tmp_path, store_path, encoding):
    report = run_import(store_path, _gbk_shapefile(tmp_path), "parking_facilities", encoding=encoding)
    assert report.imported == 2
    assert any("no .cpg" in w and "read as GBK" in w for w in report.warnings) == (encoding is None)
    got = layer_frame(store_path, "parking_facilities").sort_values("capacity")
    assert got["name"].tolist() == ["康乐小区车库", "百联停车场"]
    assert got["kind"].tolist() == ["compound", "commercial"]


def test_shapefile_cpg_wins_over_encoding(tmp_path, store_path):
    wgs, _ = _gk_compounds()
    shp = tmp_path / "utf8.shp"
    pyogrio.write_dataframe(wgs, shp, encoding="UTF-8")
    report = run_import(store_path, shp, "compounds", encoding="gbk")
    assert any("the .cpg says the text is UTF-8" in w for w in report.warnings)
    assert sorted(layer_frame(store_path, "compounds")["name"]) == ["康乐小区", "梅陇三村"]
