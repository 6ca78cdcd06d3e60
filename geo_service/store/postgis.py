"""PostGIS store: the FeatureStore contract on PostgreSQL, for shared, multi-worker, multi-host use.

Why this shape:
- One truth in the database. Rows, version stamps (``gcs_layer_state``, bumped by a statement
  trigger in the same transaction as each change) and the audit log all live there, so an edit
  through one worker or host is visible through every other at once; nothing is cached that
  could go stale except the layer extent, which is keyed by the version stamp.
- Queries run in SQL: the GiST index answers bbox/geometry tests, btree indexes the filters,
  LIMIT/OFFSET the paging, and ``numberMatched`` is counted only when the page is full (a page
  that is not full already tells the total). ``geojson_page`` builds the GeoJSON there and
  ``tile`` the vector tiles (ST_AsMVT).
- Writes lock the row (``SELECT ... FOR UPDATE``) and run ``check_write`` inside the transaction,
  so of two editors with the same ETag the second gets 412.
- The database going away is a 503, never a hang or a 500: bounded connect, pool, statement and
  lock timeouts; ``Unavailable`` from any connection failure; reads (and writes that had not yet
  asked to commit) are retried once on a fresh connection when the one they got was dead; the
  pool gives up reconnect attempts quickly so a waiting request starts a new one at once, which is
  what brings service back within a second or two of PostgreSQL's return.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import psycopg
import pyproj
import shapely
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout
from shapely.geometry.base import BaseGeometry

from ..catalog import Catalog, LayerSpec
from ..crs import CRS84
from . import mvt
from .base import AUDIT_KEYS, Bounds, Documents, FeatureStore, FrameSource, check_write, frame_chunks
from .errors import Conflict, InvalidFeature, InvalidQuery, NotFound, Unavailable
from .geojson import GeoJSONPage
from .postgis_schema import SCHEMA_VERSION, SchemaError, ensure_schema
from .postgis_sql import (
    PANDAS_DTYPES,
    build_where,
    cast,
    column_expr,
    geojson_expr,
    order_by,
    paging,
    projection,
    text_problem,
    tile_sql,
)
from .query import FeatureChanges, ImportSummary, Query, QueryResult

T = TypeVar("T")
AT_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'  # the embedded store's audit/last-modified time format
WGS84 = pyproj.CRS.from_epsg(4326)  # parsed once: parsing "EPSG:4326" for every result frame costs ~0.2 ms


class _Attempt:
    """Whether a write has asked to commit: before that, a dead connection means nothing was written."""

    committing = False


class PostGISStore(FeatureStore):
    """Layers as PostGIS tables; see the module docstring for the design.

    ``database_url`` is a libpq URL (``postgresql://user:pass@host:5432/db``); its own parameters
    (``connect_timeout``, ``options``, ``sslmode``...) win over the defaults set here.
    """

    def __init__(self, database_url: str, catalog: Catalog, metric_crs: str | None = None, *,
                 service_area: Bounds | None = None, schema: str | None = None, min_size: int = 1, max_size: int = 10,
                 connect_timeout: float = 2.0, pool_timeout: float = 2.5, statement_timeout_ms: int = 5000,
                 lock_timeout_ms: int = 3000, geojson_precision: int = 9, auto_init: bool = True):
        super().__init__(catalog, metric_crs, service_area)
        self.database_url = database_url
        self.pool_timeout = pool_timeout
        self.geojson_precision = geojson_precision
        self._auto_init = auto_init
        self._ready = False
        self._init_lock = threading.Lock()
        self._extent_cache: dict[str, tuple[int, tuple[float, float, float, float] | None]] = {}
        self._seq: dict[str, str] = {}
        params = conninfo_to_dict(database_url)
        self.dsn_display = f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname', '')}"
        settings = [f"statement_timeout={int(statement_timeout_ms)}", f"lock_timeout={int(lock_timeout_ms)}",
                    "idle_in_transaction_session_timeout=60000", "TimeZone=UTC"]
        if schema:
            settings.append(f"search_path={schema},public")
        options = " ".join(f"-c {s}" for s in settings)
        params["options"] = (options + " " + params.get("options", "")).strip()  # the URL's own come last, win
        params.setdefault("connect_timeout", str(max(1, round(connect_timeout))))
        params.setdefault("application_name", "compound-gis")
        for key, value in (("keepalives", "1"), ("keepalives_idle", "10"), ("keepalives_interval", "3"),
                           ("keepalives_count", "3"), ("tcp_user_timeout", "10000")):
            params.setdefault(key, value)
        self._pool = ConnectionPool(make_conninfo(**params), min_size=min_size, max_size=max_size,
                                    timeout=pool_timeout, reconnect_timeout=max(2.0, pool_timeout),
                                    kwargs={"autocommit": True}, name="compound-gis", open=False)
        self._pool.open(wait=False)

    # ------------------------------------------------------------------ plumbing
    def _run(self, fn: Callable[[psycopg.Connection, _Attempt], T]) -> T:
        """Run ``fn`` on a pooled connection, mapping database trouble to the store's errors."""
        if not self._ready:
            self.init_schema()
        for attempt_no in (1, 2):
            attempt, conn = _Attempt(), None
            try:
                with self._pool.connection() as conn:
                    return fn(conn, attempt)
            except PoolTimeout:
                raise Unavailable(f"the database at {self.dsn_display} did not give a connection within "
                                  f"{self.pool_timeout:g} s; retry shortly") from None
            except (psycopg.OperationalError, psycopg.InterfaceError) as e:
                dead = conn is not None and (conn.broken or conn.closed)
                if attempt_no == 1 and dead and not attempt.committing:
                    self._pool.check()  # drop the other dead connections a restart left in the pool
                    continue
                if isinstance(e, psycopg.errors.LockNotAvailable):
                    raise Unavailable("the feature is being changed by another request; retry shortly") from None
                if isinstance(e, psycopg.errors.QueryCanceled):
                    raise Unavailable(f"the database took too long ({_first_line(e)}); retry shortly") from None
                outcome = " (the write may or may not have been saved: read it again)" if attempt.committing else ""
                raise Unavailable(f"the database at {self.dsn_display} is unavailable: {_first_line(e)}"
                                  f"{outcome}") from None
            except psycopg.DataError as e:
                raise InvalidQuery(f"the database rejected a value: {_first_line(e)}") from None
        raise AssertionError("unreachable")

    def init_schema(self) -> int:
        """Create or upgrade the schema (idempotent); returns the schema version. Runs once per store."""
        with self._init_lock:
            try:
                with self._pool.connection() as conn:
                    if self._auto_init:
                        version = ensure_schema(conn, self.catalog)
                    else:
                        version = _recorded_version(conn)
            except PoolTimeout:
                raise Unavailable(f"the database at {self.dsn_display} did not give a connection within "
                                  f"{self.pool_timeout:g} s; retry shortly") from None
            except (psycopg.OperationalError, psycopg.InterfaceError) as e:
                raise Unavailable(f"the database at {self.dsn_display} is unavailable: {_first_line(e)}") from None
            except psycopg.errors.InsufficientPrivilege as e:
                raise SchemaError(f"the schema at {self.dsn_display} is missing or old and this user may not "
                                  f"change it ({_first_line(e)}); run `geo-service db init` as the database "
                                  "owner") from None
            self._ready = True
            return version

    def _spec(self, layer: str) -> LayerSpec:
        if layer not in self.catalog:
            raise NotFound(f"unknown layer {layer!r}")
        return self.catalog.get(layer)

    # ------------------------------------------------------------------ reads
    def version(self, layer: str) -> int:
        self._spec(layer)
        return self._run(lambda conn, _: _layer_state(conn, layer)[0])

    def last_modified(self, layer: str) -> str:
        self._spec(layer)
        return self._run(lambda conn, _: _layer_state(conn, layer)[1])

    def layer_state(self, layer: str) -> tuple[int, str]:
        """(version, last_modified) in one round trip: what the items endpoint needs for its ETag."""
        self._spec(layer)
        return self._run(lambda conn, _: _layer_state(conn, layer))

    def extent(self, layer: str) -> tuple[float, float, float, float] | None:
        """ST_Extent of the layer, kept per version stamp (a full scan is worth sparing)."""
        self._spec(layer)

        def run(conn, _):
            version = _layer_state(conn, layer)[0]
            cached = self._extent_cache.get(layer)
            if cached and cached[0] == version:
                return cached[1]
            row = conn.execute(sql.SQL("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                       "(SELECT ST_Extent(geom) AS e FROM {}) s").format(sql.Identifier(layer))
                               ).fetchone()
            ext = None if row[0] is None else tuple(float(v) for v in row)
            self._extent_cache[layer] = (version, ext)
            return ext

        return self._run(run)

    def get(self, layer: str, feature_id: int) -> dict[str, Any]:
        spec = self._spec(layer)
        row = self._run(lambda conn, _: self._read_row(conn, spec, feature_id, lock=False))
        if row is None:
            raise NotFound(f"{layer}: no feature with id {feature_id}")
        return row

    def _read_row(self, conn: psycopg.Connection, spec: LayerSpec, feature_id: int, lock: bool
                  ) -> dict[str, Any] | None:
        if not (-(2**63) <= int(feature_id) < 2**63):
            return None
        cols = sql.SQL(", ").join(column_expr(f) for f in spec.fields)
        stmt = sql.SQL("SELECT ST_AsBinary(geom), {} FROM {} WHERE id = %s").format(cols, sql.Identifier(spec.id))
        if lock:
            stmt += sql.SQL(" FOR UPDATE")
        row = conn.cursor(binary=True).execute(stmt, (int(feature_id),)).fetchone()
        if row is None:
            return None
        geom = shapely.from_wkb(row[0]) if row[0] is not None else None
        return {"id": int(feature_id), "properties": dict(zip(spec.field_names, row[1:], strict=True)),
                "geometry": geom}

    def query(self, layer: str, query: Query | None = None) -> QueryResult:
        spec = self._spec(layer)
        q = query or Query()
        names = projection(spec, q.properties)
        select = sql.SQL("id, ST_AsBinary(geom)") + sql.SQL("").join(
            sql.SQL(", ") + column_expr(spec.field(n)) for n in names)
        rows, matched = self._page(spec, q, select, [])
        return QueryResult(_frame(spec, names, rows), matched)

    def geojson_page(self, layer: str, query: Query | None = None, crs: str = CRS84) -> GeoJSONPage:
        """Lon/lat pages are encoded by PostgreSQL, so no rows become Python objects.

        Same selection, order and paging as ``query``; each feature is
        ``{"type":"Feature","id":..,"geometry":..,"properties":{..}}`` with ``geojson_precision``
        decimals (9 = 0.1 mm). Pages in another CRS are reprojected here (the base class's way).
        """
        if crs != CRS84:
            return super().geojson_page(layer, query, crs)
        spec = self._spec(layer)
        q = query or Query()
        names = projection(spec, q.properties)
        expr, params = geojson_expr(spec, names, self.geojson_precision)
        rows, matched = self._page(spec, q, expr, params)
        return GeoJSONPage([r[0] for r in rows], matched)

    def tile(self, layer: str, z: int, x: int, y: int) -> bytes:
        """Cut by the database (ST_AsMVTGeom/ST_AsMVT over the GiST index): nothing of the layer is
        held in this process, whatever its size."""
        spec = self._spec(layer)
        mvt.check_tile(z, x, y)
        stmt, params = tile_sql(spec, z, x, y)
        return self._run(lambda conn, _: bytes(conn.execute(stmt, params).fetchone()[0]))

    def _page(self, spec: LayerSpec, q: Query, select: sql.Composable, select_params: list[Any]
              ) -> tuple[list[tuple], int]:
        where = build_where(spec, q, self.metric_crs)
        order = order_by(spec, q.sort)
        page, page_params = paging(q)
        table = sql.Identifier(spec.id)
        stmt = sql.SQL("SELECT {} FROM {} AS t{}{}{}").format(select, table, where.sql(), order, page)
        count = sql.SQL("SELECT count(*) FROM {} AS t{}").format(table, where.sql())

        def run(conn, _):
            rows: list[tuple] = []
            if q.limit != 0:
                rows = conn.cursor(binary=True).execute(stmt, select_params + where.params + page_params).fetchall()
                n = len(rows)
                if (q.limit is None or n < q.limit) and (n > 0 or not q.offset):
                    return rows, (q.offset or 0) + n  # a page that is not full tells the total
            return rows, conn.execute(count, where.params).fetchone()[0]

        return self._run(run)

    def history(self, layer: str, feature_id: int) -> list[dict[str, Any]]:
        self.catalog.get(layer)
        rows = self._run(lambda conn, _: conn.execute(
            "SELECT action, actor, to_char(at AT TIME ZONE 'UTC', %s), before, after FROM gcs_audit "
            "WHERE layer = %s AND feature_id = %s ORDER BY id", (AT_FORMAT, layer, int(feature_id))).fetchall())
        return [{"action": a, "actor": who, "at": at, "before": b, "after": af} for a, who, at, b, af in rows]

    def documents(self) -> Documents:
        return _PgDocuments(self)

    def health(self) -> dict[str, Any]:
        """For /health and /ready: never raises. ``ok`` is whether a query round-trip worked just now."""
        t0 = time.monotonic()
        info: dict[str, Any] = {"backend": "postgis", "database": self.dsn_display}
        try:
            with self._pool.connection(timeout=self.pool_timeout) as conn:
                info["schema_version"] = _recorded_version(conn)
                info["writable"] = conn.execute("SHOW transaction_read_only").fetchone()[0] == "off"
            info.update(ok=info["schema_version"] >= SCHEMA_VERSION, status="ok", kind="postgis")
            if not info["ok"]:
                info["status"] = "schema missing or old: run `geo-service db init`"
        except (PoolTimeout, psycopg.Error) as e:
            info.update(ok=False, status=f"unavailable: {_first_line(e)}")
        info["latency_ms"] = round((time.monotonic() - t0) * 1000, 1)
        stats = self._pool.get_stats()
        info["pool"] = {k: stats.get(k, 0) for k in ("pool_size", "pool_available", "requests_waiting",
                                                     "connections_lost", "requests_errors")}
        return info

    # ------------------------------------------------------------------ writes
    # Text PostgreSQL cannot hold (NUL, lone surrogates) is refused before validation, which would
    # otherwise fail on it with an encoding error (a 500) rather than a 422.
    def create(self, layer: str, properties: Mapping[str, Any], geometry: BaseGeometry | dict,
               feature_id: int | None = None, actor: str | None = None) -> int:
        _check_texts(properties, actor)
        return super().create(layer, properties, geometry, feature_id=feature_id, actor=actor)

    def replace(self, layer: str, feature_id: int, properties: Mapping[str, Any], geometry: BaseGeometry | dict,
                actor: str | None = None, if_match: str | None = None) -> None:
        _check_texts(properties, actor)
        super().replace(layer, feature_id, properties, geometry, actor=actor, if_match=if_match)

    def update(self, layer: str, feature_id: int, properties: Mapping[str, Any] | None = None,
               geometry: BaseGeometry | dict | None = None, actor: str | None = None,
               if_match: str | None = None) -> None:
        _check_texts(properties, actor)
        super().update(layer, feature_id, properties, geometry, actor=actor, if_match=if_match)

    def delete(self, layer: str, feature_id: int, actor: str | None = None, if_match: str | None = None) -> None:
        _check_texts(None, actor)
        super().delete(layer, feature_id, actor=actor, if_match=if_match)

    def _audit(self, conn: psycopg.Connection, layer: str, feature_id: int, action: str, actor: str | None,
               before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        conn.execute("INSERT INTO gcs_audit (layer, feature_id, action, actor, before, after) "
                     "VALUES (%s, %s, %s, %s, %s, %s)",
                     (layer, int(feature_id), action, actor, _audit_json(before), _audit_json(after)))

    def _insert(self, layer: str, props: dict[str, Any], geom: BaseGeometry, feature_id: int | None,
                actor: str | None) -> int:
        spec = self._spec(layer)
        full = {n: props.get(n) for n in spec.field_names}
        cols = [sql.Identifier("geom")] + [sql.Identifier(n) for n in spec.field_names]
        marks = [sql.SQL("ST_GeomFromWKB(%s, 4326)")] + [cast(f) for f in spec.fields]
        params: list[Any] = [_wkb(geom)] + [full[n] for n in spec.field_names]
        if feature_id is not None:
            cols.insert(0, sql.Identifier("id"))
            marks.insert(0, sql.SQL("%s"))
            params.insert(0, int(feature_id))
        stmt = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
            sql.Identifier(layer), sql.SQL(", ").join(cols), sql.SQL(", ").join(marks))

        def run(conn, attempt):
            with conn.transaction():
                fid = conn.execute(stmt, params).fetchone()[0]
                if feature_id is not None:
                    self._advance_sequence(conn, layer, int(feature_id))
                self._audit(conn, layer, fid, "create", actor, None, {"properties": full, "geometry": geom})
                attempt.committing = True
            return int(fid)

        try:
            return self._run(run)
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"{layer}: a feature with id {feature_id} already exists") from None

    def _update(self, layer: str, feature_id: int, props: dict[str, Any], geom: BaseGeometry | None,
                actor: str | None, if_match: str | None, partial: bool) -> None:
        spec = self._spec(layer)
        sets = [sql.SQL("{} = {}").format(sql.Identifier(k), cast(spec.field(k))) for k in props]
        values: list[Any] = list(props.values())
        if geom is not None:
            sets.append(sql.SQL("geom = ST_GeomFromWKB(%s, 4326)"))
            values.append(_wkb(geom))

        def run(conn, attempt):
            with conn.transaction():
                current = self._read_row(conn, spec, feature_id, lock=True)
                check_write(spec, layer, feature_id, current, props, if_match, partial)
                if sets:
                    conn.execute(sql.SQL("UPDATE {} SET {} WHERE id = %s").format(
                        sql.Identifier(layer), sql.SQL(", ").join(sets)), values + [int(feature_id)])
                    after = {"properties": {**current["properties"], **props},
                             "geometry": geom if geom is not None else current["geometry"]}
                    self._audit(conn, layer, feature_id, "update" if partial else "replace", actor, current, after)
                attempt.committing = True

        self._run(run)

    def _delete(self, layer: str, feature_id: int, actor: str | None, if_match: str | None) -> None:
        spec = self._spec(layer)

        def run(conn, attempt):
            with conn.transaction():
                current = self._read_row(conn, spec, feature_id, lock=True)
                check_write(spec, layer, feature_id, current, {}, if_match, partial=False)
                conn.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(layer)),
                             (int(feature_id),))
                self._audit(conn, layer, feature_id, "delete", actor, current, None)
                attempt.committing = True

        self._run(run)

    def _copy_chunk(self, conn: psycopg.Connection, layer: str, frame: gpd.GeoDataFrame,
                    progress: Callable[[int], None] | None) -> int:
        """One chunk of an import inside its transaction: ids checked against what is stored (and earlier
        chunks), missing ones drawn from the sequence, rows sent with COPY."""
        spec = self.catalog.get(layer)
        n = len(frame)
        ids = frame["id"] if "id" in frame.columns else pd.Series([pd.NA] * n, dtype="Int64")
        id_values = [None if pd.isna(v) else int(v) for v in ids.tolist()]
        given = [i for i in id_values if i is not None]
        geoms = np.asarray(frame.geometry.values, dtype=object)
        wkb = shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True, output_dimension=2)
        columns = [_column_values(frame[name]) if name in frame.columns else [None] * n for name in spec.field_names]
        t = sql.Identifier(layer)
        clash = [r[0] for r in conn.execute(sql.SQL("SELECT id FROM {} WHERE id = ANY(%s) ORDER BY id")
                                            .format(t), (given,))]
        if clash:
            shown = ", ".join(map(str, clash[:10])) + (" ..." if len(clash) > 10 else "")
            raise Conflict(f"{layer}: {len(clash)} feature id(s) already exist: {shown} "
                           f"(use --mode replace, or drop the id column to get new ids)")
        top = conn.execute(sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(t)).fetchone()[0]
        floor = max([top, *given])
        if floor > 0:
            self._advance_sequence(conn, layer, floor)
        missing = id_values.count(None)
        if missing:
            fresh = iter(r[0] for r in conn.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                                                    (self._sequence(conn, layer), missing)))
            id_values = [i if i is not None else next(fresh) for i in id_values]
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
            t, sql.SQL(", ").join(map(sql.Identifier, ["id", "geom", *spec.field_names])))
        with conn.cursor().copy(copy_sql) as copy:
            for k, row in enumerate(zip(id_values, wkb, *columns, strict=True)):
                copy.write_row(row)
                if progress is not None and (k + 1) % 5000 == 0:
                    progress(5000)
        if progress is not None and n % 5000:
            progress(n % 5000)
        return n

    def _sequence(self, conn: psycopg.Connection, layer: str) -> str:
        if layer not in self._seq:
            self._seq[layer] = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')",
                                            (sql.Identifier(layer).as_string(conn),)).fetchone()[0]
        return self._seq[layer]

    def _advance_sequence(self, conn: psycopg.Connection, layer: str, at_least: int) -> None:
        """Make the id sequence hand out ids above ``at_least`` (ids are never reused)."""
        seq = self._sequence(conn, layer)
        conn.execute("SELECT setval(%s::regclass, %s) WHERE %s > coalesce(pg_sequence_last_value(%s::regclass), 0)",
                     (seq, at_least, at_least, seq))

    def import_frame(self, layer: str, frame: FrameSource, mode: str = "append",
                     progress: Callable[[int], None] | None = None) -> ImportSummary:
        if mode not in ("append", "replace"):
            raise InvalidQuery(f"unknown import mode {mode!r}; use append or replace")
        self.catalog.get(layer)
        t = sql.Identifier(layer)

        def run(conn, attempt):
            with conn.transaction():
                conn.execute("SET LOCAL statement_timeout = 0")
                conn.execute("SET LOCAL lock_timeout = 0")
                deleted = conn.execute(sql.SQL("DELETE FROM {}").format(t)).rowcount if mode == "replace" else 0
                inserted = sum(self._copy_chunk(conn, layer, chunk, progress) for chunk in frame_chunks(frame))
                version = _layer_state(conn, layer)[0]
                attempt.committing = True
            try:
                conn.execute(sql.SQL("ANALYZE {}").format(t))  # fresh statistics for the planner
            except psycopg.Error:
                pass  # committed already; autovacuum analyses later
            return ImportSummary(layer=layer, mode=mode, inserted=inserted, deleted=deleted, version=version)

        try:
            return self._run(run)
        except psycopg.errors.UniqueViolation as e:
            raise Conflict(f"{layer}: the imported rows repeat an id ({_first_line(e)})") from None

    def apply_changes(self, layer: str, changes: FeatureChanges) -> ImportSummary:
        spec = self._spec(layer)
        for item in [*changes.inserts, *changes.updates]:
            _check_texts(item.properties, changes.actor)

        def run(conn, attempt):
            with conn.transaction():
                conn.execute("SET LOCAL statement_timeout = 0")
                now = conn.execute("SELECT version FROM gcs_layer_state WHERE layer = %s FOR UPDATE",
                                   (layer,)).fetchone()[0]
                if now != changes.base_version:
                    raise Conflict(f"{layer} changed while the import was being prepared (version "
                                   f"{changes.base_version} -> {now}); run the import again")
                for new in changes.inserts:
                    self._insert_row(conn, spec, new.properties, new.geometry, changes.actor)
                for change in changes.updates:
                    self._update_row(conn, spec, change.id, change.properties, change.geometry, changes.actor)
                for fid in changes.deletes:
                    self._delete_row(conn, spec, fid, changes.actor)
                version = _layer_state(conn, layer)[0]
                attempt.committing = True
            return version

        version = self.version(layer) if changes.empty else self._run(run)
        return ImportSummary(layer=layer, mode="keyed", inserted=len(changes.inserts), deleted=len(changes.deletes),
                             updated=len(changes.updates), unchanged=changes.unchanged, version=version)

    def _insert_row(self, conn: psycopg.Connection, spec: LayerSpec, props: dict[str, Any], geom: BaseGeometry,
                    actor: str | None) -> None:
        full = {n: props.get(n) for n in spec.field_names}
        stmt = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
            sql.Identifier(spec.id), sql.SQL(", ").join([sql.Identifier("geom")] + [sql.Identifier(n) for n in full]),
            sql.SQL(", ").join([sql.SQL("ST_GeomFromWKB(%s, 4326)")] + [cast(f) for f in spec.fields]))
        fid = conn.execute(stmt, [_wkb(geom), *full.values()]).fetchone()[0]
        self._audit(conn, spec.id, fid, "create", actor, None, {"properties": full, "geometry": geom})

    def _update_row(self, conn: psycopg.Connection, spec: LayerSpec, fid: int, props: dict[str, Any],
                    geom: BaseGeometry | None, actor: str | None) -> None:
        current = self._read_row(conn, spec, fid, lock=True)
        if current is None:
            raise Conflict(f"{spec.id}: feature {fid} was deleted while the import was being prepared")
        sets = [sql.SQL("{} = {}").format(sql.Identifier(k), cast(spec.field(k))) for k in props]
        values: list[Any] = list(props.values())
        if geom is not None:
            sets.append(sql.SQL("geom = ST_GeomFromWKB(%s, 4326)"))
            values.append(_wkb(geom))
        conn.execute(sql.SQL("UPDATE {} SET {} WHERE id = %s").format(
            sql.Identifier(spec.id), sql.SQL(", ").join(sets)), values + [int(fid)])
        after = {"properties": {**current["properties"], **props},
                 "geometry": geom if geom is not None else current["geometry"]}
        self._audit(conn, spec.id, fid, "update", actor, current, after)

    def _delete_row(self, conn: psycopg.Connection, spec: LayerSpec, fid: int, actor: str | None) -> None:
        current = self._read_row(conn, spec, fid, lock=True)
        if current is None:
            raise Conflict(f"{spec.id}: feature {fid} was deleted while the import was being prepared")
        conn.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(spec.id)), (int(fid),))
        self._audit(conn, spec.id, fid, "delete", actor, current, None)

    # ------------------------------------------------------------------ whole-dataset copies (db copy)
    def audit_records(self) -> list[dict[str, Any]]:
        """The whole audit log, oldest first (layer, feature_id, action, actor, at, before, after)."""
        rows = self._run(lambda conn, _: conn.execute(
            "SELECT layer, feature_id, action, actor, to_char(at AT TIME ZONE 'UTC', %s), before, after "
            "FROM gcs_audit ORDER BY id", (AT_FORMAT,)).fetchall())
        return [dict(zip(AUDIT_KEYS, r, strict=True)) for r in rows]

    def replace_audit(self, records: list[dict[str, Any]]) -> None:
        """Make the audit log exactly ``records`` (as ``audit_records`` gives them), in one transaction."""
        def run(conn, attempt):
            with conn.transaction():
                conn.execute("DELETE FROM gcs_audit")
                with conn.cursor().copy("COPY gcs_audit (layer, feature_id, action, actor, at, before, after) "
                                        "FROM STDIN") as copy:
                    for r in records:
                        copy.write_row((r["layer"], r["feature_id"], r["action"], r["actor"], r["at"],
                                        _json_text(r["before"]), _json_text(r["after"])))
                attempt.committing = True

        self._run(run)

    def next_id_floor(self, layer: str, at_least: int) -> None:
        """Never hand out ids up to ``at_least`` in ``layer`` (carries id history across a copy)."""
        self._spec(layer)

        def run(conn, attempt):
            if at_least > 0:
                self._advance_sequence(conn, layer, int(at_least))

        self._run(run)

    def last_id(self, layer: str) -> int:
        """The highest id ever handed out in ``layer`` (deleted ones included)."""
        self._spec(layer)
        return self._run(lambda conn, _: conn.execute(
            "SELECT coalesce(pg_sequence_last_value(%s::regclass), 0)", (self._sequence(conn, layer),)).fetchone()[0])

    def close(self) -> None:
        self._pool.close(timeout=5)


# ---------------------------------------------------------------------- helpers

def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def _recorded_version(conn: psycopg.Connection) -> int:
    if not conn.execute("SELECT to_regclass('gcs_schema_version') IS NOT NULL").fetchone()[0]:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM gcs_schema_version").fetchone()[0]


def _layer_state(conn: psycopg.Connection, layer: str) -> tuple[int, str]:
    row = conn.execute("SELECT version, to_char(updated AT TIME ZONE 'UTC', %s) FROM gcs_layer_state "
                       "WHERE layer = %s", (AT_FORMAT, layer)).fetchone()
    return (int(row[0]), row[1]) if row else (0, "")


def _wkb(geom: BaseGeometry) -> bytes:
    return shapely.to_wkb(geom, output_dimension=2)


def _check_texts(props: Any, actor: str | None) -> None:
    """Text PostgreSQL cannot store is a bad feature (422), not a server error."""
    items = props.items() if isinstance(props, Mapping) else ()
    errors = [(str(k), reason) for k, v in items if isinstance(v, str) and (reason := text_problem(v))]
    if actor is not None and (reason := text_problem(actor)):
        errors.append(("actor", reason))
    if errors:
        raise InvalidFeature(errors)


def _json_text(doc: Any) -> str | None:
    return None if doc is None else orjson.dumps(doc).decode()


def _audit_json(feat: dict[str, Any] | None) -> Jsonb | None:
    if feat is None:
        return None
    geom = feat.get("geometry")
    doc = {"type": "Feature", "properties": feat["properties"],
           "geometry": orjson.loads(shapely.to_geojson(geom)) if geom is not None else None}
    return Jsonb(doc, dumps=lambda obj: orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY, default=str).decode())


def _frame(spec: LayerSpec, names: list[str], rows: list[tuple]) -> gpd.GeoDataFrame:
    """Query rows (id, wkb, fields...) as the GeoDataFrame the contract promises, typed like the embedded store."""
    types = [spec.field(n).type for n in names]
    if rows:
        cols = list(zip(*rows, strict=True))
        ids = np.fromiter(cols[0], dtype=np.int64, count=len(rows))
        geoms = shapely.from_wkb(np.asarray(cols[1], dtype=object))
        data = {n: pd.Series(list(cols[i + 2]), dtype=PANDAS_DTYPES[ty])
                for i, (n, ty) in enumerate(zip(names, types, strict=True))}
    else:
        ids = np.empty(0, dtype=np.int64)
        geoms = np.empty(0, dtype=object)
        data = {n: pd.Series([], dtype=PANDAS_DTYPES[ty]) for n, ty in zip(names, types, strict=True)}
    attrs = pd.DataFrame(data, columns=names)
    attrs.index = pd.Index(ids, name="id")
    return gpd.GeoDataFrame(attrs, geometry=gpd.array.from_shapely(geoms, crs=WGS84))


def _column_values(series: pd.Series) -> list[Any]:
    """A frame column as values COPY can write: missing -> None, numpy scalars -> Python."""
    values = series.astype(object).where(series.notna(), None).tolist()
    return [v.item() if isinstance(v, np.generic) else v for v in values]


class _PgDocuments(Documents):
    """gcs_documents: what every host behind a load balancer must see alike (report jobs, their files)."""

    def __init__(self, store: PostGISStore):
        self.store = store

    def put(self, namespace: str, key: str, data: dict[str, Any], blob: bytes | None = None) -> None:
        def write(conn: psycopg.Connection, attempt: _Attempt) -> None:
            attempt.committing = True
            conn.execute("INSERT INTO gcs_documents (namespace, key, data, blob) VALUES (%s, %s, %s, %s) "
                         "ON CONFLICT (namespace, key) DO UPDATE SET data = EXCLUDED.data, "
                         "blob = COALESCE(EXCLUDED.blob, gcs_documents.blob), updated = clock_timestamp()",
                         (namespace, key, Jsonb(data), blob))

        self.store._run(write)

    def get(self, namespace: str, key: str, with_blob: bool = False) -> tuple[dict[str, Any], bytes | None] | None:
        column = "blob" if with_blob else "NULL::bytea"
        row = self.store._run(lambda conn, _: conn.execute(
            f"SELECT data, {column} FROM gcs_documents WHERE namespace = %s AND key = %s",  # column: one of two
            (namespace, key)).fetchone())
        return None if row is None else (row[0], bytes(row[1]) if row[1] is not None else None)
