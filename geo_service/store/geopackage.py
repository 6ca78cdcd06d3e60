"""Embedded store: a GeoPackage file as the durable truth, in-memory indexes for reads.

Why this shape: reads must be fast (a 1 km bbox over 200,000 hydrants in a few ms), and
the file must stay an ordinary GeoPackage that QGIS and GDAL open. So each layer is held
in memory as column arrays plus a packed STRtree over feature positions; every
write is one SQLite transaction and then patches the in-memory copy. A per-layer version
row, bumped by triggers on every row change, lets any process see another's commits
(`PRAGMA data_version` tells cheaply that *something* changed).

Change detection stays off the hot path: each thread keeps its own small connection and asks it
`PRAGMA data_version` (about 4 µs) at most every CHECK_INTERVAL_S, without any lock shared between
requests. Only when another connection has committed does it take the store lock and reload the layers
whose version moved. Staleness bound: CHECK_INTERVAL_S, 0 by default, so a read that starts after another
process's commit sees it (the first such read pays for reloading the changed layer); raise it to trade
freshness for a few microseconds per read. This process's own writes are seen at once.

Reads of the in-memory layers take only `_mem`, held for microseconds; `_lock` serialises the main
SQLite connection (writes, reloads) and is never taken by a read unless the file changed.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ..cache import SingleFlightCache
from ..catalog import Catalog, FieldSpec, LayerSpec
from ..catalog.validation import plain_value
from ..crs import CRS84, from_crs84, metric_transformer
from . import cql, mvt
from . import gpkg_format as fmt
from .base import AUDIT_KEYS, Bounds, FeatureStore, FrameSource, check_write, frame_chunks
from .errors import Conflict, InvalidQuery, NotFound, Unavailable
from .filtering import coerce_value, list_contains
from .geojson import FeatureCache, GeoJSONPage, encode_features
from .query import (
    FILTER_OPS,
    PREDICATES,
    FeatureChanges,
    Filter,
    ImportSummary,
    Query,
    QueryResult,
    check_bbox,
    check_properties,
)

CHECK_INTERVAL_S = 0.0  # how long another process's commit may stay unseen (per thread); 0: never

_PANDAS_DTYPES = {"string": object, "integer": "Int64", "number": "float64", "boolean": "boolean",
                  "date": object, "datetime": object, "list": object}


CACHE_KB = 262_144
STREAMED_CACHE_KB = 16_384  # a streamed import's page cache: 16 MB
REINDEX_AFTER = 512  # edits kept beside the packed index before it is rebuilt
QUICK_TILE_WORK = 5_000  # points' worth of cutting (mvt.tile_work) a tile may cost to be cut on the event loop


class _Layer:
    """One layer's rows in memory. Positions are stable; deleted rows are only marked dead."""

    def __init__(self, spec: LayerSpec, version: int, ids: np.ndarray, geoms: np.ndarray,
                 attrs: pd.DataFrame, updated: str = ""):
        self.spec = spec
        self.version = version
        self.updated = updated  # gcs_layer_state.updated of this version: Last-Modified without a query
        self.ids = ids.astype(np.int64)
        self.geoms = geoms
        self.attrs = attrs.reset_index(drop=True)
        self.alive = np.ones(len(ids), dtype=bool)
        self.bounds = shapely.bounds(geoms) if len(geoms) else np.empty((0, 4))
        self.pos_of = dict(zip(self.ids.tolist(), range(len(ids)), strict=True))
        self.points_only = spec.geometry_types == ("Point",)
        self.id_ordered = bool(np.all(np.diff(self.ids) > 0))  # position order is id order: sort positions
        self._reindex()

    def _reindex(self) -> None:
        """A packed STRtree over every position (measured on 200,000 points and 1 km² boxes: 11 µs a
        query against 56 µs for libspatialindex's rtree). It cannot change, so positions edited since
        it was built (`loose`; `stale` marks their outdated entries) are tested beside it with numpy."""
        self.tree = shapely.STRtree(self.geoms)
        self.stale = np.zeros(len(self.ids), dtype=bool)
        self.loose: list[int] = []

    def _loosen(self, pos: int) -> None:
        if pos < len(self.stale):
            self.stale[pos] = True
        self.loose.append(pos)
        if len(self.loose) > REINDEX_AFTER:
            self._reindex()

    def live_positions(self) -> np.ndarray:
        return np.flatnonzero(self.alive)

    def bbox_positions(self, bbox: tuple[float, float, float, float]) -> np.ndarray:
        if len(self.ids) == 0:
            return np.empty(0, dtype=np.int64)
        pos = self.tree.query(shapely.box(*bbox))
        if self.loose:
            pos = pos[~self.stale[pos]]
            extra = np.unique(np.asarray(self.loose, dtype=np.int64))
            b = self.bounds[extra]
            hit = (b[:, 0] <= bbox[2]) & (b[:, 2] >= bbox[0]) & (b[:, 1] <= bbox[3]) & (b[:, 3] >= bbox[1])
            pos = np.concatenate([pos, extra[hit]])
        return pos[self.alive[pos]]

    def bbox_hits(self, bbox: tuple[float, float, float, float]) -> np.ndarray:
        """Positions of live features intersecting ``bbox``: the index's candidates, tested exactly only
        where the bbox does not contain the feature's envelope (points never need the test)."""
        pos = self.bbox_positions(bbox)
        if self.points_only or not len(pos):
            return pos
        b = self.bounds[pos]
        edge = ~((b[:, 0] >= bbox[0]) & (b[:, 1] >= bbox[1]) & (b[:, 2] <= bbox[2]) & (b[:, 3] <= bbox[3]))
        if edge.any():
            edge[edge] = ~shapely.intersects(self.geoms[pos[edge]], shapely.box(*bbox))
            pos = pos[~edge]
        return pos

    # ---- patching after single-feature writes
    def append(self, fid: int, props: dict[str, Any], geom: BaseGeometry) -> None:
        pos = len(self.ids)
        self.id_ordered = self.id_ordered and (pos == 0 or fid > self.ids[-1])
        self.ids = np.append(self.ids, fid)
        self.geoms = np.append(self.geoms, np.array([geom], dtype=object))
        b = np.array(geom.bounds if geom is not None else (np.nan,) * 4, dtype=float)
        self.bounds = np.vstack([self.bounds, b]) if len(self.bounds) else b[None, :]
        self.alive = np.append(self.alive, True)
        row = pd.DataFrame([{f.name: props.get(f.name) for f in self.spec.fields}])
        row = _typed(row, self.spec)
        self.attrs = pd.concat([self.attrs, row], ignore_index=True) if len(self.attrs) else row
        self.pos_of[fid] = pos
        self._loosen(pos)

    def patch(self, pos: int, props: dict[str, Any], geom: BaseGeometry | None) -> None:
        for k, v in props.items():
            col = self.attrs[k]
            if isinstance(v, list):  # .loc would spread a list over several cells
                values = col.to_numpy(dtype=object).copy()
                values[pos] = v
                self.attrs[k] = pd.Series(values, dtype=object, index=self.attrs.index)
                continue
            self.attrs.loc[pos, k] = pd.NA if v is None and col.dtype != object else v
        if geom is not None:
            self.geoms[pos] = geom
            self.bounds[pos] = geom.bounds
            self._loosen(pos)

    def kill(self, pos: int) -> None:
        self.alive[pos] = False
        self.pos_of.pop(int(self.ids[pos]), None)


def _typed(frame: pd.DataFrame, spec: LayerSpec) -> pd.DataFrame:
    out = {}
    for f in spec.fields:
        col = frame[f.name] if f.name in frame else pd.Series([None] * len(frame), dtype=object)
        if f.type == "list":  # JSON text in the file, a Python list in memory
            col = col.map(lambda v: orjson.loads(v) if isinstance(v, str | bytes) else v, na_action="ignore")
        if f.type == "boolean":
            col = col.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else bool(v))
        out[f.name] = col.astype(_PANDAS_DTYPES[f.type])
        if out[f.name].dtype == object:
            out[f.name] = out[f.name].where(out[f.name].notna(), None)
    return pd.DataFrame(out, index=frame.index)


def _list_mask(col: pd.Series, field: FieldSpec, flt: Filter) -> np.ndarray:
    """eq / in: the list holds the value (any of them); ne: it does not."""
    if flt.op not in ("eq", "in", "ne"):
        raise InvalidQuery(f"{field.name} is a list: filter it with eq (contains), in (contains any) or ne")
    given = flt.value if isinstance(flt.value, list | tuple | set) else [flt.value]
    wanted = [coerce_value(field, v) for v in given]
    hit = np.fromiter((list_contains(v, wanted) for v in col.tolist()), dtype=bool, count=len(col))
    return ~hit if flt.op == "ne" else hit


def _sql_value(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return orjson.dumps(list(v)).decode()
    return v


def _column_values(series: pd.Series) -> list[Any]:
    if series.dtype == object:
        return [_sql_value(v) for v in series.tolist()]
    values = series.astype(object).where(series.notna(), None).tolist()
    return [_sql_value(v) for v in values]


class _Watch(threading.local):
    """Per thread: its own connection for `PRAGMA data_version`, the value last seen, when to ask next."""

    def __init__(self) -> None:
        self.conn: sqlite3.Connection | None = None
        self.seen: int | None = None
        self.due = 0.0


class GeoPackageStore(FeatureStore):
    reads_in_memory = True  # only a reload after another process's commit touches the disk

    def __init__(self, path: Path | str, catalog: Catalog, metric_crs: str | None = None,
                 service_area: Bounds | None = None):
        super().__init__(catalog, metric_crs, service_area)
        self.path = Path(path)
        self._features = FeatureCache()  # GeoJSON bytes per feature (all properties), per CRS and version
        self._tile_sources = SingleFlightCache(16)  # a layer ready for tiling, per version stamp
        self._tiles = SingleFlightCache(512)  # encoded tiles: map clients ask the same tiles again and again
        if not self.path.parent.is_dir():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()  # the main connection: writes, reloads
        self._mem = threading.RLock()  # the in-memory layers: held only while reading or patching them
        self._watch = _Watch()
        self._watch_conns: list[sqlite3.Connection] = []
        # A file (or folder) we may not write: open it read-only, serve reads, refuse writes with 503.
        self.read_only = self.path.exists() and not (os.access(self.path, os.W_OK)
                                                     and os.access(self.path.parent, os.W_OK))
        self._conn = self._connect()
        fmt.register_functions(self._conn)
        if not self.read_only:
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA busy_timeout = 60000")
        self._conn.execute(f"PRAGMA cache_size = -{CACHE_KB}")  # 256 MB page cache: big imports stay in memory
        self._ensure_schema()
        self._layers: dict[str, _Layer | None] = {}  # None: on disk, read at first use
        self._data_version = self._pragma_data_version()
        self._load_all()

    def health(self) -> dict[str, Any]:
        info = super().health()
        info.update(kind="geopackage", path=str(self.path.resolve()), writable=not self.read_only)
        if self.read_only:
            info["status"] += " (read-only: writes answer 503)"
        return info

    # ---------------------------------------------------------------- schema & loading
    def _ensure_schema(self) -> None:
        # Only write when something is missing: opening an up-to-date file must not change a byte.
        if fmt.schema_current(self._conn, self.catalog):
            return
        with self._write_txn():
            fmt.init_core(self._conn)
            existing = {r[0] for r in self._conn.execute(
                "SELECT table_name FROM gpkg_contents WHERE data_type = 'features'")}
            for spec in self.catalog:
                if spec.id in existing:
                    fmt.add_missing_columns(self._conn, spec)
                    fmt.create_version_triggers(self._conn, spec.id)
                    self._conn.execute("INSERT OR IGNORE INTO gcs_layer_state (layer, version) VALUES (?, 0)",
                                       (spec.id,))
                else:
                    fmt.create_layer(self._conn, spec)

    def _connect(self) -> sqlite3.Connection:
        if not self.read_only:
            return sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=60)
        # Read-only: mode=ro writes nothing; in a folder we cannot write, a WAL file's -shm cannot be made,
        # so the file is opened as immutable (another process cannot change it there either).
        immutable = "&immutable=1" if not os.access(self.path.parent, os.W_OK) else ""
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro{immutable}"
        return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=60)

    def _write_txn(self):
        store = self

        class _Txn:
            def __enter__(self_):
                store._begin_immediate()
                return store._conn

            def __exit__(self_, exc_type, exc, tb):
                store._conn.execute("ROLLBACK" if exc_type else "COMMIT")
                return False

        return _Txn()

    def _stored_version(self, layer: str) -> int:
        """The layer's version as the file has it (inside a write transaction: as this write leaves it)."""
        return self._conn.execute("SELECT version FROM gcs_layer_state WHERE layer = ?", (layer,)).fetchone()[0]

    def _begin_immediate(self) -> None:
        """Every write transaction starts here: a read-only store refuses it with 503, naming the file."""
        if self.read_only:
            raise Unavailable(f"the store is read-only: {self.path.resolve()} (this process may not write the "
                              "file or its folder); reads still work")
        self._conn.execute("BEGIN IMMEDIATE")

    def _pragma_data_version(self) -> int:
        return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def _versions(self) -> dict[str, tuple[int, str]]:
        return {layer: (v, updated or "") for layer, v, updated in
                self._conn.execute("SELECT layer, version, updated FROM gcs_layer_state")}

    def _load_all(self) -> None:
        self._conn.execute("BEGIN")
        try:
            versions = self._versions()
            for spec in self.catalog:
                self._layers[spec.id] = self._read_layer(spec, *versions.get(spec.id, (0, "")))
        finally:
            self._conn.execute("COMMIT")

    def _read_layer(self, spec: LayerSpec, version: int, updated: str) -> _Layer:
        """Read one table (call inside a read transaction so rows and version agree)."""
        names = spec.field_names
        cols = ", ".join(fmt.q(n) for n in names)
        cur = self._conn.execute(f"SELECT id, geom, {cols} FROM {fmt.q(spec.id)} ORDER BY id")
        rows = cur.fetchall()
        if rows:
            columns = list(zip(*rows, strict=True))
            ids = np.fromiter(columns[0], dtype=np.int64, count=len(rows))
            geoms = fmt.decode(list(columns[1]))
            attrs = pd.DataFrame({n: pd.Series(columns[i + 2], dtype=object) for i, n in enumerate(names)})
        else:
            ids = np.empty(0, dtype=np.int64)
            geoms = np.empty(0, dtype=object)
            attrs = pd.DataFrame({n: pd.Series([], dtype=object) for n in names})
        return _Layer(spec, version, ids, geoms, _typed(attrs, spec), updated)

    def _sync(self) -> None:
        """See commits made by other connections/processes (cheap when nothing changed)."""
        dv = self._pragma_data_version()
        if dv == self._data_version:
            return
        self._conn.execute("BEGIN")
        try:
            self._data_version = self._pragma_data_version()
            versions = self._versions()
            for spec in self.catalog:
                v, updated = versions.get(spec.id, (0, ""))
                lay = self._layers[spec.id]
                if lay is not None and lay.version != v:
                    self._layers[spec.id] = self._read_layer(spec, v, updated)  # one atomic swap per layer
        finally:
            self._conn.execute("COMMIT")

    def _fresh(self) -> None:
        """Reload what another process changed; on the hot path a clock read, at most every
        CHECK_INTERVAL_S a `PRAGMA data_version` on this thread's own connection (no shared lock)."""
        w = self._watch
        now = time.monotonic()
        if now < w.due:
            return
        w.due = now + CHECK_INTERVAL_S
        if w.conn is None:
            w.conn = self._connect()
            with self._mem:
                self._watch_conns.append(w.conn)
        dv = w.conn.execute("PRAGMA data_version").fetchone()[0]
        if dv != w.seen:
            with self._lock:
                self._sync()
            w.seen = dv  # only once synced: a failed reload is retried at the next check

    def _layer(self, layer: str) -> _Layer:
        if layer not in self._layers:
            raise NotFound(f"unknown layer {layer!r}")
        lay = self._layers[layer]
        if lay is None:  # imported in bulk since it was last read
            with self._lock:
                if self._layers[layer] is None:
                    self._reload(layer)
                lay = self._layers[layer]
        return lay

    def count(self, layer: str, query: Query | None = None) -> int:
        if query is None and self._layers.get(layer, ...) is None:  # not in memory: do not read it for a count
            with self._lock:
                return self._conn.execute(f"SELECT count(*) FROM {fmt.q(layer)}").fetchone()[0]
        return super().count(layer, query)

    # ---------------------------------------------------------------- reads
    def version(self, layer: str) -> int:
        self._fresh()
        return self._layer(layer).version

    def last_modified(self, layer: str) -> str:
        self._fresh()
        return self._layer(layer).updated

    def layer_state(self, layer: str) -> tuple[int, str | None]:
        self._fresh()
        with self._mem:
            lay = self._layer(layer)
            return lay.version, lay.updated

    def extent(self, layer: str) -> tuple[float, float, float, float] | None:
        self._fresh()
        with self._mem:
            lay = self._layer(layer)
            b = lay.bounds[lay.alive]
            b = b[~np.isnan(b).any(axis=1)]  # features without geometry have no extent
            if not len(b):
                return None
            return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))

    def get(self, layer: str, feature_id: int) -> dict[str, Any]:
        self._fresh()
        with self._mem:
            lay = self._layer(layer)
            pos = lay.pos_of.get(int(feature_id))
            if pos is None:
                raise NotFound(f"{layer}: no feature with id {feature_id}")
            row = lay.attrs.iloc[pos]
            props = {f.name: plain_value(row[f.name]) for f in lay.spec.fields}
            return {"id": int(feature_id), "properties": props, "geometry": lay.geoms[pos]}

    def query(self, layer: str, query: Query | None = None) -> QueryResult:
        q = query or Query()
        self._fresh()
        with self._mem:
            lay = self._layer(layer)
            pos, matched = self._select(lay, q)
            fields = check_properties(lay.spec, q.properties)
            return QueryResult(self._frame(lay, pos, fields), matched)

    def _frame(self, lay: _Layer, pos: np.ndarray, fields: list[str]) -> gpd.GeoDataFrame:
        attrs = lay.attrs.iloc[pos][fields]
        attrs.index = pd.Index(lay.ids[pos], name="id")
        return gpd.GeoDataFrame(attrs, geometry=gpd.array.from_shapely(lay.geoms[pos], crs="EPSG:4326"))

    def _select(self, lay: _Layer, q: Query) -> tuple[np.ndarray, int]:
        """Positions of the page in order, and numberMatched: index, numpy and (for filters/sortby) the
        column arrays of this layer version; no frame is built."""
        pos = self._spatial_positions(lay, q)
        if q.ids is not None:
            wanted = [lay.pos_of[i] for i in map(int, q.ids) if i in lay.pos_of]
            keep = np.asarray(wanted, dtype=np.int64)
            pos = keep if pos is None else np.intersect1d(pos, keep)
        if pos is None:
            pos = lay.live_positions()
        for flt in q.filters:
            pos = pos[self._filter_mask(lay, pos, flt)]
        if q.cql is not None:
            pos = self._cql_positions(lay, pos, q.cql)
        matched = len(pos)
        pos = self._sorted(lay, pos, q.sort)
        if q.offset:
            pos = pos[q.offset:]
        if q.limit is not None:
            pos = pos[: q.limit]
        return pos, matched

    def _cql_positions(self, lay: _Layer, pos: np.ndarray, node) -> np.ndarray:
        """Rows where a CQL2 filter holds: the R-tree narrows to what a spatial condition's envelope meets,
        then the filter is evaluated on those rows' column arrays (no loop over features in Python)."""
        hint = cql.envelope_hint(node)
        if hint is not None and len(pos):
            allowed = np.zeros(len(lay.ids), dtype=bool)
            allowed[pos] = True
            cand = lay.bbox_positions(hint)
            pos = np.sort(cand[allowed[cand]])
        if not len(pos):
            return pos
        values = {name: lay.attrs[name].iloc[pos].to_numpy(dtype=object) for name in cql.properties_of(node)}
        return pos[cql.evaluate(node, cql.Columns(lay.ids[pos], lay.geoms[pos], values))]

    def _spatial_positions(self, lay: _Layer, q: Query) -> np.ndarray | None:
        pos = None
        if q.bbox is not None:
            minx, miny, maxx, maxy = check_bbox(q.bbox)
            pos = lay.bbox_hits((minx, miny, maxx, maxy))
        if q.geometry is not None:
            if q.predicate not in PREDICATES:
                raise InvalidQuery(f"unknown spatial predicate {q.predicate!r}; use one of {', '.join(PREDICATES)}")
            g = q.geometry
            if g.is_empty or not g.is_valid:
                raise InvalidQuery("the query geometry is empty or invalid")
            minx, miny, maxx, maxy = g.bounds
            if q.predicate == "dwithin":
                if q.distance_m is None or not (0 <= q.distance_m <= 1_000_000):
                    raise InvalidQuery("within-distance needs distance_m between 0 and 1,000,000 metres")
                lat = max(abs(miny), abs(maxy))
                dlat = q.distance_m / 110_574.0 * 1.01 + 1e-9
                dlon = q.distance_m / (111_320.0 * max(np.cos(np.radians(min(lat + dlat, 89.9))), 1e-6)) * 1.01
                minx, miny, maxx, maxy = minx - dlon, miny - dlat, maxx + dlon, maxy + dlat
            cand = lay.bbox_positions((minx, miny, maxx, maxy))
            if len(cand):
                geoms = lay.geoms[cand]
                if q.predicate == "dwithin":
                    to_metric = metric_transformer(g, self.metric_crs)
                    mask = shapely.dwithin(to_metric(geoms), to_metric(np.array([g]))[0], q.distance_m)
                else:
                    shapely.prepare(g)
                    mask = {"intersects": lambda: shapely.intersects(g, geoms),
                            "within": lambda: shapely.within(geoms, g),
                            "contains": lambda: shapely.contains(geoms, g)}[q.predicate]()
                cand = cand[mask]
            pos = cand if pos is None else np.intersect1d(pos, cand)
        return pos

    # ---------------------------------------------------------------- encoded output
    def geojson_page(self, layer: str, query: Query | None = None, crs: str = CRS84) -> GeoJSONPage:
        """Pages with every property: positions from the index and numpy (``_select``), then each feature's
        bytes from the per-version, per-CRS cache, encoding only features not seen since the layer last
        changed. Nothing per request builds a frame once the cache is warm."""
        q = query or Query()
        if q.properties is not None:
            return super().geojson_page(layer, q, crs)
        self._fresh()
        with self._mem:  # the rows and the version they belong to, together
            lay = self._layer(layer)
            pos, matched = self._select(lay, q)
            fields = lay.spec.field_names
            transform = from_crs84(crs)
            encoded = self._features.features(
                layer, lay.version, lay.ids[pos].tolist(), "" if crs == CRS84 else crs,
                lambda missing: encode_features(self._frame(lay, pos[missing], fields), transform=transform))
        return GeoJSONPage(encoded, matched)

    def quick_tile(self, layer: str, z: int, x: int, y: int) -> bytes | None:
        """Cached tiles, and tiles of a prepared layer worth at most QUICK_TILE_WORK points of cutting (about
        3 ms: every street-level tile of the synthetic city); not a first tile, a reload or a whole-city tile."""
        mvt.check_tile(z, x, y)
        self._fresh()
        lay = self._layers.get(layer)
        if lay is None:  # unknown (tile() says so) or to be read again first
            return None
        key = (layer, lay.version, z, x, y)
        ready = self._tiles.peek(key)
        if ready is not None:
            return ready
        src = self._tile_sources.peek((layer, lay.version))
        if src is None:
            return None
        sel = mvt.tile_features(src, z, x, y)
        if mvt.tile_work(src, sel) > QUICK_TILE_WORK:
            return None
        return self._tiles.get(key, lambda: mvt.encode_tile(src, z, x, y, sel))

    def tile(self, layer: str, z: int, x: int, y: int) -> bytes:
        mvt.check_tile(z, x, y)
        self._fresh()
        lay = self._layer(layer)
        version = lay.version

        def source() -> mvt.TileSource:
            frame = self.query(layer, Query()).features
            return mvt.TileSource.build(layer, frame, [(f.name, f.type) for f in mvt.tile_fields(lay.spec)])

        src = self._tile_sources.get((layer, version), source)
        return self._tiles.get((layer, version, z, x, y), lambda: mvt.encode_tile(src, z, x, y))

    def _filter_mask(self, lay: _Layer, pos: np.ndarray, flt: Filter) -> np.ndarray:
        if flt.op not in FILTER_OPS:
            raise InvalidQuery(f"unknown filter operator {flt.op!r}; use one of {', '.join(FILTER_OPS)}")
        if flt.field == "id":
            field = FieldSpec(name="id", type="integer", title=lay.spec.title)
            col = pd.Series(lay.ids[pos])
        else:
            if not lay.spec.has_field(flt.field):
                raise InvalidQuery(f"{lay.spec.id}: cannot filter on unknown field {flt.field!r}; "
                                   f"fields: {', '.join(lay.spec.field_names)}")
            field = lay.spec.field(flt.field)
            col = lay.attrs[flt.field].iloc[pos].reset_index(drop=True)
        if field.type == "list":
            return _list_mask(col, field, flt)
        if flt.op == "in":
            values = flt.value if isinstance(flt.value, list | tuple | set) else [flt.value]
            values = [coerce_value(field, v) for v in values]
            return col.isin([v for v in values if v is not None]).fillna(False).to_numpy(dtype=bool) | (
                col.isna().to_numpy() if None in values else False)
        value = coerce_value(field, flt.value)
        if flt.op == "like":
            if field.type != "string":
                raise InvalidQuery(f"'like' works on text fields; {field.name!r} is {field.type}")
            needle = str(value).lower()
            return col.map(lambda s: s is not None and needle in s.lower()).to_numpy(dtype=bool)
        if value is None:
            if flt.op not in ("eq", "ne"):
                raise InvalidQuery(f"{field.name}: cannot compare with an empty value")
            m = col.isna().to_numpy()
            return m if flt.op == "eq" else ~m
        ops = {"eq": col.__eq__, "ne": col.__ne__, "lt": col.__lt__, "le": col.__le__, "gt": col.__gt__,
               "ge": col.__ge__}
        try:
            res = ops[flt.op](value)
        except TypeError:
            raise InvalidQuery(f"{field.name}: cannot compare {field.type} values with {flt.op}") from None
        return pd.Series(res).fillna(False).to_numpy(dtype=bool)

    def _sorted(self, lay: _Layer, pos: np.ndarray, sort: list[tuple[str, bool]]) -> np.ndarray:
        if not sort:
            return np.sort(pos) if lay.id_ordered else pos[np.argsort(lay.ids[pos], kind="stable")]
        keys = {}
        for name, _asc in sort:
            if name == "id":
                keys[name] = lay.ids[pos]
            elif lay.spec.has_field(name):
                keys[name] = lay.attrs[name].iloc[pos].to_numpy()
            else:
                raise InvalidQuery(f"{lay.spec.id}: cannot sort by unknown field {name!r}")
        frame = pd.DataFrame(keys)
        frame["__id"] = lay.ids[pos]
        frame["__pos"] = pos
        order = frame.sort_values([n for n, _ in sort] + ["__id"], ascending=[a for _, a in sort] + [True],
                                  na_position="last", kind="mergesort")
        return order["__pos"].to_numpy(dtype=np.int64)

    # ---------------------------------------------------------------- writes
    def _begin_write(self, layer: str) -> tuple[_Layer, int]:
        """Start a write transaction; returns the layer and its version before this write."""
        self._sync()
        lay = self._layer(layer)
        self._begin_immediate()
        v = self._stored_version(layer)
        return lay, v

    def _finish_write(self, layer: str, before: int, apply) -> None:
        """Commit, then patch memory, or reload if someone else wrote in between."""
        try:
            after, updated = self._conn.execute("SELECT version, updated FROM gcs_layer_state WHERE layer = ?",
                                                (layer,)).fetchone()
            self._touch_contents(layer)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        with self._mem:
            lay = self._layers[layer]
            if lay is not None and lay.version == before:
                apply(lay)
                lay.version, lay.updated = after, updated
                return
        self._reload(layer)

    def _reload(self, layer: str) -> None:
        self._conn.execute("BEGIN")
        try:
            v, updated = self._versions().get(layer, (0, ""))
            self._layers[layer] = self._read_layer(self.catalog.get(layer), v, updated)
        finally:
            self._conn.execute("COMMIT")

    def _touch_contents(self, layer: str) -> None:
        self._conn.execute(
            f"UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now'), "
            f"min_x = (SELECT min(minx) FROM {fmt.q('rtree_' + layer + '_geom')}), "
            f"max_x = (SELECT max(maxx) FROM {fmt.q('rtree_' + layer + '_geom')}), "
            f"min_y = (SELECT min(miny) FROM {fmt.q('rtree_' + layer + '_geom')}), "
            f"max_y = (SELECT max(maxy) FROM {fmt.q('rtree_' + layer + '_geom')}) WHERE table_name = ?",
            (layer,))

    def _read_row(self, layer: str, feature_id: int) -> dict[str, Any] | None:
        """The row as committed (inside the write transaction: memory may lag another process)."""
        spec = self.catalog.get(layer)
        cols = ", ".join(fmt.q(n) for n in spec.field_names)
        row = self._conn.execute(f"SELECT geom, {cols} FROM {fmt.q(layer)} WHERE id = ?", (int(feature_id),)).fetchone()
        if row is None:
            return None
        frame = _typed(pd.DataFrame([dict(zip(spec.field_names, row[1:], strict=True))]), spec)
        props = {n: plain_value(frame[n].iloc[0]) for n in spec.field_names}
        return {"id": int(feature_id), "properties": props, "geometry": fmt.decode([row[0]])[0]}

    def _audit(self, layer: str, feature_id: int, action: str, actor: str | None,
               before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        self._conn.execute("INSERT INTO gcs_audit (layer, feature_id, action, actor, before, after) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           (layer, int(feature_id), action, actor, _feature_json(before), _feature_json(after)))

    def history(self, layer: str, feature_id: int) -> list[dict[str, Any]]:
        self.catalog.get(layer)
        with self._lock:
            rows = self._conn.execute("SELECT action, actor, at, before, after FROM gcs_audit WHERE layer = ? "
                                      "AND feature_id = ? ORDER BY id", (layer, int(feature_id))).fetchall()
        return [{"action": a, "actor": who, "at": at, "before": orjson.loads(b) if b else None,
                 "after": orjson.loads(af) if af else None} for a, who, at, b, af in rows]

    def _insert(self, layer: str, props: dict[str, Any], geom: BaseGeometry, feature_id: int | None,
                actor: str | None) -> int:
        spec = self.catalog.get(layer)
        names = spec.field_names
        with self._lock:
            lay, before = self._begin_write(layer)
            try:
                if feature_id is not None and self._conn.execute(
                        f"SELECT 1 FROM {fmt.q(layer)} WHERE id = ?", (int(feature_id),)).fetchone():
                    raise Conflict(f"{layer}: a feature with id {feature_id} already exists")
                values = [int(feature_id) if feature_id is not None else None, fmt.encode(np.array([geom]))[0]]
                values += [_sql_value(props.get(n)) for n in names]
                cols = ", ".join(["id", "geom"] + [fmt.q(n) for n in names])
                marks = ", ".join("?" * len(values))
                cur = self._conn.execute(f"INSERT INTO {fmt.q(layer)} ({cols}) VALUES ({marks})", values)
                fid = int(cur.lastrowid)
                full = {n: props.get(n) for n in names}
                self._audit(layer, fid, "create", actor, None, {"properties": full, "geometry": geom})
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._finish_write(layer, before, lambda lay_: lay_.append(fid, props, geom))
            return fid

    def _update(self, layer: str, feature_id: int, props: dict[str, Any], geom: BaseGeometry | None,
                actor: str | None, if_match: str | None, partial: bool) -> None:
        spec = self.catalog.get(layer)
        with self._lock:
            lay, before = self._begin_write(layer)
            try:
                current = self._read_row(layer, feature_id)
                check_write(spec, layer, feature_id, current, props, if_match, partial)
                sets, values = [], []
                for k, v in props.items():
                    sets.append(f"{fmt.q(k)} = ?")
                    values.append(_sql_value(v))
                if geom is not None:
                    sets.append("geom = ?")
                    values.append(fmt.encode(np.array([geom]))[0])
                if sets:
                    self._conn.execute(f"UPDATE {fmt.q(layer)} SET {', '.join(sets)} WHERE id = ?",
                                       values + [int(feature_id)])
                    after = {"properties": {**current["properties"], **props},
                             "geometry": geom if geom is not None else current["geometry"]}
                    self._audit(layer, feature_id, "update" if partial else "replace", actor, current, after)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

            def apply(lay_: _Layer) -> None:
                lay_.patch(lay_.pos_of[int(feature_id)], props, geom)

            self._finish_write(layer, before, apply)

    def _delete(self, layer: str, feature_id: int, actor: str | None, if_match: str | None) -> None:
        spec = self.catalog.get(layer)
        with self._lock:
            lay, before = self._begin_write(layer)
            try:
                current = self._read_row(layer, feature_id)
                check_write(spec, layer, feature_id, current, {}, if_match, partial=False)
                self._conn.execute(f"DELETE FROM {fmt.q(layer)} WHERE id = ?", (int(feature_id),))
                self._audit(layer, feature_id, "delete", actor, current, None)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._finish_write(layer, before, lambda lay_: lay_.kill(lay_.pos_of[int(feature_id)]))

    def import_frame(self, layer: str, frame: FrameSource, mode: str = "append",
                     progress=None) -> ImportSummary:
        if mode not in ("append", "replace"):
            raise InvalidQuery(f"unknown import mode {mode!r}; use append or replace")
        self.catalog.get(layer)
        with self._lock:
            self._sync()
            self._begin_immediate()
            # A chunked import holds one chunk in Python; its page cache is bounded as well (pages beyond it
            # spill to the WAL, still uncommitted).
            streamed = not isinstance(frame, gpd.GeoDataFrame)
            if streamed:
                self._conn.execute(f"PRAGMA cache_size = -{STREAMED_CACHE_KB}")
            try:
                deleted = self._conn.execute(f"DELETE FROM {fmt.q(layer)}").rowcount if mode == "replace" else 0
                triggers = fmt.bulk_triggers(self._conn, layer)
                inserted = 0
                for chunk in frame_chunks(frame):
                    inserted += self._insert_chunk(layer, chunk, check_ids=mode != "replace", progress=progress)
                for trigger_sql in triggers:
                    self._conn.execute(trigger_sql)
                fmt.bump_version(self._conn, layer)
                self._touch_contents(layer)
                version = self._stored_version(layer)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            finally:
                if streamed:
                    self._conn.execute(f"PRAGMA cache_size = -{CACHE_KB}")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            with self._mem:
                self._layers[layer] = None  # read again when first used: a CLI import exits without reading it
            return ImportSummary(layer=layer, mode=mode, inserted=inserted, deleted=deleted, version=version)

    def _insert_chunk(self, layer: str, frame: gpd.GeoDataFrame, check_ids: bool, progress) -> int:
        """One chunk of an import inside its transaction: ids checked and assigned here, so the rtree rows
        can be written in bulk (the per-row triggers are off)."""
        names = self.catalog.get(layer).field_names
        n = len(frame)
        ids = frame["id"] if "id" in frame.columns else pd.Series([pd.NA] * n, dtype="Int64")
        id_values = [None if pd.isna(v) else int(v) for v in ids.tolist()]
        if check_ids:
            clash = self._existing_ids(layer, [i for i in id_values if i is not None])
            if clash:
                shown = ", ".join(map(str, clash[:10])) + (" ..." if len(clash) > 10 else "")
                raise Conflict(f"{layer}: {len(clash)} feature id(s) already exist: {shown} "
                               f"(use --mode replace, or drop the id column to get new ids)")
        first_new = self._conn.execute(f"SELECT max(id) FROM {fmt.q(layer)}").fetchone()[0] or 0
        seq = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (layer,)).fetchone()
        next_id = max(first_new, seq[0] if seq else 0, max((i for i in id_values if i), default=0)) + 1
        for k, v in enumerate(id_values):
            if v is None:
                id_values[k] = next_id
                next_id += 1
        columns = [id_values, fmt.encode(frame.geometry.values)]
        columns += [_column_values(frame[name]) if name in frame.columns else [None] * n for name in names]
        cols = ", ".join(["id", "geom"] + [fmt.q(c) for c in names])
        sql = f"INSERT INTO {fmt.q(layer)} ({cols}) VALUES ({', '.join('?' * (len(names) + 2))})"
        rows = zip(*columns, strict=True)
        done = 0
        while done < n:
            batch = [next(rows) for _ in range(min(5000, n - done))]
            self._conn.executemany(sql, batch)
            done += len(batch)
            if progress is not None:
                progress(len(batch))
        fmt.fill_rtree(self._conn, layer, id_values, frame.geometry.values)
        return n

    def apply_changes(self, layer: str, changes: FeatureChanges) -> ImportSummary:
        self.catalog.get(layer)
        with self._lock:
            self._sync()
            self._layer(layer)
            if changes.empty:
                return ImportSummary(layer=layer, mode="keyed", inserted=0, deleted=0, updated=0,
                                     unchanged=changes.unchanged, version=self._layers[layer].version)
            self._begin_immediate()
            try:
                self._check_base_version(layer, changes.base_version)
                for new in changes.inserts:
                    self._insert_row(layer, new.properties, new.geometry, changes.actor)
                for change in changes.updates:
                    self._update_row(layer, change.id, change.properties, change.geometry, changes.actor)
                for fid in changes.deletes:
                    self._delete_row(layer, fid, changes.actor)
                self._touch_contents(layer)
                version = self._stored_version(layer)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._reload(layer)
        return ImportSummary(layer=layer, mode="keyed", inserted=len(changes.inserts), deleted=len(changes.deletes),
                             updated=len(changes.updates), unchanged=changes.unchanged, version=version)

    def _check_base_version(self, layer: str, base: int) -> None:
        now = self._stored_version(layer)
        if now != base:
            raise Conflict(f"{layer} changed while the import was being prepared (version {base} -> {now}); "
                           "run the import again")

    def _insert_row(self, layer: str, props: dict[str, Any], geom: BaseGeometry, actor: str | None) -> int:
        names = self.catalog.get(layer).field_names
        full = {n: props.get(n) for n in names}
        cols = ", ".join(["geom"] + [fmt.q(n) for n in names])
        cur = self._conn.execute(f"INSERT INTO {fmt.q(layer)} ({cols}) VALUES ({', '.join('?' * (len(names) + 1))})",
                                 [fmt.encode(np.array([geom]))[0], *(_sql_value(full[n]) for n in names)])
        fid = int(cur.lastrowid)
        self._audit(layer, fid, "create", actor, None, {"properties": full, "geometry": geom})
        return fid

    def _update_row(self, layer: str, fid: int, props: dict[str, Any], geom: BaseGeometry | None,
                    actor: str | None) -> None:
        current = self._read_row(layer, fid)
        if current is None:
            raise Conflict(f"{layer}: feature {fid} was deleted while the import was being prepared")
        sets = [f"{fmt.q(k)} = ?" for k in props]
        values = [_sql_value(v) for v in props.values()]
        if geom is not None:
            sets.append("geom = ?")
            values.append(fmt.encode(np.array([geom]))[0])
        self._conn.execute(f"UPDATE {fmt.q(layer)} SET {', '.join(sets)} WHERE id = ?", values + [int(fid)])
        after = {"properties": {**current["properties"], **props},
                 "geometry": geom if geom is not None else current["geometry"]}
        self._audit(layer, fid, "update", actor, current, after)

    def _delete_row(self, layer: str, fid: int, actor: str | None) -> None:
        current = self._read_row(layer, fid)
        if current is None:
            raise Conflict(f"{layer}: feature {fid} was deleted while the import was being prepared")
        self._conn.execute(f"DELETE FROM {fmt.q(layer)} WHERE id = ?", (int(fid),))
        self._audit(layer, fid, "delete", actor, current, None)

    # ---------------------------------------------------------------- whole-dataset copies
    def audit_records(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {', '.join(AUDIT_KEYS)} FROM gcs_audit ORDER BY id").fetchall()
        return [{**dict(zip(AUDIT_KEYS, r, strict=True)),
                 "before": orjson.loads(r[5]) if r[5] else None, "after": orjson.loads(r[6]) if r[6] else None}
                for r in rows]

    def replace_audit(self, records: list[dict[str, Any]]) -> None:
        rows = [(r["layer"], r["feature_id"], r["action"], r["actor"], r["at"],
                 orjson.dumps(r["before"]).decode() if r["before"] is not None else None,
                 orjson.dumps(r["after"]).decode() if r["after"] is not None else None) for r in records]
        with self._lock, self._write_txn() as conn:
            conn.execute("DELETE FROM gcs_audit")
            conn.executemany(f"INSERT INTO gcs_audit ({', '.join(AUDIT_KEYS)}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def last_id(self, layer: str) -> int:
        self._layer(layer)
        with self._lock:
            row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (layer,)).fetchone()
        return int(row[0]) if row else 0

    def next_id_floor(self, layer: str, at_least: int) -> None:
        self._layer(layer)
        with self._lock, self._write_txn() as conn:
            conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (int(at_least), layer))
            if conn.execute("SELECT changes()").fetchone()[0] == 0:
                conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (layer, int(at_least)))

    def _existing_ids(self, layer: str, ids: list[int]) -> list[int]:
        found: list[int] = []
        for i in range(0, len(ids), 900):
            part = ids[i:i + 900]
            found += [r[0] for r in self._conn.execute(
                f"SELECT id FROM {fmt.q(layer)} WHERE id IN ({', '.join('?' * len(part))})", part)]
        return sorted(found)

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            self._conn.close()
        with self._mem:
            for conn in self._watch_conns:
                conn.close()
            self._watch_conns.clear()


def _feature_json(feat: dict[str, Any] | None) -> str | None:
    if feat is None:
        return None
    geom = feat.get("geometry")
    return orjson.dumps({"type": "Feature", "properties": {k: plain_value(v) for k, v in feat["properties"].items()},
                         "geometry": orjson.loads(shapely.to_geojson(geom)) if geom is not None else None}).decode()
