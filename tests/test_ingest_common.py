"""Shared helpers of the ingest tests (no tests here): a real GeoPackage store and input writers."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import geopandas as gpd
import pytest

from geo_service.catalog import load_catalog
from geo_service.ingest.importer import import_file
from geo_service.store.geopackage import GeoPackageStore

PROJECT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(PROJECT / "layers")
# Shanghai points (lon, lat) used across tests.
SHANGHAI = [(121.4737, 31.2304), (121.5000, 31.2400), (121.4400, 31.1900), (121.5272106, 31.1774276)]


@pytest.fixture(name="store_path")
def store_path_fixture(tmp_path: Path) -> Path:
    """A fresh GeoPackage store with every catalog layer, closed again."""
    path = tmp_path / "store.gpkg"
    GeoPackageStore(path, CATALOG).close()
    return path


def run_import(store_path: Path, file: Path, layer: str, **kwargs):
    with GeoPackageStore(store_path, CATALOG) as store:
        return import_file(store, file, layer, **kwargs)


def layer_frame(store_path: Path, layer: str) -> gpd.GeoDataFrame:
    with GeoPackageStore(store_path, CATALOG) as store:
        return store.frame(layer)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def content_hash(path: Path) -> str:
    """A hash of every row of every table (rollback on open can change bytes, not content)."""
    con = sqlite3.connect(path)
    try:
        digest = hashlib.sha256()
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            rows = sorted(repr(r) for r in con.execute(f'SELECT * FROM "{table}"'))
            digest.update(table.encode())
            for r in rows:
                digest.update(r.encode())
        return digest.hexdigest()
    finally:
        con.close()


def write_csv(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8") -> Path:
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def feature_collection(features: list[tuple[dict, dict | None]], **extra) -> dict:
    return {"type": "FeatureCollection", **extra,
            "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features]}


def write_json(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def point(x: float, y: float) -> dict:
    return {"type": "Point", "coordinates": [x, y]}


HEADER_HYDRANTS = ["lon", "lat", "kind", "status"]


def hydrant_rows(n: int = 25) -> list[list]:
    """CSV rows lon, lat, kind, status spread over central Shanghai (enough rows for outlier checks)."""
    return [[round(121.40 + 0.004 * (i % 10), 6), round(31.18 + 0.003 * (i // 10), 6), "pillar", "ok"]
            for i in range(n)]
