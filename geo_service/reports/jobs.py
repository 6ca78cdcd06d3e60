"""Long reports off the request path: background jobs whose state lives in small JSON files.

Why files: the API may run as several uvicorn workers; a client that asked one of them for a street
atlas may poll another. Each job writes ``static_maps/.jobs/<id>.json`` (status, pages done, the
file made), so any worker can answer. The job id is the report's cache key, so two requests for the
same report over the same data share one job instead of drawing it twice.

Where jobs run: in a process pool (``spawn``; the worker opens its own store from the settings) when
the store can be reopened from the settings, so drawing pages never competes with the API for the
GIL; otherwise (an app handed a store object) in one background thread. ``GEO_SERVICE_REPORT_EXECUTOR``
(``process`` or ``thread``) overrides the choice.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import re
import socket
import threading
import time
import traceback
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..store import open_store
from .data import Scope
from .pdf import build_report, default_workers

JOBS_DIR = ".jobs"
ACTIVE = ("queued", "running")
STALE_AFTER_S = 30 * 60  # a job silent this long (its host unknown or its process gone) is given up
PROGRESS_EVERY_S = 1.0
_JOB_ID = re.compile(r"^[0-9a-f]{8,64}$")


@dataclass
class JobState:
    id: str
    status: str  # queued, running, done or failed
    scope: list[str]  # [kind, key]
    format: str
    lang: str
    title: str
    file: str  # the report's file name in static_maps/
    pages_done: int = 0
    pages_total: int | None = None
    error: str | None = None
    created: str = field(default_factory=lambda: _now())
    updated: str = field(default_factory=lambda: _now())
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)

    def stale(self) -> bool:
        """An unfinished job nobody is working on any more (its process died, or it fell silent)."""
        if self.status not in ACTIVE:
            return False
        age = time.time() - dt.datetime.fromisoformat(self.updated).timestamp()
        if self.host == socket.gethostname() and not _alive(self.pid):
            return True
        return age > STALE_AFTER_S


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="milliseconds")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def job_path(folder: Path, job_id: str) -> Path:
    if not _JOB_ID.match(job_id):
        raise ValueError(f"not a job id: {job_id!r}")
    return Path(folder) / JOBS_DIR / f"{job_id}.json"


def read_job(folder: Path, job_id: str) -> JobState | None:
    try:
        raw = job_path(folder, job_id).read_bytes()
    except (ValueError, OSError):
        return None
    try:
        return JobState(**orjson.loads(raw))
    except (orjson.JSONDecodeError, TypeError):
        return None


def write_job(folder: Path, state: JobState) -> None:
    path = job_path(folder, state.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    state.updated = _now()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    tmp.write_bytes(orjson.dumps(asdict(state)))
    os.replace(tmp, path)


# ------------------------------------------------------------------ running one job

def run_job(store, settings, state: JobState, workers: int) -> JobState:
    """Build the report of ``state`` and record how it went (called in the pool)."""
    folder = Path(settings.static_maps_dir)
    state.status, state.pid, state.host = "running", os.getpid(), socket.gethostname()
    write_job(folder, state)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        state.pages_done, state.pages_total = done, total
        if time.monotonic() - last[0] >= PROGRESS_EVERY_S:
            last[0] = time.monotonic()
            write_job(folder, state)

    try:
        out = build_report(store, settings, Scope(*state.scope), state.format, state.lang, progress=progress,
                           workers=workers)
        state.status, state.file, state.pages_done, state.pages_total = "done", out.path.name, out.pages, out.pages
    except Exception as e:  # the job records any failure for the poller; the pool must not die
        state.status, state.error = "failed", f"{type(e).__name__}: {e}"
        traceback.print_exc()
    write_job(folder, state)
    return state


def _run_in_process(settings, state: JobState, workers: int) -> JobState:
    """Pool entry point: a worker process opens its own store from the settings."""
    with open_store(settings) as store:
        return run_job(store, settings, state, workers)


# ------------------------------------------------------------------ the app's job runner

class ReportJobs:
    """Submits report jobs and reads their state; one per app."""

    def __init__(self, settings, store, reopenable: bool):
        self.settings, self.store = settings, store
        self.folder = Path(settings.static_maps_dir)
        mode = os.environ.get("GEO_SERVICE_REPORT_EXECUTOR") or ("process" if reopenable else "thread")
        self.mode = mode if mode in ("process", "thread") else "thread"
        self._executor: Executor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> Executor:
        if self._executor is None:
            if self.mode == "process":
                self._executor = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"))
            else:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="report-job")
        return self._executor

    def read(self, job_id: str) -> JobState | None:
        return read_job(self.folder, job_id)

    def submit(self, job_id: str, scope: Scope, fmt: str, lang: str, title: str, file: str) -> JobState:
        """The job making this report: the running one if there is one, else a new one."""
        with self._lock:
            current = self.read(job_id)
            if current is not None and current.status in ACTIVE and not current.stale():
                return current
            state = JobState(job_id, "queued", [scope.kind, scope.key], fmt, lang, title, file)
            write_job(self.folder, state)
            if self.mode == "process":
                self._pool().submit(_run_in_process, self.settings, state, default_workers())
            else:  # drawing in this process: one page at a time, no forking from a threaded server
                self._pool().submit(run_job, self.store, self.settings, state, 1)
            return state

    def shutdown(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None


def job_body(state: JobState, base: str) -> dict[str, Any]:
    """The JSON a poller sees."""
    body = {k: v for k, v in asdict(state).items() if k not in ("host", "pid")}
    body["links"] = [{"rel": "self", "type": "application/json", "href": f"{base}/reports/jobs/{state.id}"}]
    if state.status == "done":
        body["links"].append({"rel": "enclosure", "type": "application/pdf",
                              "href": f"{base}/reports/jobs/{state.id}/file"})
    return body
