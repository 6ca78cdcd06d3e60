"""Validation of one feature (a single-feature write) with the import rules.

The stores call this for create/replace/update, so an edit is held to exactly what an import is:
value coercion and allowed values, required fields (not for partial updates, whose merged result the
store checks in its write transaction), geometry type and validity, the service area, and the text
rule below. It raises :class:`FeatureErrors`; the store turns that into its own ``InvalidFeature``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ..specs import LayerSpec
from .frame import validate_frame
from .values import plain_value

Bounds = tuple[float, float, float, float]


class FeatureErrors(ValueError):
    """What is wrong with one feature: ``errors`` lists (field, reason)."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{f}: {r}" for f, r in errors))


def bad_text(text: str) -> str | None:
    """Text no store can keep faithfully (SQLite truncates at NUL; PostgreSQL refuses NUL and surrogates)."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an invalid character (a lone surrogate)"
    return None


def _shape_errors(spec: LayerSpec, properties: Mapping[str, Any]) -> list[tuple[str, str]]:
    errors = [(str(k), f"not a field of layer {spec.id!r}") for k in properties
              if k not in spec.field_names and k != "id"]
    errors += [(str(k), reason) for k, v in properties.items() if isinstance(v, str) and (reason := bad_text(v))]
    return errors


def _geometry(geometry: Any, partial: bool, errors: list[tuple[str, str]]) -> BaseGeometry | None:
    if geometry is None:
        if not partial:
            errors.append(("geometry", "is required"))
        return None
    try:
        return geometry if isinstance(geometry, BaseGeometry) else shapely.geometry.shape(geometry)
    except Exception as e:  # shapely raises several types for malformed GeoJSON
        errors.append(("geometry", f"not a valid GeoJSON geometry ({e})"))
        return None


def validate_feature(spec: LayerSpec, properties: Mapping[str, Any], geometry: Any, partial: bool,
                     service_area: Bounds | None = None) -> tuple[dict[str, Any], BaseGeometry | None]:
    """Check one lon/lat feature against its spec; returns (normalised properties given, geometry).

    ``geometry`` is a shapely geometry or a GeoJSON dict (None: not given, which only a partial
    update may do). Raises FeatureErrors.
    """
    if not isinstance(properties, Mapping):
        raise FeatureErrors([("properties", "must be an object")])
    errors = _shape_errors(spec, properties)
    if not spec.has_geometry:
        if geometry is not None:
            errors.append(("geometry", f"layer {spec.id!r} has no geometry; send \"geometry\": null"))
        geom = None
    else:
        geom = _geometry(geometry, partial, errors)
    if errors:
        raise FeatureErrors(errors)
    props = {k: v for k, v in properties.items() if k != "id"}
    row = {f: props.get(f) for f in spec.field_names}
    frame = gpd.GeoDataFrame(pd.DataFrame([row]), geometry=[geom], crs="EPSG:4326")
    result = validate_frame(frame, spec, check_required=not partial,
                            check_geometry=geom is not None and spec.has_geometry,
                            outliers=False, service_area=service_area)
    if result.errors:
        raise FeatureErrors([(e.field, e.reason) for e in result.errors])
    clean = result.valid.iloc[0]
    out = {k: plain_value(clean[k]) for k in props if k in spec.field_names}
    return out, (clean.geometry if geom is not None else None)
