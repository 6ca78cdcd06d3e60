"""The embedded store's file is an ordinary GeoPackage that GDAL (and so QGIS) reads."""

from __future__ import annotations

import sqlite3
import textwrap

import pyogrio
import shapely
from shapely.geometry import Point, box

from geo_service.catalog import load_catalog
from geo_service.store.geopackage import GeoPackageStore
from tests.test_store_contract import compounds, hydrants


def test_gdal_reads_layers_fields_and_spatial_index(tmp_path, catalog):
    path = tmp_path / "s.gpkg"
    with GeoPackageStore(path, catalog) as s:
        s.import_frame("fire_hydrants", hydrants(500), mode="replace")
        s.import_frame("compounds", compounds(), mode="replace")
        s.create("fire_hydrants", {"status": "faulty"}, Point(121.45, 31.15))
    layers = dict(pyogrio.list_layers(path))
    # + the version and audit tables, registered as GeoPackage attribute tables
    assert set(layers) == set(catalog.ids()) | {"gcs_layer_state", "gcs_audit"}
    assert layers["fire_hydrants"] == "Point" and layers["compounds"] in ("Unknown", "Geometry")
    info = pyogrio.read_info(path, layer="fire_hydrants")
    assert info["features"] == 501 and info["crs"] == "EPSG:4326"
    assert list(info["fields"]) == ["kind", "status", "last_inspected", "flow_lps", "source_id"]
    assert info["capabilities"]["fast_spatial_filter"]  # GDAL sees the R-tree
    bb = (121.42, 31.12, 121.46, 31.16)
    via_gdal = pyogrio.read_dataframe(path, layer="fire_hydrants", bbox=bb, fid_as_index=True)
    src = hydrants(500)
    want = set(src.id[shapely.intersects(src.geometry.values, box(*bb))].astype(int)) | {501}
    assert set(via_gdal.index) == want
    assert (via_gdal.loc[501, "status"]) == "faulty"
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    assert con.execute("SELECT count(*) FROM rtree_fire_hydrants_geom").fetchone()[0] == 501
    titles = dict(con.execute("SELECT column_name, name FROM gpkg_data_columns WHERE table_name='fire_hydrants'"))
    assert titles["status"] == "状态"


def test_rows_written_by_gdal_are_picked_up(tmp_path, catalog):
    """QGIS/GDAL editing the file is another writer; our version triggers see it."""
    path = tmp_path / "s.gpkg"
    s = GeoPackageStore(path, catalog)
    s.import_frame("fire_hydrants", hydrants(20), mode="replace")
    v = s.version("fire_hydrants")
    extra = hydrants(3, seed=7).drop(columns="id")
    pyogrio.write_dataframe(extra, path, layer="fire_hydrants", append=True)
    assert s.version("fire_hydrants") != v
    assert s.count("fire_hydrants") == 23
    s.close()


def test_new_field_in_yaml_adds_a_column(tmp_path, layers_copy):
    path = tmp_path / "s.gpkg"
    GeoPackageStore(path, load_catalog(layers_copy)).close()
    spec = layers_copy / "fire_hydrants.yaml"
    spec.write_text(spec.read_text(encoding="utf-8") + textwrap.dedent("""
        """), encoding="utf-8")
    text = spec.read_text(encoding="utf-8").replace(
        "  flow_lps:", "  pressure_mpa: {type: number, min: 0, max: 2, unit: MPa}\n  flow_lps:")
    spec.write_text(text, encoding="utf-8")
    with GeoPackageStore(path, load_catalog(layers_copy)) as s:
        fid = s.create("fire_hydrants", {"status": "working", "pressure_mpa": 0.3}, Point(121.4, 31.1))
        assert s.get("fire_hydrants", fid)["properties"]["pressure_mpa"] == 0.3
