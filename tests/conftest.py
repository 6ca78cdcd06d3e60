"""Shared fixtures: the catalog, and store factories the contract tests run against."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from geo_service.catalog import load_catalog

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ROOT / "layers"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def catalog():
    return load_catalog(LAYERS)


@pytest.fixture
def layers_copy(tmp_path) -> Path:
    """A private copy of the catalog folder that a test may add layers to."""
    dst = tmp_path / "layers"
    shutil.copytree(LAYERS, dst)
    return dst


def _gpkg_store(tmp_path, catalog):
    from geo_service.store.geopackage import GeoPackageStore

    return GeoPackageStore(tmp_path / "store.gpkg", catalog)


def _postgis_store(tmp_path, catalog):
    """A fresh database on the session's throwaway PostgreSQL + PostGIS cluster (tests/pg.py)."""
    from tests.pg import throwaway_store

    return throwaway_store(catalog)


STORE_KINDS = {"gpkg": _gpkg_store, "postgis": _postgis_store}


@pytest.fixture(params=list(STORE_KINDS))
def make_store(request, tmp_path, catalog):
    """Factory for a fresh, empty store of each kind; closes what it made."""
    made = []

    def factory(cat=None):
        store = STORE_KINDS[request.param](tmp_path, cat or catalog)
        made.append(store)
        return store

    yield factory
    for s in made:
        s.close()


@pytest.fixture(scope="session")
def demo_gpkg(tmp_path_factory, catalog) -> Path:
    """A GeoPackage holding the demo district at a small scale, built once per test session.

    Tests that write must copy it first (see `demo_copy`)."""
    from geo_service.demo import write_demo
    from geo_service.store.geopackage import GeoPackageStore

    path = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    with GeoPackageStore(path, catalog) as store:
        write_demo(store, scale=0.3, seed=20240601)
    return path


@pytest.fixture
def demo_copy(demo_gpkg, tmp_path) -> Path:
    """A private, writable copy of the demo GeoPackage."""
    dst = tmp_path / "demo.gpkg"
    shutil.copy(demo_gpkg, dst)
    return dst
