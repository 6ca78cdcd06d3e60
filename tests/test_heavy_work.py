"""Bounded heavy work (issue 13): slots, a bounded queue, a per-client rate; 429 with Retry-After beyond."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from geo_service.api.app import create_app
from geo_service.api.heavy import Busy, HeavyWork
from geo_service.settings import Settings


def test_slots_and_queue_bound_concurrent_work(tmp_path):
    work = HeavyWork(concurrency=1, queue=1, per_minute=0, slot_dir=tmp_path, wait_s=5)
    release, started, running, peak = threading.Event(), threading.Event(), [0], [0]
    lock = threading.Lock()

    def job():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        started.set()
        release.wait(5)
        with lock:
            running[0] -= 1
        return "done"

    results: list = []
    first = threading.Thread(target=lambda: results.append(work.run("a", job)))
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=lambda: results.append(work.run("b", job)))  # waits in the queue
    second.start()
    deadline = time.monotonic() + 5
    while work._waiting < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(Busy) as refused:  # slot taken, queue full
        work.run("c", job)
    assert refused.value.status == 429 and int(refused.value.headers["Retry-After"]) > 0
    release.set()
    first.join(5)
    second.join(5)
    assert results == ["done", "done"] and peak[0] == 1  # never two at once


def test_rate_per_client(tmp_path):
    work = HeavyWork(concurrency=2, queue=2, per_minute=3, slot_dir=tmp_path)
    for _ in range(3):
        assert work.run("key ada", lambda: 1) == 1
    with pytest.raises(Busy) as refused:
        work.run("key ada", lambda: 1)
    assert "3 heavy computations" in refused.value.description and int(refused.value.headers["Retry-After"]) >= 1
    assert work.run("key bob", lambda: 2) == 2  # another client has its own allowance


def test_analysis_over_http_gets_429_with_retry_after(demo_gpkg, tmp_path):
    path = tmp_path / "demo.gpkg"
    path.write_bytes(demo_gpkg.read_bytes())
    with TestClient(create_app(Settings(gpkg=path, heavy_per_minute=2, static_maps_dir=tmp_path / "maps"))) as c:
        assert c.get("/analysis/parking-gaps").status_code == 200
        assert c.get("/analysis/parking-gaps").status_code == 200  # cached: costs no token
        assert c.get("/analysis/waterlogging").status_code == 200
        r = c.get("/analysis/charging-coverage")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["code"] == "TooManyRequests"
        assert c.get("/collections/fire_hydrants/items?limit=1").status_code == 200  # reads are not limited


def test_slots_hold_across_processes(tmp_path):
    """Two workers of one host share the bound: a slot taken by another process is not free here."""
    import subprocess
    import sys

    script = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
              "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)")
    holder = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "slot-0.lock")], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        work = HeavyWork(concurrency=1, queue=0, per_minute=0, slot_dir=tmp_path, wait_s=0.2)
        with pytest.raises(Busy):
            work.run("a", lambda: 1)
    finally:
        holder.kill()
        holder.wait()
    assert work.run("a", lambda: 1) == 1
