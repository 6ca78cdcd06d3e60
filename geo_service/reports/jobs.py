"""Long reports off the request path: background jobs whose state every worker (and host) can read.

A client that asked one worker for a street atlas may poll another, on another host behind a load
balancer. So each job's state (status, pages done, the file made) is a record: with the embedded
store, a small JSON file ``static_maps/.jobs/<id>.json`` that the workers of this host share; with
PostGIS, a document in the database (``FeatureStore.documents``), and the finished report too, so a
host that did not draw it fetches it once into its own reports folder. The job id is the report's
cache key, so two requests for the same report over the same data share one job.

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
from ..store.base import Documents
from . import files
from .data import Scope
from .pdf import ReportOutput, build_report, default_workers

JOBS_DIR = ".jobs"
JOB_NAMESPACE, FILE_NAMESPACE = "report_job", "report_file"
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


class FileRecords:
    """Job states as files in this host's reports folder (the embedded store: one host)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def read(self, job_id: str) -> JobState | None:
        return read_job(self.folder, job_id)

    def write(self, state: JobState) -> None:
        write_job(self.folder, state)

    def save_file(self, state: JobState, path: Path) -> None:
        """Nothing to share: the file is already where every worker of this host reads it."""

    def restore_file(self, state: JobState, path: Path) -> bool:
        return path.is_file()


class SharedRecords:
    """Job states and finished reports as documents of the store's database, seen alike by every host."""

    def __init__(self, documents: Documents, folder: Path):
        self.documents, self.folder = documents, Path(folder)

    def read(self, job_id: str) -> JobState | None:
        if not _JOB_ID.match(job_id):
            return None
        found = self.documents.get(JOB_NAMESPACE, job_id)
        try:
            return JobState(**found[0]) if found else None
        except TypeError:
            return None

    def write(self, state: JobState) -> None:
        state.updated = _now()
        self.documents.put(JOB_NAMESPACE, state.id, asdict(state))

    def save_file(self, state: JobState, path: Path) -> None:
        meta = files.cached_meta(path)
        self.documents.put(FILE_NAMESPACE, state.id, {"name": path.name, "meta": meta}, blob=path.read_bytes())

    def restore_file(self, state: JobState, path: Path) -> bool:
        """The finished report in this host's folder: there already, or fetched once from the database."""
        if path.is_file():
            return True
        found = self.documents.get(FILE_NAMESPACE, state.id, with_blob=True)
        if found is None or found[1] is None or found[0].get("name") != path.name:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
        tmp.write_bytes(found[1])
        os.replace(tmp, path)
        if found[0].get("meta"):
            files.write_meta(path, found[0]["meta"])
        return True


def job_records(settings, store) -> FileRecords | SharedRecords:
    documents = store.documents()
    folder = Path(settings.static_maps_dir)
    return SharedRecords(documents, folder) if documents is not None else FileRecords(folder)


# ------------------------------------------------------------------ running one job

def run_job(store, settings, state: JobState, workers: int) -> JobState:
    """Build the report of ``state`` and record how it went (called in the pool)."""
    records = job_records(settings, store)
    state.status, state.pid, state.host = "running", os.getpid(), socket.gethostname()
    records.write(state)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        state.pages_done, state.pages_total = done, total
        if time.monotonic() - last[0] >= PROGRESS_EVERY_S:
            last[0] = time.monotonic()
            records.write(state)

    try:
        out = build_report(store, settings, Scope(*state.scope), state.format, state.lang, progress=progress,
                           workers=workers)
        records.save_file(state, out.path)
        state.status, state.file, state.pages_done, state.pages_total = "done", out.path.name, out.pages, out.pages
    except Exception as e:  # the job records any failure for the poller; the pool must not die
        state.status, state.error = "failed", f"{type(e).__name__}: {e}"
        traceback.print_exc()
    records.write(state)
    return state


def _draw_in_process(settings, scope: list[str], fmt: str, lang: str | None) -> ReportOutput:
    """Pool entry point for one page drawn while its request waits (a compound's page)."""
    with open_store(settings) as store:
        return build_report(store, settings, Scope(*scope), fmt, lang, workers=1)


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
        self.records = job_records(settings, store)
        mode = os.environ.get("GEO_SERVICE_REPORT_EXECUTOR") or ("process" if reopenable else "thread")
        self.mode = mode if mode in ("process", "thread") else "thread"
        self._executor: Executor | None = None
        self._page_executor: Executor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> Executor:
        if self._executor is None:
            if self.mode == "process":
                self._executor = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"))
            else:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="report-job")
        return self._executor

    def draw(self, scope: Scope, fmt: str, lang: str | None) -> ReportOutput:
        """A report drawn now, for a request that waits (a compound's page): in a process of its own when the
        store can be reopened there, so matplotlib does not hold this worker's GIL while reads wait."""
        if self.mode != "process":
            return build_report(self.store, self.settings, scope, fmt, lang, workers=1)
        with self._lock:
            if self._page_executor is None:  # apart from atlas jobs: a page never waits behind an atlas
                self._page_executor = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"))
            pool = self._page_executor
        return pool.submit(_draw_in_process, self.settings, [scope.kind, scope.key], fmt, lang).result()

    def read(self, job_id: str) -> JobState | None:
        return self.records.read(job_id)

    def local_file(self, state: JobState) -> Path | None:
        """The finished report of a done job in this host's folder (fetched from the database if another
        host drew it), or None. Only the file the job names: never anything else."""
        if state.status != "done":
            return None
        path = files.report_path(self.folder, Scope(*state.scope), state.title, state.format, state.lang)
        if path.name != state.file:
            return None
        return path if self.records.restore_file(state, path) else None

    def submit(self, job_id: str, scope: Scope, fmt: str, lang: str, title: str, file: str) -> JobState:
        """The job making this report: the running one if there is one, else a new one."""
        with self._lock:
            current = self.read(job_id)
            if current is not None and current.status in ACTIVE and not current.stale():
                return current
            state = JobState(job_id, "queued", [scope.kind, scope.key], fmt, lang, title, file)
            self.records.write(state)
            if self.mode == "process":
                self._pool().submit(_run_in_process, self.settings, state, default_workers())
            else:  # drawing in this process: one page at a time, no forking from a threaded server
                self._pool().submit(run_job, self.store, self.settings, state, 1)
            return state

    def shutdown(self) -> None:
        with self._lock:
            for pool in (self._executor, self._page_executor):
                if pool is not None:
                    pool.shutdown(wait=False, cancel_futures=True)
            self._executor = self._page_executor = None


def job_body(state: JobState, base: str) -> dict[str, Any]:
    """The JSON a poller sees."""
    body = {k: v for k, v in asdict(state).items() if k not in ("host", "pid")}
    body["links"] = [{"rel": "self", "type": "application/json", "href": f"{base}/reports/jobs/{state.id}"}]
    if state.status == "done":
        body["links"].append({"rel": "enclosure", "type": "application/pdf",
                              "href": f"{base}/reports/jobs/{state.id}/file"})
    return body
