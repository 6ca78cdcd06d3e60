"""Reports for people (issue 11 item 9): ignored columns with their non-empty counts, and a rejects
file a spreadsheet cannot run."""

from __future__ import annotations

import pandas as pd
import pytest

from geo_service.ingest.importer import neutralise_cell

from .test_ingest_common import run_import, store_path_fixture, write_csv  # noqa: F401


def test_ignored_columns_are_listed_with_their_non_empty_counts(tmp_path, store_path):
    rows = [[121.40 + i / 1000, 31.2, "ok", "旧" if i < 5 else "", ""] for i in range(8)]
    src = write_csv(tmp_path / "h.csv", ["lon", "lat", "status", "备注", "空列"], rows)
    report = run_import(store_path, src, "fire_hydrants")
    assert ("ignored columns: 备注 (5 non-empty values), 空列 (0 non-empty values); use --map 备注=FIELD"
            in report.describe())


@pytest.mark.parametrize(("cell", "safe"), [
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'), ("+1+2", "'+1+2"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("-95.88", "-95.88"), ("+1e5", "+1e5"), ("消防栓", "消防栓"), (12, 12)])
def test_neutralise_cell(cell, safe):
    assert neutralise_cell(cell) == safe


def test_rejects_file_neutralises_formulas(tmp_path, store_path):
    rows = [[121.40 + i / 1000, 31.2, "ok", "x"] for i in range(3)]
    rows[1] = ["abc", 31.2, "ok", '=HYPERLINK("http://evil")']
    src = write_csv(tmp_path / "h.csv", ["lon", "lat", "status", "note"], rows)
    report = run_import(store_path, src, "fire_hydrants", skip_invalid=True)
    rejects = pd.read_csv(report.rejects_file, dtype=str, encoding="utf-8-sig")
    assert rejects["note"].tolist() == ['\'=HYPERLINK("http://evil")']
    assert rejects["lat"].tolist() == ["31.2"]
