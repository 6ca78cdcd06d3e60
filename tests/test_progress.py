"""Progress is a redrawn bar only on a terminal; in a log it is whole lines at each tenth of the work."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

from tqdm import tqdm

from geo_service.progress import PlainProgress, progress

ROOT = Path(__file__).resolve().parent.parent


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_and_a_log_gets_lines():
    assert isinstance(progress(10, "x", "row", file=_Tty()), tqdm)
    out = io.StringIO()
    bar = progress(1000, "hydrants.csv: writing", " rows", file=out)
    assert isinstance(bar, PlainProgress)
    for _ in range(100):
        bar.update(10)
    bar.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert lines == [f"hydrants.csv: writing: {p} % | {10 * p}/1000 rows" for p in range(10, 101, 10)]


def test_plain_lines_without_a_total_come_every_few_seconds_and_at_the_end():
    now = [0.0]
    out = io.StringIO()
    bar = PlainProgress(None, "a.csv: reading", " rows", out, every_s=10, clock=lambda: now[0])
    for _ in range(30):
        now[0] += 1
        bar.update(100)
    bar.update(50)  # at the end, what came after the last line
    bar.close()
    bar.close()
    assert out.getvalue().splitlines() == ["a.csv: reading: 1,000 rows", "a.csv: reading: 2,000 rows",
                                           "a.csv: reading: 3,000 rows", "a.csv: reading: 3,050 rows"]


def test_a_stage_change_starts_the_tenths_again():
    out = io.StringIO()
    bar = progress(None, "f: reading", " rows", file=out)
    bar.set_description("f: validating")
    bar.reset(total=4)
    for _ in range(4):
        bar.update(1)
    bar.close()
    assert out.getvalue().splitlines() == [f"f: validating: {p} % | {p // 25}/4 rows" for p in (25, 50, 75, 100)]


def _import(tmp_path: Path, tty: bool) -> bytes:
    """`geo-service import` of a small CSV with stderr on a pseudo-terminal or a pipe; its stderr bytes."""
    csv = tmp_path / "h.csv"
    csv.write_text("lon,lat,status\n" + "".join(f"121.40{i:03d},31.12,working\n" for i in range(300)),
                   encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GEO_SERVICE_GPKG": str(tmp_path / f"s{tty}.gpkg")}
    args = [sys.executable, "-m", "geo_service.cli", "import", str(csv), "--layer", "fire_hydrants",
            "--new-store"]
    if not tty:
        return subprocess.run(args, env=env, capture_output=True, timeout=300).stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=300)
    os.close(leader)
    assert proc.returncode == 0
    return b"".join(chunks)


def test_geo_service_import_draws_a_bar_only_on_a_terminal(tmp_path):
    logged = _import(tmp_path, tty=False)
    assert b"\r" not in logged, logged[-500:]
    assert b"h.csv: writing: 100 % | 300/300 rows" in logged
    on_terminal = _import(tmp_path, tty=True)
    assert b"\r" in on_terminal  # tqdm redraws in place
    assert b"h.csv: writing: 100 %" not in on_terminal
