"""What a read selects (``Query``) and what it returns (``QueryResult``), with the checks both
stores apply to a query the same way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
from shapely.geometry.base import BaseGeometry

from ..catalog import LayerSpec
from .errors import InvalidQuery

Predicate = Literal["intersects", "within", "contains", "dwithin"]
PREDICATES = ("intersects", "within", "contains", "dwithin")
FILTER_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "like")


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
    cql: Any = None  # a checked CQL2 filter (store.cql.parse), ANDed with the rest

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
    updated: int = 0
    unchanged: int = 0


@dataclass
class NewFeature:
    properties: dict[str, Any]
    geometry: Any  # a shapely geometry, WGS84


@dataclass
class FeatureChange:
    id: int
    properties: dict[str, Any]  # only the fields that change
    geometry: Any | None  # None: the geometry stays


@dataclass
class FeatureChanges:
    """What a keyed import (upsert/sync) does to one layer, applied in one transaction.

    ``base_version`` is the layer version the changes were computed from: the store refuses them
    (Conflict) when the layer changed since, so nobody's edit is overwritten unseen.
    """

    base_version: int
    inserts: list[NewFeature] = field(default_factory=list)
    updates: list[FeatureChange] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)
    unchanged: int = 0
    actor: str | None = None  # the audit records' actor, e.g. "import hydrants.csv"

    @property
    def empty(self) -> bool:
        return not (self.inserts or self.updates or self.deletes)


def check_properties(spec: LayerSpec, props: list[str] | None) -> list[str]:
    """The fields a query returns: all, or the requested ones, which must exist."""
    if props is None:
        return spec.field_names
    bad = [p for p in props if not spec.has_field(p)]
    if bad:
        raise InvalidQuery(f"{spec.id}: unknown properties {', '.join(map(repr, bad))}; "
                           f"fields: {', '.join(spec.field_names)}")
    return list(props)


def check_bbox(bbox) -> tuple[float, float, float, float]:
    try:
        minx, miny, maxx, maxy = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise InvalidQuery("bbox needs four numbers: minx, miny, maxx, maxy") from None
    if not all(np.isfinite([minx, miny, maxx, maxy])):
        raise InvalidQuery("bbox values must be finite numbers")
    if minx > maxx or miny > maxy:
        raise InvalidQuery(f"bbox {minx},{miny},{maxx},{maxy}: min must not exceed max")
    return minx, miny, maxx, maxy
