"""Shared fixtures: the catalog, store factories the contract tests run against, and the demo dataset
on each store kind (`backend`, `shared_backend`) for the API tests."""

from __future__ import annotations

import contextlib
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


# ---------------------------------------------------------------- the demo dataset on each store ("backend")

BACKENDS = ["gpkg", "postgis"]


class Backend:
    """The demo dataset on one store kind, privately: a GeoPackage copy or a cloned PostgreSQL database.

    ``settings(**overrides)`` selects it (``gpkg=`` or ``database_url=``), ``env`` does the same for a
    server process (tests/servers.py), ``open_store()`` opens it here (closed at teardown)."""

    def __init__(self, kind: str, location: str | Path):
        self.kind, self.location = kind, location
        self._stores: list = []

    def __repr__(self) -> str:
        return f"Backend({self.kind}: {self.location})"

    def settings(self, **overrides):
        from geo_service.settings import Settings

        where = {"gpkg": self.location, "database_url": None} if self.kind == "gpkg" else {
            "database_url": self.location}
        return Settings(**{**where, **overrides})

    @property
    def env(self) -> dict[str, str]:
        if self.kind == "gpkg":
            return {"GEO_SERVICE_GPKG": str(self.location), "GEO_SERVICE_DATABASE_URL": ""}
        return {"GEO_SERVICE_DATABASE_URL": str(self.location)}

    def open_store(self, **overrides):
        from geo_service.store import open_store

        store = open_store(self.settings(**overrides))
        self._stores.append(store)
        return store

    def close(self) -> None:
        for store in self._stores:
            with contextlib.suppress(Exception):
                store.close()
        self._stores.clear()


@pytest.fixture(scope="session")
def demo_pg_template(demo_gpkg, catalog) -> str:
    """Name of a database on the session's PostgreSQL cluster holding the demo data; clone it, never use it.

    Loaded once (`geo-service db copy`'s code path) from `demo_gpkg`."""
    from geo_service.store.copy import copy_dataset
    from geo_service.store.geopackage import GeoPackageStore
    from geo_service.store.postgis import PostGISStore
    from tests.pg import shared_cluster

    cluster = shared_cluster()
    name = "gcs_demo_template"
    url = cluster.create_database(name)
    with GeoPackageStore(demo_gpkg, catalog) as src, PostGISStore(url, catalog, min_size=0) as dst:
        copy_dataset(src, dst)
    with cluster.admin(name) as conn:
        conn.execute("VACUUM ANALYZE")  # clones start with planner statistics
    return name


@contextlib.contextmanager
def _backend(kind: str, request, folder: Path):
    if kind == "gpkg":
        path = folder / "demo.gpkg"
        shutil.copy(request.getfixturevalue("demo_gpkg"), path)
        backend = Backend(kind, path)
        drop = None
    else:
        from tests.pg import shared_cluster

        template = request.getfixturevalue("demo_pg_template")
        cluster = shared_cluster()
        url = cluster.create_database(template=template)
        backend = Backend(kind, url)
        drop = url.rsplit("/", 1)[1]
    try:
        yield backend
    finally:
        backend.close()
        if drop:
            cluster.drop_database(drop)


@pytest.fixture(scope="module", params=BACKENDS)
def backend_kind(request) -> str:
    """The store kind a module's tests run on; `backend` and `shared_backend` both follow it, so a test
    that uses both runs once per kind, not once per pair."""
    return request.param


@pytest.fixture
def backend(backend_kind, request, tmp_path):
    """A private, writable copy of the demo dataset on each store kind (test ids [gpkg] / [postgis])."""
    with _backend(backend_kind, request, tmp_path) as b:
        yield b


@pytest.fixture(scope="module")
def shared_backend(backend_kind, request, tmp_path_factory):
    """One copy of the demo dataset per module and store kind, for tests that only read."""
    with _backend(backend_kind, request, tmp_path_factory.mktemp(f"shared_{backend_kind}")) as b:
        yield b
