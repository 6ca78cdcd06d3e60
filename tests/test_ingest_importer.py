"""Importer behaviour: --skip-invalid and its rejects file, column matching, replace mode, the report."""

from __future__ import annotations

import pandas as pd

from geo_service.ingest.importer import field_lookup

from .test_ingest_common import (
    CATALOG,
    HEADER_HYDRANTS,
    feature_collection,
    hydrant_rows,
    layer_frame,
    point,
    run_import,
    store_path_fixture,  # noqa: F401 - the store_path fixture
    write_csv,
    write_json,
)


def test_skip_invalid_writes_rejects_and_imports_the_rest(tmp_path, store_path):
    rows = hydrant_rows(25)
    rows[3] = ["abc", 31.2, "pillar", "ok"]
    rows[7] = [121.41, 31.19, "pillar", "blue"]
    rows[9] = [31.2, 121.4, "pillar", "ok"]
    src = write_csv(tmp_path / "mixed.csv", HEADER_HYDRANTS, rows)
    report = run_import(store_path, src, "fire_hydrants", skip_invalid=True)
    assert (report.imported, report.rejected, report.rows_read) == (22, 3, 25)
    assert report.rejects_file == tmp_path / "mixed.rejects.csv"
    assert len(layer_frame(store_path, "fire_hydrants")) == 22
    rejects = pd.read_csv(report.rejects_file, dtype=str, encoding="utf-8-sig")
    assert list(rejects.columns) == ["row", *HEADER_HYDRANTS, "error"]
    assert rejects["row"].tolist() == ["5", "9", "11"]
    assert rejects["lon"].tolist()[0] == "abc"  # the source values, as they were
    assert rejects["error"].tolist() == ["lon: 'abc' is not a number",
                                         "status: 'blue' is not one of: 正常 working, 故障 faulty, "
                                         "维修中 under_repair, 停用 out_of_service, 未知 unknown",
                                         "geometry: likely swapped lat/lon: (31.2, 121.4) has the latitude first"]
    assert "rejected: 3 rows" in report.describe()
    # fixing the rows and importing the rejects file with the same command works
    fixed = rejects.drop(columns=["row", "error"])
    fixed.loc[0, "lon"], fixed.loc[1, "status"] = "121.45", "ok"
    fixed.loc[2, ["lon", "lat"]] = ["121.4", "31.2"]
    fixed.to_csv(tmp_path / "fixed.csv", index=False)
    assert run_import(store_path, tmp_path / "fixed.csv", "fire_hydrants").imported == 3


def test_skip_invalid_rejects_file_has_wkt_for_gis_sources(tmp_path, store_path):
    line = {"type": "LineString", "coordinates": [[121.4, 31.2], [121.5, 31.3]]}
    features = [({"status": "ok"}, point(121.4, 31.2)), ({"status": "ok"}, line)]
    src = write_json(tmp_path / "mixed.geojson", feature_collection(features))
    report = run_import(store_path, src, "fire_hydrants", skip_invalid=True)
    assert report.imported == 1
    rejects = pd.read_csv(report.rejects_file, encoding="utf-8-sig")
    assert rejects.loc[0, "wkt"] == "LINESTRING (121.4 31.2, 121.5 31.3)"
    assert rejects.loc[0, "error"] == "geometry: LineString where the layer takes Point"


def test_replace_mode_swaps_the_layer(tmp_path, store_path):
    first = write_csv(tmp_path / "a.csv", HEADER_HYDRANTS, hydrant_rows(25))
    run_import(store_path, first, "fire_hydrants")
    second = write_csv(tmp_path / "b.csv", HEADER_HYDRANTS, hydrant_rows(21))
    report = run_import(store_path, second, "fire_hydrants", mode="replace")
    assert (report.imported, report.deleted) == (21, 25)
    assert len(layer_frame(store_path, "fire_hydrants")) == 21
    assert "25 old rows replaced" in report.describe()


def test_unmatched_columns_are_reported_and_map_renames(tmp_path, store_path):
    rows = [[*r, "Zone A", "hello"] for r in hydrant_rows(25)]
    src = write_csv(tmp_path / "extra.csv", ["lon", "lat", "kind", "condition", "area", "note"], rows)
    report = run_import(store_path, src, "fire_hydrants", mapping={"condition": "status"})
    assert report.columns == {"kind": "kind", "condition": "status"}
    assert report.ignored_columns == ["area", "note"]
    assert any("not imported" in w and "--map" in w for w in report.warnings)
    assert "not imported: area, note" in report.describe()


def test_non_integer_id_column_is_dropped_with_a_warning(tmp_path, store_path):
    rows = [[*r, f"node/{i}"] for i, r in enumerate(hydrant_rows(25))]
    src = write_csv(tmp_path / "osm_ids.csv", [*HEADER_HYDRANTS, "id"], rows)
    report = run_import(store_path, src, "fire_hydrants")
    assert report.imported == 25
    assert any("id column holds no positive integers" in w for w in report.warnings)


def test_field_titles_match_columns():
    lookup = field_lookup(CATALOG.get("compounds"))
    assert lookup["小区名称"] == "name" and lookup["户数"] == "households" and lookup["build year"] == "build_year"


def test_describe_mentions_crs_conversion(tmp_path, store_path):
    src = write_csv(tmp_path / "gcj.csv", HEADER_HYDRANTS, hydrant_rows(25))
    report = run_import(store_path, src, "fire_hydrants", crs="gcj02")
    assert "converted: GCJ-02 -> WGS84" in report.describe()
