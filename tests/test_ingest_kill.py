"""An import killed with SIGKILL while writing leaves the GeoPackage valid and its content unchanged."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

from .test_ingest_common import (
    HEADER_HYDRANTS,
    PROJECT,
    content_hash,
    hydrant_rows,
    layer_frame,
    run_import,
    store_path_fixture,  # noqa: F401 - the store_path fixture
    write_csv,
)

ROWS = 200_000


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_while_writing_leaves_the_store_unchanged(tmp_path, store_path):
    run_import(store_path, write_csv(tmp_path / "first.csv", HEADER_HYDRANTS, hydrant_rows(25)), "fire_hydrants")
    rng = np.random.default_rng(7)
    big = tmp_path / "BIG.csv"
    pd.DataFrame({"lon": rng.uniform(121.2, 121.7, ROWS).round(6), "lat": rng.uniform(31.0, 31.4, ROWS).round(6),
                  "kind": rng.choice(["pillar", "underground"], ROWS), "status": "ok"}).to_csv(big, index=False)
    before = content_hash(store_path)

    env = {**os.environ, "GEO_SERVICE_GPKG": str(store_path)}
    proc = subprocess.Popen([sys.executable, "-c", "from geo_service.cli import app; app()", "import", str(big),
                             "--layer", "fire_hydrants", "--mode", "replace"],
                            cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = bytearray()
    reader = threading.Thread(target=lambda: [seen.extend(chunk) for chunk in iter(lambda: proc.stderr.read(64), b"")],
                              daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    try:
        # the store has begun writing once the bar shows "writing" with some rows done
        while b"writing" not in seen or not _rows_written(seen):
            assert proc.poll() is None, f"the import ended before it could be killed:\n{seen.decode(errors='replace')}"
            assert time.monotonic() < deadline, f"no writing progress within 120 s:\n{seen.decode(errors='replace')}"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        reader.join(timeout=5)
    assert proc.returncode == -signal.SIGKILL

    con = sqlite3.connect(store_path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
    assert content_hash(store_path) == before
    assert len(layer_frame(store_path, "fire_hydrants")) == 25


def _rows_written(stderr: bytes) -> bool:
    """True once the last progress line says some rows were written (tqdm prints 'writing: ... N/200000')."""
    last = stderr.decode(errors="replace").rsplit("writing", 1)[-1]
    done = [part.split("/")[0].split()[-1] for part in last.split("|") if f"/{ROWS}" in part]
    return any(d.isdigit() and int(d) > 0 for d in done)
