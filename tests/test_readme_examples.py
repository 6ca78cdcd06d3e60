"""Every curl and geo-service example of README.md works as written, against a real server on the demo.

The examples are the fenced ``sh`` blocks of README.md that hold a ``curl`` or ``geo-service`` command.
Each block runs as one bash script (so a block's ``KEY=...`` reaches its later lines) in a fresh working
directory, with ``http://127.0.0.1:8000`` rewritten to the test server, ``curl`` made to fail on HTTP
errors (``-f``) and ``geo-service`` on PATH as ``source .venv/bin/activate`` puts it. A block fails the
test when any command in it exits non-zero.

A block that cannot run in a test says so in the README, on the line before its fence::

    <!-- readme-examples: skip: REASON -->

(the two commands that install and serve, imports of the reader's own files, a database of the
reader's own). Both stores: the GeoPackage the demo is written to, and PostGIS on the throwaway
cluster of tests/pg.py, filled by ``geo-service db init`` and ``geo-service db copy`` from that file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import pg
from tests.servers import running_server

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SKIP = re.compile(r"<!--\s*readme-examples:\s*skip:\s*(?P<reason>\S.*?)\s*-->")
COMMAND = re.compile(r"^\s*(?:\w+=\$\()?(curl|geo-service)\b", re.M)
README_BASE = "http://127.0.0.1:8000"
PRELUDE = """set -euo pipefail
trap 'echo "FAILED (exit $?): $BASH_COMMAND" >&2' ERR
curl() { command curl -f -sS --max-time 600 "$@"; }
"""


def readme_blocks() -> list[tuple[int, str, str | None]]:
    """(line of the fence, the block's text, skip reason or None) for each sh block with an example
    or a skip marker."""
    lines = README.read_text(encoding="utf-8").splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip() in ("```sh", "```bash", "```shell"):
            start = i
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            body = "\n".join(lines[start + 1:j])
            marker = SKIP.search(lines[start - 1]) if start else None
            if COMMAND.search(body) or marker:
                out.append((start + 1, body, marker["reason"] if marker else None))
            i = j
        i += 1
    return out


BLOCKS = readme_blocks()
RUN = [(line, body) for line, body, reason in BLOCKS if reason is None]


def test_examples_are_found_and_every_skip_says_why():
    assert len(RUN) >= 6, "the README's runnable examples were not found"
    skipped = [(line, reason) for line, _, reason in BLOCKS if reason is not None]
    assert all(len(reason) >= 10 for _, reason in skipped), skipped
    assert any("serve_demo.sh" in body for _, body, reason in BLOCKS if reason), "command 1 is marked"
    assert "KEY=..." not in README.read_text(encoding="utf-8"), "the apikey example runs as written"


def _bin_dir(tmp: Path) -> Path:
    """A folder with ``geo-service`` as ``source .venv/bin/activate`` would provide it (this interpreter)."""
    bindir = tmp / "bin"
    bindir.mkdir()
    exe = bindir / "geo-service"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m geo_service.cli "$@"\n', encoding="utf-8")
    exe.chmod(0o755)
    return bindir


def _cli(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "geo_service.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def served(request, tmp_path_factory):
    """(base URL, environment of the examples, working directory) of a server on the demo data."""
    work = tmp_path_factory.mktemp(f"readme-{request.param}")
    gpkg = work / "demo.gpkg"
    (work / "keys.json").write_text("[]", encoding="utf-8")
    env = {"GEO_SERVICE_GPKG": str(gpkg), "GEO_SERVICE_STATIC_MAPS_DIR": str(work / "static_maps"),
           "GEO_SERVICE_API_KEYS_FILE": str(work / "keys.json"), "PYTHONPATH": str(ROOT)}
    _cli(env, "demo")
    cluster = dbname = None
    if request.param == "postgis":
        cluster = pg.shared_cluster()
        url = cluster.create_database(bare=True)
        dbname = url.rsplit("/", 1)[1]
        env = {**env, "GEO_SERVICE_DATABASE_URL": url}
        _cli(env, "db", "init")
        _cli(env, "db", "copy", "--from", f"gpkg:{gpkg}", "--to", url)
    env["PATH"] = f"{_bin_dir(work)}{os.pathsep}{os.environ['PATH']}"
    try:
        with running_server(env, log=work / "server.log") as base:
            yield base, env, work
    finally:
        if cluster is not None:
            cluster.drop_database(dbname)


@pytest.mark.parametrize(("line", "body"), RUN, ids=[f"README.md:{line}" for line, _ in RUN])
def test_readme_example_runs(served, line, body):
    base, env, work = served
    script = PRELUDE + body.replace(README_BASE, base)
    done = subprocess.run(["bash", "-c", script], cwd=work, env={**os.environ, **env},
                          capture_output=True, timeout=900)  # bytes: an example may print a PDF
    stderr = done.stderr.decode("utf-8", "replace")[-3000:]
    assert done.returncode == 0, f"README.md:{line} failed\n{body}\n--- stderr\n{stderr}"
