"""A throwaway PostgreSQL + PostGIS cluster for tests: temp data dir, free port on 127.0.0.1.

One cluster serves a whole test session (`shared_cluster()`); each store gets its own
database cloned from a template that already has PostGIS, so tests never see each
other's rows. PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` user (data dir handed to it).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

TEMPLATE = "gcs_template"  # PostGIS and the store's schema for the project's catalog
BARE_TEMPLATE = "gcs_template_bare"  # PostGIS only: for tests of schema creation itself


def find_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<v>/bin with initdb, pg_ctl and a PostGIS extension beside it."""
    env = os.environ.get("PG_BINDIR")
    candidates = [Path(env)] if env else sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                                                key=lambda p: int(p.parent.name), reverse=True)
    for bindir in candidates:
        if not ((bindir / "initdb").exists() and (bindir / "pg_ctl").exists()):
            continue
        try:
            sharedir = subprocess.run([bindir / "pg_config", "--sharedir"], capture_output=True, text=True,
                                      check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            sharedir = f"/usr/share/postgresql/{bindir.parent.name}"
        if (Path(sharedir) / "extension" / "postgis.control").exists():
            return bindir
    return None


def missing_reason() -> str | None:
    """Why no cluster can be started here (None when it can)."""
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        return "psycopg / psycopg-pool not installed (pip install -e '.[postgis]')"
    if find_bindir() is None:
        return ("PostgreSQL + PostGIS binaries not found (apt-get install postgresql postgresql-15-postgis-3; "
                "scripts/test.sh does it)")
    return None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """initdb + pg_ctl around a temp directory; ``stop()`` removes it."""

    def __init__(self, bindir: Path | None = None, port: int | None = None):
        self.bindir = bindir or find_bindir()
        if self.bindir is None:
            raise RuntimeError(missing_reason())
        self.root = Path(tempfile.mkdtemp(prefix="gcs-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = port or _free_port()
        self._as_postgres = os.geteuid() == 0
        self._names = itertools.count(1)
        if self._as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        conf = {"listen_addresses": "'127.0.0.1'", "port": str(self.port), "unix_socket_directories": "''",
                "fsync": "off", "full_page_writes": "off", "max_connections": "200",
                "shared_buffers": "64MB", "log_min_messages": "warning"}
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("".join(f"{k} = {v}\n" for k, v in conf.items()))
        self.start()
        atexit.register(self.stop)
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {BARE_TEMPLATE}")
        with self.admin(BARE_TEMPLATE) as conn:
            conn.execute("CREATE EXTENSION postgis")
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE} TEMPLATE {BARE_TEMPLATE}")
        with self.admin(TEMPLATE) as conn:
            from geo_service.catalog import load_catalog
            from geo_service.settings import default_layers_dir
            from geo_service.store.postgis_schema import ensure_schema

            ensure_schema(conn, load_catalog(default_layers_dir()))

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / tool), *args]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def admin(self, dbname: str = "postgres"):
        import psycopg

        return psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=5)

    # ---- server life
    def start(self, timeout: float = 30) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(int(timeout)), "start")

    def stop_server(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        self.stop_server(mode)
        self.start()

    def is_running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def stop(self) -> None:
        """Stop the server and remove the data dir (idempotent)."""
        if self.data.exists():
            self.stop_server("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # ---- databases
    def create_database(self, name: str | None = None, bare: bool = False, template: str | None = None) -> str:
        """A new database with PostGIS and (unless ``bare``) the store's tables; returns its URL.

        ``template`` clones another database of the cluster instead (e.g. one holding the demo data)."""
        name = name or f"t{os.getpid()}_{next(self._names)}"
        template = template or (BARE_TEMPLATE if bare else TEMPLATE)
        with self.admin() as conn:
            for attempt in range(20):  # the template must have no other session while it is copied
                try:
                    conn.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
                    break
                except Exception as e:  # ObjectInUse: retry briefly
                    if "being accessed" not in str(e) or attempt == 19:
                        raise
                    time.sleep(0.1)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with contextlib.suppress(Exception), self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_shared: Cluster | None = None


def shared_cluster() -> Cluster:
    """The session's cluster, started on first use (skips the calling test when it cannot run)."""
    global _shared
    if _shared is None:
        reason = missing_reason()
        if reason:
            import pytest

            pytest.skip(reason)
        _shared = Cluster()
    return _shared


def throwaway_store(catalog, **kwargs):
    """A PostGIS store on a fresh database of the shared cluster; closing it drops the database."""
    from geo_service.store.postgis import PostGISStore

    cluster = shared_cluster()
    url = cluster.create_database()
    dbname = url.rsplit("/", 1)[1]

    class _Throwaway(PostGISStore):
        def close(self) -> None:
            super().close()
            cluster.drop_database(dbname)

    return _Throwaway(url, catalog, **kwargs)
