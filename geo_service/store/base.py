"""The FeatureStore contract shared by the embedded (GeoPackage) and PostGIS stores.

Features are WGS84 lon/lat. A layer's rows carry an integer ``id``, the fields its
spec declares, and a geometry. Query results are GeoDataFrames indexed by ``id``.

Writes of single features are validated here, in the base class, with the same rules
as imports, so every implementation rejects the same bad input with the same message.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ..catalog import Catalog, LayerSpec

Predicate = Literal["intersects", "within", "contains", "dwithin"]
PREDICATES = ("intersects", "within", "contains", "dwithin")
FILTER_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "like")


class StoreError(Exception):
    """Base of the store's errors; ``status`` is the HTTP status an API maps it to."""

    status = 500


class NotFound(StoreError):
    status = 404


class Conflict(StoreError):
    status = 409


class Unavailable(StoreError):
    """The backing database cannot be reached; clients should retry (HTTP 503)."""

    status = 503


class PreconditionFailed(StoreError):
    """The feature changed since the client read it (stale If-Match)."""

    status = 412


class InvalidQuery(StoreError, ValueError):
    status = 400


class InvalidFeature(StoreError, ValueError):
    """A feature that breaks its layer spec. ``errors`` lists (field, reason)."""

    status = 422

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{f}: {r}" for f, r in errors))


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    value: Any


@dataclass
class Query:
    """What to select. All parts are optional and combine with AND."""

    bbox: tuple[float, float, float, float] | None = None
    geometry: BaseGeometry | None = None
    predicate: Predicate = "intersects"
    distance_m: float | None = None  # for predicate == "dwithin"
    filters: list[Filter] = field(default_factory=list)
    ids: Iterable[int] | None = None
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (field or "id", ascending)
    limit: int | None = None
    offset: int = 0
    properties: list[str] | None = None  # None: all fields

    @staticmethod
    def equals(**values: Any) -> list[Filter]:
        return [Filter(k, "in" if isinstance(v, list | tuple | set) else "eq", v) for k, v in values.items()]


@dataclass
class QueryResult:
    features: gpd.GeoDataFrame  # index: id; columns: requested fields + geometry
    number_matched: int

    @property
    def number_returned(self) -> int:
        return len(self.features)


@dataclass
class ImportSummary:
    layer: str
    mode: str
    inserted: int
    deleted: int
    version: int


class FeatureStore(abc.ABC):
    """One interface, two implementations (store.geopackage, store.postgis)."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

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
            for spec in self.catalog:
                self.version(spec.id)
            return {"ok": True, "status": "ok", "backend": type(self).__name__}
        except StoreError as e:
            return {"ok": False, "status": f"unavailable: {e}", "backend": type(self).__name__}

    @abc.abstractmethod
    def extent(self, layer: str) -> tuple[float, float, float, float] | None: ...

    def frame(self, layer: str) -> gpd.GeoDataFrame:
        """The whole layer, for analyses."""
        return self.query(layer, Query()).features

    def nearest(self, layer: str, point: BaseGeometry | tuple[float, float], k: int = 1,
                max_m: float | None = None, filters: list[Filter] | None = None) -> QueryResult:
        """The ``k`` features nearest to a lon/lat point, nearest first, with a ``distance_m`` column.

        Built on ``query(predicate="dwithin")`` so every store has it: the radius starts at 250 m and
        grows fourfold until ``k`` features are found or ``max_m`` (at most 50 km, the cap) has been
        searched. Everything within a searched radius is returned by the query, so the first radius
        holding ``k`` features holds the ``k`` nearest. Distances are metres in the metric CRS the
        dwithin test uses (the store's configured ``metric_crs``, else the point's UTM zone); ties
        go to the lower id. ``number_matched`` is the number returned. PostGIS may override with KNN.
        """
        import numpy as np

        from .filtering import metric_transformers

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
                                            filters=list(filters or [])))
            if found.number_matched >= k or radius >= limit_m:
                break
            radius = min(radius * 4.0, limit_m)
        frame = found.features
        to_metric = metric_transformers(point, getattr(self, "metric_crs", None))
        dist = shapely.distance(to_metric(frame.geometry.values), to_metric([point])[0]) if len(frame) else []
        order = np.lexsort((frame.index.to_numpy(), np.asarray(dist, dtype=float)))[:k]
        frame = frame.iloc[order].copy()
        frame["distance_m"] = np.asarray(dist, dtype=float)[order]
        return QueryResult(frame, len(frame))

    @abc.abstractmethod
    def history(self, layer: str, feature_id: int) -> list[dict[str, Any]]:
        """Audit records of one feature, oldest first: action, actor, at, before, after."""

    # ---- writes ----------------------------------------------------------------
    # Every write takes the acting user (kept in the audit record) and, for changes to an
    # existing feature, an optional `if_match` ETag checked inside the write transaction.
    def create(self, layer: str, properties: Mapping[str, Any], geometry: BaseGeometry | dict,
               feature_id: int | None = None, actor: str | None = None) -> int:
        spec = self.catalog.get(layer)
        props, geom = validate_feature(spec, properties, geometry, partial=False)
        return self._insert(layer, props, geom, feature_id, actor)

    def replace(self, layer: str, feature_id: int, properties: Mapping[str, Any],
                geometry: BaseGeometry | dict, actor: str | None = None, if_match: str | None = None) -> None:
        spec = self.catalog.get(layer)
        props, geom = validate_feature(spec, properties, geometry, partial=False)
        full = {f: props.get(f) for f in spec.field_names}
        self._update(layer, feature_id, full, geom, actor, if_match, partial=False)

    def update(self, layer: str, feature_id: int, properties: Mapping[str, Any] | None = None,
               geometry: BaseGeometry | dict | None = None, actor: str | None = None,
               if_match: str | None = None) -> None:
        spec = self.catalog.get(layer)
        props, geom = validate_feature(spec, properties or {}, geometry, partial=True)
        self._update(layer, feature_id, props, geom, actor, if_match, partial=True)

    def delete(self, layer: str, feature_id: int, actor: str | None = None, if_match: str | None = None) -> None:
        self.catalog.get(layer)
        self._delete(layer, feature_id, actor, if_match)

    @abc.abstractmethod
    def import_frame(self, layer: str, frame: gpd.GeoDataFrame, mode: str = "append") -> ImportSummary:
        """Write a validated frame (index: id or RangeIndex; CRS EPSG:4326) in one transaction."""

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


def check_properties(spec: LayerSpec, props: list[str] | None) -> list[str]:
    """The fields a query returns: all, or the requested ones, which must exist."""
    if props is None:
        return spec.field_names
    bad = [p for p in props if not spec.has_field(p)]
    if bad:
        raise InvalidQuery(f"{spec.id}: unknown properties {', '.join(map(repr, bad))}; "
                           f"fields: {', '.join(spec.field_names)}")
    return list(props)


def feature_etag(properties: Mapping[str, Any], geometry: BaseGeometry | None) -> str:
    """A strong ETag from a feature's content: it changes exactly when the feature does."""
    import hashlib

    import orjson

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
    if partial:
        merged = {**current["properties"], **props}
        missing = [f.name for f in spec.fields if f.required and merged.get(f.name) is None]
        if missing:
            raise InvalidFeature([(m, "required field would be empty") for m in missing])


# ---- validation of single features (shared by both stores and the API) ----------

def validate_feature(spec: LayerSpec, properties: Mapping[str, Any], geometry: Any, partial: bool
                     ) -> tuple[dict[str, Any], BaseGeometry | None]:
    """Check one feature against its spec with the import rules; raise InvalidFeature."""
    from ..ingest.validate import validate_frame  # the one implementation of the rules

    if not isinstance(properties, Mapping):
        raise InvalidFeature([("properties", "must be an object")])
    errors: list[tuple[str, str]] = []
    unknown = [k for k in properties if k not in spec.field_names and k != "id"]
    for k in unknown:
        errors.append((str(k), f"not a field of layer {spec.id!r}"))
    for k, v in properties.items():
        if isinstance(v, str) and (reason := _bad_text(v)):
            errors.append((str(k), reason))
    geom: BaseGeometry | None = None
    if geometry is not None:
        try:
            geom = geometry if isinstance(geometry, BaseGeometry) else shapely.geometry.shape(geometry)
        except Exception as e:  # shapely raises several types for malformed GeoJSON
            errors.append(("geometry", f"not a valid GeoJSON geometry ({e})"))
    elif not partial:
        errors.append(("geometry", "is required"))
    if errors:
        raise InvalidFeature(errors)
    props = {k: v for k, v in properties.items() if k != "id"}
    row = {f: props.get(f) for f in spec.field_names}
    frame = gpd.GeoDataFrame(pd.DataFrame([row]), geometry=[geom], crs="EPSG:4326")
    result = validate_frame(frame, spec, check_required=not partial, check_geometry=geom is not None,
                            outliers=False)
    if result.errors:
        raise InvalidFeature([(e.field, e.reason) for e in result.errors])
    clean = result.valid.iloc[0]
    out = {k: plain_value(clean[k]) for k in props if k in spec.field_names}
    return out, (clean.geometry if geom is not None else None)


def _bad_text(text: str) -> str | None:
    """Text no store can keep faithfully (SQLite truncates at NUL; PostgreSQL refuses NUL and surrogates)."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an invalid character (a lone surrogate)"
    return None


def plain_value(v: Any) -> Any:
    """A JSON-ready Python scalar: numpy/pandas scalars unwrapped, NaN/NA/NaT as None."""
    if v is None or isinstance(v, list | tuple | dict):
        return v
    if isinstance(v, np.generic):
        v = v.item()
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v
