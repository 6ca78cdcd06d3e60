"""Another process's commit reaches the embedded store's reads within the documented bound, and
no read after the bound is stale (the check is per thread, so threads are checked too)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from geo_service.store import Query
from geo_service.store.geopackage import CHECK_INTERVAL_S, GeoPackageStore
from tests.test_store_contract import hydrants

ROOT = Path(__file__).resolve().parent.parent

WRITER = """
import sqlite3, sys
from geo_service.store import gpkg_format  # the GeoPackage SQL functions the R-tree triggers call (GDAL has its own)
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
gpkg_format.register_functions(con)
con.execute("UPDATE fire_hydrants SET status = ? WHERE id = ?", (sys.argv[2], int(sys.argv[3])))
con.close()
"""


def _status(store: GeoPackageStore, fid: int) -> str:
    """What a client sees through the items path: the page bytes of one feature."""
    page = store.geojson_page("fire_hydrants", Query(ids=[fid], limit=1))
    return page.features[0].decode()


def _write_elsewhere(path, status: str, fid: int) -> float:
    """Commit in another process; returns a monotonic time at or after the commit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", WRITER, str(path), status, str(fid)], check=True, timeout=60, env=env)
    return time.monotonic()


def _in_new_thread(store: GeoPackageStore, fid: int) -> str:
    seen: list[str] = []
    t = threading.Thread(target=lambda: seen.append(_status(store, fid)))
    t.start()
    t.join()
    return seen[0]


def test_other_process_write_is_seen_within_the_bound_and_never_stale_after(tmp_path, catalog):
    path = tmp_path / "s.gpkg"
    with GeoPackageStore(path, catalog) as store:
        store.import_frame("fire_hydrants", hydrants(50), mode="replace")
        fid = int(store.query("fire_hydrants", Query(limit=1)).features.index[0])
        other_thread_views: list[tuple[float, str, int]] = []
        stop = threading.Event()

        def reader() -> None:  # a second request thread polling all along: its views must only move forward
            while not stop.is_set():
                t = time.monotonic()
                other_thread_views.append((t, _status(store, fid), store.version("fire_hydrants")))
                time.sleep(0.005)

        before = store.version("fire_hydrants")
        t_reader = threading.Thread(target=reader)
        t_reader.start()
        try:
            for round_, status in enumerate(("probe-1", "probe-2", "probe-3")):
                committed = _write_elsewhere(path, status, fid)
                # poll until seen, with a generous deadline (no speed assertion beyond the bound itself)
                deadline = committed + 10
                while f'"status":"{status}"' not in _status(store, fid):
                    assert time.monotonic() < deadline, f"round {round_}: the other process's write never showed"
                    time.sleep(0.005)
                # after the bound every read, on this thread and on any other, shows it
                time.sleep(max(0.0, committed + CHECK_INTERVAL_S - time.monotonic()))
                for _ in range(5):
                    assert f'"status":"{status}"' in _status(store, fid)
                    assert store.version("fire_hydrants") > before
                assert f'"status":"{status}"' in _in_new_thread(store, fid)
                before = store.version("fire_hydrants")
                deadline = time.monotonic() + 10  # let the polling thread read after the bound at least once
                while not any(when >= committed + CHECK_INTERVAL_S for when, _, _ in list(other_thread_views)):
                    assert time.monotonic() < deadline
                    time.sleep(0.01)
                time.sleep(0.02)
                late = [s for (when, s, _) in list(other_thread_views) if when >= committed + CHECK_INTERVAL_S]
                assert late and all(f'"status":"{status}"' in s for s in late)
                other_thread_views.clear()
        finally:
            stop.set()
            t_reader.join()


def test_tiles_cut_on_the_event_loop_see_another_process_write(tmp_path, catalog):
    """quick_tile (the API's event-loop path) and tile() both follow another process's commit: once
    the bound has passed, neither gives the tile of the old version, even though it is cached."""
    mvt = pytest.importorskip("mapbox_vector_tile")
    path = tmp_path / "s.gpkg"
    with GeoPackageStore(path, catalog) as store:
        store.import_frame("fire_hydrants", hydrants(50), mode="replace")
        fid = int(store.query("fire_hydrants", Query(limit=1)).features.index[0])
        lon, lat = store.get("fire_hydrants", fid)["geometry"].coords[0]
        z, n = 16, 2**16
        x, y = int((lon + 180) / 360 * n), int((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * n)

        def status_in(body: bytes | None) -> str | None:
            if body is None:
                return None
            feats = mvt.decode(body)["fire_hydrants"]["features"]
            return next(f["properties"]["status"] for f in feats if f["id"] == fid)

        assert status_in(store.tile("fire_hydrants", z, x, y)) == status_in(store.quick_tile("fire_hydrants", z, x,
                                                                                               y))
        committed = _write_elsewhere(path, "probe-tile", fid)
        time.sleep(max(0.0, committed + CHECK_INTERVAL_S - time.monotonic()))
        quick = store.quick_tile("fire_hydrants", z, x, y)  # None until the new version is prepared
        assert status_in(quick) in (None, "probe-tile")
        assert status_in(store.tile("fire_hydrants", z, x, y)) == "probe-tile"
        assert status_in(store.quick_tile("fire_hydrants", z, x, y)) == "probe-tile"
