"""The FeatureStore contract shared by the embedded (GeoPackage) and PostGIS stores.

Everything a caller may use is declared here, abstract or with a default that is right for both
stores, so no caller ever needs to ask which store it has: reads, encoded GeoJSON pages, vector
tiles, single-feature writes, imports, audit history, and what a whole-dataset copy needs (the
audit log and the id counters).

Features are WGS84 lon/lat. A layer's rows carry an integer ``id``, the fields its spec declares,
and a geometry. Query results are GeoDataFrames indexed by ``id``.

Writes of single features are validated here, in the base class, with the catalog's validation
(the import rules, the store's service area included), so every implementation rejects the same
bad input with the same message.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from ..catalog import Catalog, LayerSpec, validation
from ..catalog.validation import plain_value
from ..crs import CRS84, from_crs84, metric_transformer
from .errors import (
    Conflict,
    InvalidFeature,
    InvalidQuery,
    NotFound,
    PreconditionFailed,
    StoreError,
    Unavailable,
)
from .geojson import GeoJSONPage, encode_features
from .query import (
    FILTER_OPS,
    PREDICATES,
    FeatureChange,
    FeatureChanges,
    Filter,
    ImportSummary,
    NewFeature,
    Predicate,
    Query,
    QueryResult,
    check_bbox,
    check_properties,
)

__all__ = ["CRS84", "FILTER_OPS", "PREDICATES", "Conflict", "FeatureChange", "FeatureChanges", "FeatureStore",
           "Filter", "FrameSource", "NewFeature", "frame_chunks", "GeoJSONPage", "ImportSummary",
           "InvalidFeature", "InvalidQuery", "NotFound", "Predicate", "PreconditionFailed", "Query", "QueryResult",
           "StoreError", "Unavailable", "check_bbox", "check_properties", "check_write", "feature_etag",
           "plain_value", "validate_feature"]

Bounds = tuple[float, float, float, float]
FrameSource = gpd.GeoDataFrame | Callable[[], Iterable[gpd.GeoDataFrame]]


def frame_chunks(source: FrameSource) -> Iterable[gpd.GeoDataFrame]:
    """The chunks of an import_frame argument: the frame itself, or what the function gives."""
    return [source] if isinstance(source, gpd.GeoDataFrame) else source()


AUDIT_KEYS = ("layer", "feature_id", "action", "actor", "at", "before", "after")


class Documents(abc.ABC):
    """Keyed JSON documents with an optional binary payload, shared through the store's database."""

    @abc.abstractmethod
    def put(self, namespace: str, key: str, data: dict[str, Any], blob: bytes | None = None) -> None: ...

    @abc.abstractmethod
    def get(self, namespace: str, key: str, with_blob: bool = False) -> tuple[dict[str, Any], bytes | None] | None:
        ...


class FeatureStore(abc.ABC):
    """One interface, two implementations (store.geopackage, store.postgis)."""

    #: Reads answer from memory (no network or disk on the hot path): an async route may call them on the
    #: event loop rather than paying the threadpool hop. False for a store that waits on a server.
    reads_in_memory: bool = False

    def __init__(self, catalog: Catalog, metric_crs: str | None = None, service_area: Bounds | None = None):
        self.catalog = catalog
        self.metric_crs = metric_crs  # distances and areas (None: the UTM zone of the data)
        self.service_area = service_area  # single-feature writes outside it are refused, as imports are

    # ---- reads -----------------------------------------------------------------
    @abc.abstractmethod
    def query(self, layer: str, query: Query | None = None) -> QueryResult: ...

    def count(self, layer: str, query: Query | None = None) -> int:
        q = Query(**{**(query or Query()).__dict__, "limit": 0, "offset": 0})
        return self.query(layer, q).number_matched

    @abc.abstractmethod
    def get(self, layer: str, feature_id: int) -> dict[str, Any]:
        """``{"id", "properties", "geometry"}``; raises NotFound."""

    @abc.abstractmethod
    def version(self, layer: str) -> int:
        """A stamp that changes whenever the layer's data changes (any process)."""

    def last_modified(self, layer: str) -> str | None:
        """ISO time of the layer's last change, when the store knows it."""
        return None

    def layer_state(self, layer: str) -> tuple[int, str | None]:
        """(version, last_modified) together; stores with a server override it to save a round trip."""
        return self.version(layer), self.last_modified(layer)

    def health(self) -> dict[str, Any]:
        """For /health and /ready; never raises. ``ok`` says whether the store answers now."""
        try:
            versions = {spec.id: self.version(spec.id) for spec in self.catalog}
            return {"ok": True, "status": "ok", "backend": type(self).__name__, "versions": versions}
        except StoreError as e:
            return {"ok": False, "status": f"unavailable: {e}", "backend": type(self).__name__}

    def documents(self) -> Documents | None:
        """Small documents every host of a deployment shares (report jobs and their files), or None when
        the store has no shared place for them (the GeoPackage store: its host's folder serves)."""
        return None

    @abc.abstractmethod
    def extent(self, layer: str) -> tuple[float, float, float, float] | None: ...

    def frame(self, layer: str) -> gpd.GeoDataFrame:
        """The whole layer, for analyses."""
        return self.query(layer, Query()).features

    def nearest(self, layer: str, point: BaseGeometry | tuple[float, float], k: int = 1,
                max_m: float | None = None, filters: list[Filter] | None = None, cql: Any = None) -> QueryResult:
        """The ``k`` features nearest to a lon/lat point, nearest first, with a ``distance_m`` column;
        only those passing ``filters`` and the CQL2 filter ``cql`` (store.cql.parse) when given.

        Built on ``query(predicate="dwithin")`` so every store has it: the radius starts at 250 m and
        grows fourfold until ``k`` features are found or ``max_m`` (at most 50 km, the cap) has been
        searched. Everything within a searched radius is returned by the query, so the first radius
        holding ``k`` features holds the ``k`` nearest. Distances are metres in the metric CRS the
        dwithin test uses (the store's configured ``metric_crs``, else the point's UTM zone); ties
        go to the lower id. ``number_matched`` is the number returned. PostGIS may override with KNN.
        """
        cap = 50_000.0
        if not isinstance(point, BaseGeometry):
            try:
                point = shapely.Point(*(float(v) for v in point))
            except (TypeError, ValueError):
                raise InvalidQuery("nearest: the point needs two numbers, lon and lat") from None
        if point.geom_type != "Point" or point.is_empty:
            raise InvalidQuery(f"nearest: needs a point, got {point.geom_type}")
        if not (-180.0 <= point.x <= 180.0 and -90.0 <= point.y <= 90.0):
            raise InvalidQuery(f"nearest: ({point.x}, {point.y}) is not a lon/lat point")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidQuery(f"nearest: k={k!r} must be a positive integer")
        if max_m is not None and not (0.0 <= float(max_m) <= cap):
            raise InvalidQuery(f"nearest: max_m={max_m!r} must be between 0 and {cap:,.0f} metres")
        limit_m = cap if max_m is None else float(max_m)
        radius = min(250.0, limit_m)
        while True:
            found = self.query(layer, Query(geometry=point, predicate="dwithin", distance_m=radius,
                                            filters=list(filters or []), cql=cql))
            if found.number_matched >= k or radius >= limit_m:
                break
            radius = min(radius * 4.0, limit_m)
        frame = found.features
        to_metric = metric_transformer(point, self.metric_crs)
        dist = shapely.distance(to_metric(frame.geometry.values), to_metric([point])[0]) if len(frame) else []
        order = np.lexsort((frame.index.to_numpy(), np.asarray(dist, dtype=float)))[:k]
        frame = frame.iloc[order].copy()
        frame["distance_m"] = np.asarray(dist, dtype=float)[order]
        return QueryResult(frame, len(frame))

    @abc.abstractmethod
    def history(self, layer: str, feature_id: int) -> list[dict[str, Any]]:
        """Audit records of one feature, oldest first: action, actor, at, before, after."""

    # ---- encoded output ---------------------------------------------------------
    def geojson_page(self, layer: str, query: Query | None = None, crs: str = CRS84) -> GeoJSONPage:
        """The selected features as GeoJSON bytes (all properties, or ``query.properties``) and numberMatched.

        ``crs`` is a served CRS URI (crs.supported_crs); coordinates are in its axis order. This default
        encodes the query's rows; stores override it with something faster for the common case.
        """
        result = self.query(layer, query)
        return GeoJSONPage(encode_features(result.features, transform=from_crs84(crs)), result.number_matched)

    @abc.abstractmethod
    def tile(self, layer: str, z: int, x: int, y: int) -> bytes:
        """The Mapbox Vector Tile z/x/y (WebMercatorQuad) of ``layer``: one layer named after it, every
        field as tags, extent 4096, buffer 64 (store.mvt); empty bytes when nothing is there."""

    def quick_tile(self, layer: str, z: int, x: int, y: int) -> bytes | None:
        """Tile z/x/y when the store can give it at once, neither waiting on anything nor cutting for more
        than a few milliseconds, else None (then ``tile``). The API calls it on the event loop, sparing the
        threadpool hop; stores that wait on a server keep this default."""
        return None

    # ---- whole-dataset copies (geo-service db copy) -------------------------------
    @abc.abstractmethod
    def audit_records(self) -> list[dict[str, Any]]:
        """The whole audit log, oldest first: dicts with AUDIT_KEYS (before/after as GeoJSON dicts)."""

    @abc.abstractmethod
    def replace_audit(self, records: list[dict[str, Any]]) -> None:
        """Make the audit log exactly ``records`` (as ``audit_records`` gives them), in one transaction."""

    @abc.abstractmethod
    def last_id(self, layer: str) -> int:
        """The highest id ever handed out in ``layer`` (deleted ones included)."""

    @abc.abstractmethod
    def next_id_floor(self, layer: str, at_least: int) -> None:
        """Never hand out ids up to ``at_least`` in ``layer`` (carries id history across a copy)."""

    # ---- writes ----------------------------------------------------------------
    # Every write takes the acting user (kept in the audit record) and, for changes to an
    # existing feature, an optional `if_match` ETag checked inside the write transaction.
    def create(self, layer: str, properties: Mapping[str, Any], geometry: BaseGeometry | dict,
               feature_id: int | None = None, actor: str | None = None) -> int:
        spec = self.catalog.get(layer)
        props, geom = validate_feature(spec, properties, geometry, partial=False, service_area=self.service_area)
        self.check_refs(spec, props)
        self.check_unique_key(spec, props, None)
        return self._insert(layer, props, geom, feature_id, actor)

    def replace(self, layer: str, feature_id: int, properties: Mapping[str, Any],
                geometry: BaseGeometry | dict, actor: str | None = None, if_match: str | None = None) -> None:
        spec = self.catalog.get(layer)
        props, geom = validate_feature(spec, properties, geometry, partial=False, service_area=self.service_area)
        self.check_refs(spec, props)
        self.check_unique_key(spec, props, feature_id)
        full = {f: props.get(f) for f in spec.field_names}
        self._update(layer, feature_id, full, geom, actor, if_match, partial=False)

    def update(self, layer: str, feature_id: int, properties: Mapping[str, Any] | None = None,
               geometry: BaseGeometry | dict | None = None, actor: str | None = None,
               if_match: str | None = None) -> None:
        spec = self.catalog.get(layer)
        props, geom = validate_feature(spec, properties or {}, geometry, partial=True,
                                       service_area=self.service_area)
        self.check_refs(spec, props)
        if spec.key_fields and set(spec.key_fields) & set(props):
            self.check_unique_key(spec, {**self.get(layer, feature_id)["properties"], **props}, feature_id)
        self._update(layer, feature_id, props, geom, actor, if_match, partial=True)

    def delete(self, layer: str, feature_id: int, actor: str | None = None, if_match: str | None = None) -> None:
        self.catalog.get(layer)
        self.check_not_referenced(layer, [feature_id])
        self._delete(layer, feature_id, actor, if_match)

    # ---- references between layers (``ref:`` fields) ------------------------------
    def check_refs(self, spec: LayerSpec, props: Mapping[str, Any]) -> None:
        """Every ``ref:`` value names a stored feature of its layer; InvalidFeature (422) otherwise."""
        errors = []
        for f in spec.ref_fields:
            value = props.get(f.name)
            if value is None:
                continue
            found = self.query(f.ref, Query(ids=[int(value)], properties=[], limit=1)).number_matched
            if not found:
                errors.append((f.name, f"no {f.ref} feature with id {value}"))
        if errors:
            raise InvalidFeature(errors)

    def check_unique_key(self, spec: LayerSpec, props: Mapping[str, Any], feature_id: int | None) -> None:
        """A layer's ``key_fields`` identify one feature (one plan per compound and year): 409 otherwise."""
        if not spec.key_fields or any(props.get(k) is None for k in spec.key_fields):
            return
        found = self.query(spec.id, Query(filters=[Filter(k, "eq", props[k]) for k in spec.key_fields],
                                          properties=[], limit=2)).features.index.tolist()
        others = [int(i) for i in found if feature_id is None or int(i) != int(feature_id)]
        if others:
            key = ", ".join(f"{k}={props[k]}" for k in spec.key_fields)
            raise Conflict(f"{spec.id}: feature {others[0]} already has {key}; there is one per "
                           f"{' and '.join(spec.key_fields)} (change that one instead)")

    def check_not_referenced(self, layer: str, feature_ids: list[int]) -> None:
        """Refuse (409) to delete features that another layer's ``ref:`` field still names."""
        if not feature_ids:
            return
        for spec, f in self.catalog.referrers(layer):
            found = self.query(spec.id, Query(filters=[Filter(f.name, "in", [int(i) for i in feature_ids])],
                                              properties=[f.name], limit=10))
            if found.number_matched:
                ids = ", ".join(str(i) for i in found.features.index.tolist())
                raise Conflict(f"{layer}: cannot delete: {found.number_matched} {spec.id} feature(s) refer to it "
                               f"through {f.name!r} (ids {ids}); delete or change them first")

    @abc.abstractmethod
    def import_frame(self, layer: str, frame: FrameSource, mode: str = "append",
                     progress: Callable[[int], None] | None = None) -> ImportSummary:
        """Write a validated frame (index: id or RangeIndex; CRS EPSG:4326) in one transaction.

        ``frame`` may also be a function giving the frames chunk by chunk (a streamed import: the
        store holds one chunk at a time, still in one transaction; called again if the store retries)."""

    @abc.abstractmethod
    def apply_changes(self, layer: str, changes: FeatureChanges) -> ImportSummary:
        """A keyed import's inserts, partial updates and deletes in one transaction, each with an audit
        record by ``changes.actor``; Conflict when the layer's version is no longer ``changes.base_version``.
        Nothing to do writes nothing (the version stays)."""

    @abc.abstractmethod
    def _insert(self, layer: str, props: dict[str, Any], geom: BaseGeometry, feature_id: int | None,
                actor: str | None) -> int: ...

    @abc.abstractmethod
    def _update(self, layer: str, feature_id: int, props: dict[str, Any], geom: BaseGeometry | None,
                actor: str | None, if_match: str | None, partial: bool) -> None:
        """Apply inside one transaction: read current row, check if_match, check required
        fields of the merged result (partial), write, record the audit entry."""

    @abc.abstractmethod
    def _delete(self, layer: str, feature_id: int, actor: str | None, if_match: str | None) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def feature_etag(properties: Mapping[str, Any], geometry: BaseGeometry | None) -> str:
    """A strong ETag from a feature's content: it changes exactly when the feature does."""
    payload = orjson.dumps({"p": dict(properties), "g": geometry.wkb_hex if geometry is not None else None},
                           option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY, default=str)
    return '"' + hashlib.blake2b(payload, digest_size=12).hexdigest() + '"'


def check_write(spec: LayerSpec, layer: str, feature_id: int, current: dict[str, Any] | None,
                props: dict[str, Any], if_match: str | None, partial: bool) -> None:
    """The checks every store makes inside its write transaction, against the row it just read."""
    if current is None:
        raise NotFound(f"{layer}: no feature with id {feature_id}")
    if if_match is not None:
        tags = [t.strip() for t in if_match.split(",")]
        now = feature_etag(current["properties"], current["geometry"])
        if "*" not in tags and now not in tags and f"W/{now}" not in tags:
            raise PreconditionFailed(f"{layer}/{feature_id} was changed by someone else since it was read "
                                     f"(If-Match {if_match} is stale; current ETag {now}); read it again")
    lifecycle = validation.transition_errors(spec, current["properties"], props)
    if lifecycle:
        raise InvalidFeature(lifecycle)
    if partial:
        merged = {**current["properties"], **props}
        missing = [f.name for f in spec.fields if f.required and merged.get(f.name) is None]
        if missing:
            raise InvalidFeature([(m, "required field would be empty") for m in missing])


def validate_feature(spec: LayerSpec, properties: Mapping[str, Any], geometry: Any, partial: bool,
                     service_area: Bounds | None = None) -> tuple[dict[str, Any], BaseGeometry | None]:
    """The catalog's single-feature validation, its errors raised as the store's InvalidFeature (422)."""
    try:
        return validation.validate_feature(spec, properties, geometry, partial, service_area)
    except validation.FeatureErrors as e:
        raise InvalidFeature(e.errors) from None
