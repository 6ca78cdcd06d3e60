"""Excel workbooks (issue 11 item 5): a sheet imports like a CSV, as district offices send them."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
import shapely

from geo_service.ingest.importer import ImportFailed

from .test_ingest_common import CATALOG, content_hash, layer_frame, run_import, store_path_fixture  # noqa: F401


def workbook(path, sheets: dict[str, list[list]], merge_title: bool = False):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if merge_title:
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[-1]))
    book.save(path)
    return path


HYDRANTS = [["编号", "经度", "纬度", "类型", "状态", "最近检查日期"],
            ["XHS-001", 121.4737, 31.2304, "地上式", "正常", dt.date(2024, 3, 1)],
            ["XHS-002", 121.5000, 31.2400, "地下式", "故障", dt.datetime(2024, 4, 2)],
            ["XHS-003", 121.4400, 31.1900, "墙壁式", "正常", None]]


def test_merged_title_and_blank_row_above_chinese_headers(tmp_path, store_path):
    rows = [["徐汇区室外消火栓台账（2024年第一季度）"], [], *HYDRANTS]
    src = workbook(tmp_path / "台账.xlsx", {"消火栓": rows}, merge_title=True)
    report = run_import(store_path, src, "fire_hydrants")
    assert report.imported == 3
    assert "sheet '消火栓'" in report.source and "columns 经度/纬度" in report.source
    assert any("row(s) above the header (row 3) were skipped" in w for w in report.warnings)
    frame = layer_frame(store_path, "fire_hydrants").sort_values("source_id")
    assert frame["source_id"].tolist() == ["XHS-001", "XHS-002", "XHS-003"]
    assert frame["status"].tolist() == ["working", "faulty", "working"]
    assert frame["kind"].tolist() == ["above_ground", "underground", "wall"]
    assert frame["last_inspected"].tolist()[:2] == ["2024-03-01", "2024-04-02"]
    assert (frame.geometry.iloc[0].x, frame.geometry.iloc[0].y) == (121.4737, 31.2304)


def test_sheet_option_picks_the_second_sheet(tmp_path, store_path):
    src = workbook(tmp_path / "book.xlsx", {"说明": [["本表说明"]], "数据": HYDRANTS})
    report = run_import(store_path, src, "fire_hydrants", sheet="数据")
    assert report.imported == 3 and "sheet '数据'" in report.source


def test_first_sheet_is_the_default(tmp_path, store_path):
    src = workbook(tmp_path / "book.xlsx", {"数据": HYDRANTS, "其他": [["x"]]})
    assert run_import(store_path, src, "fire_hydrants").imported == 3


def test_unknown_sheet_is_a_clear_error_listing_the_sheets(tmp_path, store_path):
    src = workbook(tmp_path / "book.xlsx", {"数据": HYDRANTS, "汇总": [["x"]]})
    before = content_hash(store_path)
    with pytest.raises(ImportFailed, match=r"has no sheet 'Sheet1'; its sheets: 数据, 汇总"):
        run_import(store_path, src, "fire_hydrants", sheet="Sheet1")
    assert content_hash(store_path) == before


def test_numbers_stored_as_text_and_decimal_commas(tmp_path, store_path):
    rows = [["编号", "lon", "lat", "status"], ["a", "121.4737", "31.2304", "working"],
            ["b", "121,5", "31,24", "working"], ["c", " 121.44 ", "31.19", "working"]]
    src = workbook(tmp_path / "text.xlsx", {"s": rows})
    run_import(store_path, src, "fire_hydrants")
    frame = layer_frame(store_path, "fire_hydrants").sort_values("source_id")
    assert [(g.x, g.y) for g in frame.geometry] == [(121.4737, 31.2304), (121.5, 31.24), (121.44, 31.19)]


def test_wkt_column_for_compounds(tmp_path, store_path):
    square = shapely.Point(121.47, 31.23).buffer(0.001, quad_segs=1)
    rows = [["小区名称", "户数", "WKT"], ["康乐小区", 520, square.wkt]]
    report = run_import(store_path, workbook(tmp_path / "xq.xlsx", {"小区": rows}), "compounds")
    assert report.imported == 1
    frame = layer_frame(store_path, "compounds")
    assert frame["name"].tolist() == ["康乐小区"] and frame["households"].tolist() == [520]


def test_bad_cell_names_its_excel_row(tmp_path, store_path):
    rows = [["台账"], [], ["lon", "lat", "status"], [121.47, 31.23, "working"], [121.48, "north", "working"]]
    before = content_hash(store_path)
    with pytest.raises(ImportFailed, match=r"row 5: lat: 'north' is not a number"):
        run_import(store_path, workbook(tmp_path / "bad.xlsx", {"s": rows}), "fire_hydrants")
    assert content_hash(store_path) == before


def test_a_sheet_without_coordinate_columns_says_what_it_has(tmp_path, store_path):
    rows = [["名称", "地址"], ["康乐小区", "漕宝路"]]
    with pytest.raises(ImportFailed, match=r"no coordinate columns.*the header has: 名称, 地址"):
        run_import(store_path, workbook(tmp_path / "none.xlsx", {"s": rows}), "fire_hydrants")
