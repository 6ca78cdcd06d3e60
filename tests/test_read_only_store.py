"""A read-only GeoPackage (issue 13): reads work, writes answer 503 naming the cause, /ready says so.

Before: /ready said ok, reads worked, and every write answered 500 "internal error" (SQLite "readonly
database"); with a read-only folder the server died with a 140-line traceback not naming the file.
The tests run as root, for whom permission bits do not apply, so the server runs as `nobody`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import httpx
import pytest

from tests.servers import free_port

KEY = "read-only-test-editor-key-0123456"
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the server as nobody")


def serve_as_nobody(gpkg, tmp_path):
    port = free_port()
    env = {**os.environ, "GEO_SERVICE_GPKG": str(gpkg), "GEO_SERVICE_STATIC_MAPS_DIR": str(tmp_path / "maps"),
           "GEO_SERVICE_API_KEYS": json.dumps([{"name": "e", "role": "editor",
                                                "sha256": hashlib.sha256(KEY.encode()).hexdigest()}]),
           "HOME": str(tmp_path)}
    (tmp_path / "maps").mkdir(exist_ok=True)
    os.chmod(tmp_path / "maps", 0o777)
    cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-m",
           "geo_service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True), port


def wait_up(proc, port):
    import time
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            time.sleep(0.3)
    return False


@pytest.fixture
def open_tmp():
    """A folder under /tmp that `nobody` can reach (pytest's tmp_path sits in a root-only folder)."""
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="ro-store-"))
    os.chmod(folder, 0o755)
    yield folder
    for p in folder.rglob("*"):
        if p.is_dir():
            os.chmod(p, 0o755)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("folder_writable", [True, False])
def test_read_only_store_serves_reads_and_refuses_writes_with_503(demo_gpkg, open_tmp, folder_writable):
    tmp_path = open_tmp
    data = tmp_path / "data"
    data.mkdir()
    gpkg = data / "demo.gpkg"
    shutil.copy(demo_gpkg, gpkg)
    os.chmod(gpkg, 0o444)  # nobody may read, not write
    os.chmod(data, 0o777 if folder_writable else 0o555)
    before = hashlib.sha256(gpkg.read_bytes()).hexdigest()
    proc, port = serve_as_nobody(gpkg, tmp_path)
    try:
        assert wait_up(proc, port), proc.stdout.read() if proc.poll() is not None else "did not start"
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/collections/fire_hydrants/items?limit=2").json()["numberReturned"] == 2
        ready = httpx.get(f"{base}/ready").json()
        assert ready["writable"] is False and ready["kind"] == "geopackage" and ready["path"] == str(gpkg.resolve())
        assert "read-only" in ready["status"] and ready["versions"]["fire_hydrants"] >= 0
        r = httpx.patch(f"{base}/collections/fire_hydrants/items/1", json={"properties": {"status": "faulty"}},
                        headers={"X-API-Key": KEY, "Content-Type": "application/merge-patch+json"})
        assert r.status_code == 503 and "read-only" in r.json()["description"] and str(gpkg.resolve()) in r.text
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        os.chmod(data, 0o755)
    assert hashlib.sha256(gpkg.read_bytes()).hexdigest() == before
