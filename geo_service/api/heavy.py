"""Bounded heavy work: analyses and reports share a few slots, a short queue, and a per-client rate.

Reading features costs milliseconds; an uncached analysis or a report PDF costs seconds of CPU. Left
unbounded, a handful of report requests take both cores and every read waits behind them. So heavy
computations run only inside a slot (default: one per two cores), at most `queue` more wait for one,
and beyond that the client gets 429 with Retry-After. Each client (its key's name, else its address)
may also start only so many heavy computations per minute (per worker). Cached answers need no slot.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from fastapi import Request

from ..settings import Settings
from .errors import ApiError

T = TypeVar("T")
POLL_S = 0.05  # how often a waiting request tries the slots again


def default_concurrency() -> int:
    return max(1, (os.cpu_count() or 2) // 2)


def heavy_slot_dir(settings: Settings) -> Path:
    """One folder per host and data set: beside the reports, which every worker of the service shares
    (or, when that folder is not writable, one in the temp folder named after it)."""
    folder = Path(settings.static_maps_dir).resolve() / ".heavy-slots"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    except OSError:
        tag = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"compound-gis-heavy-{tag}"


class Busy(ApiError):
    def __init__(self, description: str, retry_after: int):
        super().__init__(429, "TooManyRequests", description, headers={"Retry-After": str(retry_after)})


class HeavyWork:
    """Slots, a bounded queue and a per-client token bucket for expensive computations.

    A slot is an exclusive lock on one of `concurrency` files in `slot_dir`, so the bound holds for all
    the workers of a host together (uvicorn --workers N), not per process."""

    def __init__(self, concurrency: int, queue: int, per_minute: int, slot_dir: Path, wait_s: float = 60.0):
        self.concurrency, self.queue, self.per_minute, self.wait_s = concurrency, queue, per_minute, wait_s
        slot_dir.mkdir(parents=True, exist_ok=True)
        self._slot_files = [slot_dir / f"slot-{i}.lock" for i in range(concurrency)]
        self._lock = threading.Lock()
        self._waiting = 0
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last refill time)

    def _take_token(self, client: str) -> None:
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * self.per_minute / 60.0)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = math.ceil((1.0 - tokens) * 60.0 / self.per_minute)
                raise Busy(f"{client}: more than {self.per_minute} heavy computations (analyses, reports) a "
                           f"minute; try again in {wait} s", wait)
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > 10_000:  # forget idle clients rather than grow without bound
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 120}

    def _try_slot(self) -> int | None:
        for path in self._slot_files:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                os.close(fd)
        return None

    def _wait_slot(self) -> int | None:
        deadline = time.monotonic() + self.wait_s
        while (fd := self._try_slot()) is None:
            if time.monotonic() > deadline:
                return None
            time.sleep(POLL_S)
        return fd

    def run(self, client: str, work: Callable[[], T]) -> T:
        """Run `work` in a slot (waiting in the queue if needed), or raise Busy (429)."""
        self._take_token(client)
        fd = self._try_slot()
        if fd is None:
            with self._lock:
                if self._waiting >= self.queue:
                    raise Busy(f"the server is busy with {self.concurrency} heavy computation(s) and "
                               f"{self._waiting} waiting; try again shortly", 5)
                self._waiting += 1
            try:
                fd = self._wait_slot()
            finally:
                with self._lock:
                    self._waiting -= 1
            if fd is None:
                raise Busy("waited too long for a free slot for this heavy computation; try again shortly", 5)
        try:
            return work()
        finally:
            os.close(fd)  # closing the descriptor releases its lock


def client_of(request: Request) -> str:
    """Whom the rate applies to: the API key's name when the request carried a valid one, else the address."""
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        return f"key {principal.name}"
    return f"address {request.client.host if request.client else 'unknown'}"


def heavy(request: Request, work: Callable[[], T]) -> T:
    return request.app.state.heavy.run(client_of(request), work)
