"""Streamed imports (issue 11 item 8): chunk by chunk, whole-file checks across chunks, an error cap,
one transaction on both stores, and coordinates rounded to 7 decimals."""

from __future__ import annotations

import pytest

from geo_service.ingest.importer import ImportFailed, import_file

from .test_ingest_common import write_csv
from .test_ingest_keyed import HEADER, rows, store_hash

LAYER = "fire_hydrants"


def test_a_file_in_many_chunks_imports_whole_in_one_version(make_store, tmp_path):
    store = make_store()
    before = store.version(LAYER)
    report = import_file(store, write_csv(tmp_path / "h.csv", HEADER, rows(95)), LAYER, chunk_rows=10)
    assert (report.imported, report.rows_read) == (95, 95)
    frame = store.frame(LAYER)
    assert len(frame) == 95 and frame.index.is_unique
    assert sorted(frame["source_id"]) == [f"XHS-{i:04d}" for i in range(95)]
    assert store.version(LAYER) > before  # (PostGIS bumps the version per COPY statement, all in one transaction)


def test_a_key_repeated_in_another_chunk_is_found_and_nothing_is_written(make_store, tmp_path):
    store = make_store()
    data = rows(60)
    data[55][0] = "XHS-0003"  # chunk 6 repeats a key of chunk 1
    before = store_hash(store)
    with pytest.raises(ImportFailed) as info:
        import_file(store, write_csv(tmp_path / "h.csv", HEADER, data), LAYER, chunk_rows=10)
    message = str(info.value)
    assert "row 5: source_id: key 'XHS-0003' also on row(s) 57 of this file" in message
    assert "row 57: source_id: key 'XHS-0003' also on row(s) 5 of this file" in message
    assert store_hash(store) == before


def test_an_id_repeated_in_another_chunk_is_an_error(make_store, tmp_path):
    store = make_store()
    data = [[i + 1, *r[1:]] for i, r in enumerate(rows(30))]
    data[25][0] = 2
    before = store_hash(store)
    with pytest.raises(ImportFailed, match=r"row 27: id: duplicate id 2 \(also on row 3\)"):
        import_file(store, write_csv(tmp_path / "h.csv", ["id", *HEADER[1:]], data), LAYER, chunk_rows=10)
    assert store_hash(store) == before


def test_an_outlier_is_judged_against_the_whole_file_not_its_chunk(make_store, tmp_path):
    store = make_store()
    data = rows(60)
    data[58][1:3] = [116.40, 39.90]  # Beijing, alone in the last chunk of 10
    before = store_hash(store)
    with pytest.raises(ImportFailed, match=r"row 60: geometry: far outside the rest of the data"):
        import_file(store, write_csv(tmp_path / "h.csv", HEADER, data), LAYER, chunk_rows=10)
    assert store_hash(store) == before
    report = import_file(store, tmp_path / "h.csv", LAYER, chunk_rows=10, skip_invalid=True)
    assert (report.imported, report.rejected) == (59, 1)
    assert "far outside" in report.rejects_file.read_text(encoding="utf-8-sig")


def test_rejects_of_every_chunk_are_written_with_skip_invalid(make_store, tmp_path):
    store = make_store()
    data = rows(40)
    for i in (2, 17, 33):
        data[i][4] = "坏了"
    report = import_file(store, write_csv(tmp_path / "h.csv", HEADER, data), LAYER, chunk_rows=10, skip_invalid=True)
    assert (report.imported, report.rejected) == (37, 3)
    lines = report.rejects_file.read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["4", "19", "35"]


def test_garbage_stops_after_max_errors_without_reading_on(make_store, tmp_path):
    store = make_store()
    garbage = [[f"X{i}", "east", "north", "x", "y"] for i in range(5000)]
    src = write_csv(tmp_path / "g.csv", HEADER, garbage)
    before = store_hash(store)
    with pytest.raises(ImportFailed) as info:
        import_file(store, src, LAYER, chunk_rows=100, max_errors=120)
    message = str(info.value)
    assert "120 errors by row 61, so reading stopped there" in message
    assert message.endswith("... and 70 more")
    assert store_hash(store) == before


def test_default_error_cap_is_1000_and_the_message_ends_with_the_rest(make_store, tmp_path):
    store = make_store()
    garbage = [[f"X{i}", "east", "north", "pillar", "working"] for i in range(3000)]
    with pytest.raises(ImportFailed) as info:
        import_file(store, write_csv(tmp_path / "g.csv", HEADER, garbage), LAYER)
    assert "1,000 errors by row 501" in str(info.value)
    assert str(info.value).endswith("... and 950 more")


def test_coordinates_are_rounded_to_7_decimals(make_store, tmp_path):
    store = make_store()
    data = rows(3)
    data[0][1:3] = [121.123456789123, 31.987654321987]
    import_file(store, write_csv(tmp_path / "h.csv", HEADER, data), LAYER)
    frame = store.frame(LAYER)
    geom = frame.loc[frame["source_id"] == "XHS-0000"].geometry.iloc[0]
    assert (geom.x, geom.y) == (121.1234568, 31.9876543)


def test_reimporting_a_converted_file_changes_nothing_after_rounding(make_store, tmp_path):
    """Rounding makes the stored point what the next delivery of the same file gives again."""
    store = make_store()
    data = rows(25)
    data[0][1:3] = [121.123456789123, 31.187654321987]
    src = write_csv(tmp_path / "h.csv", HEADER, data)
    import_file(store, src, LAYER)
    again = import_file(store, src, LAYER, mode="upsert")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 25)


def test_upsert_in_chunks_matches_every_chunk(make_store, tmp_path):
    store = make_store()
    import_file(store, write_csv(tmp_path / "a.csv", HEADER, rows(50)), LAYER)
    data = rows(55)
    data[7][4] = "faulty"
    data[41][4] = "faulty"
    report = import_file(store, write_csv(tmp_path / "b.csv", HEADER, data), LAYER, mode="upsert", chunk_rows=10)
    assert (report.imported, report.updated, report.unchanged) == (5, 2, 48)
