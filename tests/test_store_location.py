"""The store is never a surprise (issue 11 item 7): commands name the store and its counts, and refuse
to create, or to use, a GeoPackage that is missing, a folder or not a GeoPackage."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from geo_service.cli import app

from .test_ingest_common import HEADER_HYDRANTS, hydrant_rows, sha256, store_path_fixture, write_csv  # noqa: F401


def run(monkeypatch, gpkg, *args):
    monkeypatch.setenv("GEO_SERVICE_GPKG", str(gpkg))
    monkeypatch.setenv("GEO_SERVICE_DATABASE_URL", "")
    return CliRunner().invoke(app, list(map(str, args)))


@pytest.mark.parametrize("command", [["analyse", "parking-gaps"], ["export", "map", "--street", "x"],
                                     ["serve", "--port", "1"]])
def test_commands_refuse_a_missing_store(tmp_path, monkeypatch, command):
    missing = tmp_path / "typo" / "store.gpkg"
    result = run(monkeypatch, missing, *command)
    assert result.exit_code == 2
    assert f"no GeoPackage store at {missing.absolute()}" in result.stderr
    assert "GEO_SERVICE_GPKG" in result.stderr and "Traceback" not in result.output
    assert not missing.exists() and not missing.parent.exists()


def test_import_refuses_a_missing_store_unless_new_store(tmp_path, monkeypatch):
    src = write_csv(tmp_path / "h.csv", HEADER_HYDRANTS, hydrant_rows(5))
    missing = tmp_path / "new.gpkg"
    refused = run(monkeypatch, missing, "import", src, "--layer", "fire_hydrants")
    assert refused.exit_code == 2 and f"no GeoPackage store at {missing}" in refused.stderr
    assert "import --new-store" in refused.stderr and not missing.exists()
    made = run(monkeypatch, missing, "import", src, "--layer", "fire_hydrants", "--new-store")
    assert made.exit_code == 0, made.output
    assert f"store: GeoPackage {missing} (compounds 0, " in made.stderr and "fire_hydrants 5" in made.stderr


@pytest.mark.parametrize("kind", ["folder", "text", "unreadable"])
def test_serve_refuses_what_is_not_a_geopackage_in_one_line(tmp_path, monkeypatch, kind):
    import os

    path = tmp_path / "store.gpkg"
    if kind == "folder":
        path.mkdir()
    else:
        path.write_text("not a database\n", encoding="utf-8")
        if kind == "unreadable":
            if os.geteuid() == 0:
                pytest.skip("root reads every file")
            path.chmod(0)
    result = run(monkeypatch, path, "serve", "--port", "1")
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and str(path) in line and "Traceback" not in result.output
    assert {"folder": "is a folder", "text": "is not a GeoPackage", "unreadable": "cannot be read"}[kind] in line


def test_import_says_store_and_counts_and_keyed_summary(tmp_path, monkeypatch, store_path):
    data = [[f"K{i}", *r] for i, r in enumerate(hydrant_rows(6))]
    src = write_csv(tmp_path / "h.csv", ["编号", *HEADER_HYDRANTS], data)
    first = run(monkeypatch, store_path, "import", src, "--layer", "fire_hydrants", "--mode", "sync")
    assert first.exit_code == 0, first.output
    assert "6 inserted, 0 updated, 0 deleted, 0 unchanged" in first.stdout
    assert f"store: GeoPackage {store_path}" in first.stderr and "fire_hydrants 6" in first.stderr
    before = sha256(store_path)
    again = run(monkeypatch, store_path, "import", src, "--layer", "fire_hydrants")
    assert again.exit_code == 2 and "6 source id(s) of this file are already stored" in again.stderr
    assert "fire_hydrants 6" in again.stderr and sha256(store_path) == before
    same = run(monkeypatch, store_path, "import", src, "--layer", "fire_hydrants", "--mode", "upsert")
    assert "0 inserted, 0 updated, 0 deleted, 6 unchanged" in same.stdout
