"""Start and stop a real `geo-service serve` (uvicorn) on 127.0.0.1 for tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(env: dict[str, str], workers: int = 1, timeout: float = 60.0,
                   log: Path | None = None, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """Yield the base URL of a server started with these GEO_SERVICE_* settings; stop it afterwards."""
    port = free_port()
    full_env = {**os.environ, **env}
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "geo_service.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), *extra_args],
        env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}" + (f"; log: {log}" if log else ""))
            try:
                with urllib.request.urlopen(base + "/conformance", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server on {base} did not come up in {timeout:.0f} s")
            time.sleep(0.2)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        if log:
            out.close()
