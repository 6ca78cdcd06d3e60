"""Helpers shared by the stores: typed filter values and metric transforms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from ..catalog import FieldSpec
from .base import InvalidQuery

_TRUE = {"true", "1", "yes", "y", "t", "是"}
_FALSE = {"false", "0", "no", "n", "f", "否"}


def coerce_value(field: FieldSpec, value: Any) -> Any:
    """A filter value (often a query-string text) as the field's type; InvalidQuery when it can't be."""
    if value is None:
        return None
    text = str(value).strip() if not isinstance(value, bool | int | float) else value
    try:
        if field.type == "integer":
            f = float(text)
            if not f.is_integer():
                raise ValueError
            return int(f)
        if field.type == "number":
            f = float(text)
            if not np.isfinite(f):
                raise ValueError
            return f
        if field.type == "boolean":
            if isinstance(text, bool):
                return text
            low = str(text).lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError
        if field.type == "date":
            return dt.date.fromisoformat(str(text)[:10]).isoformat()
        if field.type == "datetime":
            return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError):
        raise InvalidQuery(f"{field.name}: {value!r} is not a valid {field.type}") from None
    text = str(text)
    if field.aliases:
        for alias, target in field.aliases.items():
            if alias.lower() == text.lower():
                return target
    return text


@lru_cache(maxsize=64)
def _transformer(target: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs("EPSG:4326", target, always_xy=True)


def metric_transformers(reference: BaseGeometry, configured: str | None) -> Callable[[np.ndarray], np.ndarray]:
    """A function taking lon/lat geometries to the metric CRS (configured, else the UTM zone here)."""
    from ..crs import metric_crs

    crs = metric_crs(reference.bounds, configured)
    tr = _transformer(crs.to_string())

    def to_metric(geoms: np.ndarray) -> np.ndarray:
        return shapely.transform(np.asarray(geoms, dtype=object), lambda xy: np.column_stack(
            tr.transform(xy[:, 0], xy[:, 1])))

    return to_metric
