"""Vectorised geometry checks for imported features (WGS84 lon/lat).

Every check runs on whole arrays with shapely 2 functions; only the rare invalid geometries
that ``make_valid`` repairs are touched one by one. Each row gets at most one geometry
error: the first check it fails, in the order below, because later checks assume earlier ones.

  missing -> empty -> non-finite coordinates -> type (promote/demote Multi) -> validity
  (repair) -> lon/lat range (with a swapped-axes hint) -> Null Island (always) -> service area
  -> far outliers (robust distance from the median point, ``coordinates``)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from .coordinates import (
    NULL_ISLAND_REASON,
    OUTLIER_FLOOR_KM,
    coordinate_warnings,
    far_from_centre,
    km_between,
    null_island,
)

TYPE_NAMES = ("Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
              "MultiPolygon", "GeometryCollection")
_FAMILY = {"Point": "point", "MultiPoint": "point", "LineString": "line", "LinearRing": "line",
           "MultiLineString": "line", "Polygon": "polygon", "MultiPolygon": "polygon"}
_SINGLE = {"point": "Point", "line": "LineString", "polygon": "Polygon"}
_MULTI = {"point": "MultiPoint", "line": "MultiLineString", "polygon": "MultiPolygon"}
_MAKE_MULTI = {"point": shapely.multipoints, "line": shapely.multilinestrings, "polygon": shapely.multipolygons}

OUTLIER_MIN_ROWS = 20
MAX_REPAIR_WARNINGS = 20


@dataclass
class GeometryCheck:
    geoms: np.ndarray  # normalised geometries (repaired, Multi promoted/demoted, 2-d)
    errors: dict[int, tuple[str, Any]] = field(default_factory=dict)  # position -> (reason, value)
    warnings: list[str] = field(default_factory=list)


def _takes(types: tuple[str, ...]) -> str:
    return types[0] if len(types) == 1 else ", ".join(types[:-1]) + " or " + types[-1]


def _xy(x: float, y: float) -> str:
    return f"({round(float(x), 6)!r}, {round(float(y), 6)!r})"


def check_geometries(geoms: np.ndarray, geometry_types: tuple[str, ...], *, row_numbers: np.ndarray,
                     service_area: tuple[float, float, float, float] | None = None,
                     outliers: bool = True, outlier_floor_km: float = OUTLIER_FLOOR_KM) -> GeometryCheck:
    """Check and normalise ``geoms`` for a layer taking ``geometry_types``."""
    geoms = np.asarray(geoms, dtype=object).copy()
    result = GeometryCheck(geoms)
    ok = np.ones(len(geoms), dtype=bool)

    def reject(mask: np.ndarray, reason) -> None:
        for pos in np.flatnonzero(mask & ok):
            result.errors[int(pos)] = (reason(int(pos)) if callable(reason) else reason, None)
        ok[mask] = False

    reject(shapely.is_missing(geoms), "geometry is missing")
    reject(ok & shapely.is_empty(geoms), "geometry is empty")
    reject(_non_finite(geoms, ok), "coordinates are not finite numbers (NaN or infinity)")
    if ok.any() and shapely.has_z(geoms[ok]).any():
        geoms[ok] = shapely.force_2d(geoms[ok])
        result.warnings.append("heights (z) were dropped: the store keeps 2-d lon/lat")
    _check_types(result, ok, reject, geometry_types)
    _repair_invalid(result, ok, row_numbers)
    _normalise_multi(result, ok, reject, geometry_types)
    bounds = np.full((len(geoms), 4), np.nan)
    if ok.any():
        bounds[ok] = shapely.bounds(result.geoms[ok])
    cx, cy = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
    _check_range(bounds, cx, cy, ok, reject)
    reject(null_island(cx, cy, ok), lambda pos: NULL_ISLAND_REASON.format(xy=_xy(cx[pos], cy[pos])))
    if service_area is not None:
        _check_service_area(service_area, bounds, cx, cy, ok, reject)
    if outliers and ok.sum() >= OUTLIER_MIN_ROWS:
        _check_outliers(cx, cy, ok, reject, outlier_floor_km)
    if outliers:
        result.warnings += coordinate_warnings(cx, cy, ok, _xy)
    return result


def _non_finite(geoms: np.ndarray, ok: np.ndarray) -> np.ndarray:
    bad = np.zeros(len(geoms), dtype=bool)
    positions = np.flatnonzero(ok)
    if len(positions):
        coords, index = shapely.get_coordinates(geoms[positions], include_z=True, return_index=True)
        finite = np.isfinite(coords[:, :2]).all(axis=1)
        if not finite.all():
            bad[positions[np.unique(index[~finite])]] = True
    return bad


def _check_types(result: GeometryCheck, ok, reject, geometry_types) -> None:
    type_ids = np.maximum(shapely.get_type_id(result.geoms), 0)  # missing (-1) are already rejected
    names = np.array(TYPE_NAMES, dtype=object)[type_ids]
    families = [_FAMILY[t] for t in geometry_types]
    fam = np.array([_FAMILY.get(n, "collection") for n in TYPE_NAMES], dtype=object)[type_ids]
    wrong = ok & ~np.isin(fam, families)
    reject(wrong, lambda pos: f"{names[pos]} where the layer takes {_takes(geometry_types)}")


def _repair_invalid(result: GeometryCheck, ok, row_numbers) -> None:
    """make_valid what can keep its kind (polygon stays polygonal); reject the rest with GEOS's reason."""
    geoms = result.geoms
    lines_or_areas = ok & (shapely.get_dimensions(geoms) > 0)
    invalid = np.zeros(len(geoms), dtype=bool)
    invalid[lines_or_areas] = ~shapely.is_valid(geoms[lines_or_areas])
    repaired: list[str] = []
    for pos in np.flatnonzero(invalid):
        original = geoms[pos]
        why = shapely.is_valid_reason(original)
        fixed = _same_kind(shapely.make_valid(original), _FAMILY[original.geom_type])
        if fixed is None:
            result.errors[int(pos)] = (f"invalid geometry that cannot be repaired without changing its "
                                       f"kind: {why}", None)
            ok[pos] = False
            continue
        geoms[pos] = fixed
        repaired.append(f"row {row_numbers[pos]}: invalid geometry repaired ({why}); now {fixed.geom_type}")
    if len(repaired) > MAX_REPAIR_WARNINGS:
        more = len(repaired) - MAX_REPAIR_WARNINGS
        repaired = repaired[:MAX_REPAIR_WARNINGS] + [f"... and {more} more geometries repaired"]
    result.warnings.extend(repaired)


def _same_kind(geom, family: str):
    """The parts of ``geom`` of the given family as one geometry, or None if there are none."""
    if geom is None or geom.is_empty:
        return None
    if _FAMILY.get(geom.geom_type) == family:
        return geom
    parts = [p for p in shapely.get_parts(geom) if _FAMILY.get(p.geom_type) == family and not p.is_empty]
    if not parts:
        return None
    merged = shapely.union_all(parts) if family != "point" else shapely.multipoints(parts)
    return merged if _FAMILY.get(merged.geom_type) == family and merged.is_valid else None


def _normalise_multi(result: GeometryCheck, ok, reject, geometry_types) -> None:
    """Polygon -> MultiPolygon where only Multi is taken, and single-part Multi -> single."""
    geoms = result.geoms
    type_ids = shapely.get_type_id(geoms)
    for family in ("point", "line", "polygon"):
        single, multi = _SINGLE[family], _MULTI[family]
        single_ids = [TYPE_NAMES.index(single)] + ([TYPE_NAMES.index("LinearRing")] if family == "line" else [])
        if multi in geometry_types and single not in geometry_types:
            promote = ok & np.isin(type_ids, single_ids)
            if promote.any():
                geoms[promote] = _MAKE_MULTI[family](geoms[promote][:, None])
        if single in geometry_types and multi not in geometry_types:
            is_multi = ok & (type_ids == TYPE_NAMES.index(multi))
            if not is_multi.any():
                continue
            parts = np.zeros(len(geoms), dtype=np.int64)
            parts[is_multi] = shapely.get_num_geometries(geoms[is_multi])
            demote = is_multi & (parts == 1)
            geoms[demote] = shapely.get_geometry(geoms[demote], 0)
            reject(is_multi & (parts > 1), lambda pos, m=multi, k=parts, t=_takes(geometry_types):
                   f"{m} with {k[pos]} parts where the layer takes {t}")


def _check_range(bounds, cx, cy, ok, reject) -> None:
    minx, miny, maxx, maxy = bounds.T
    with np.errstate(invalid="ignore"):
        lon_bad = ok & ((minx < -180) | (maxx > 180))
        lat_bad = ok & ((miny < -90) | (maxy > 90))
        swapped = (lon_bad | lat_bad) & (np.abs(cy) <= 180) & (np.abs(cx) <= 90) & ~lon_bad
    reject(swapped, lambda pos: f"likely swapped lat/lon: {_xy(cx[pos], cy[pos])} has the latitude first")

    def hint(value: float) -> str:
        return " (projected metres? pass --crs with the file's CRS)" if abs(value) > 1000 else ""

    def lon_reason(pos: int) -> str:
        value = minx[pos] if minx[pos] < -180 else maxx[pos]
        return f"longitude {show_coord(value)} is out of range -180..180{hint(value)}"

    def lat_reason(pos: int) -> str:
        value = miny[pos] if miny[pos] < -90 else maxy[pos]
        return f"latitude {show_coord(value)} is out of range -90..90{hint(value)}"

    reject(lon_bad, lon_reason)
    reject(lat_bad, lat_reason)


def show_coord(value: float) -> str:
    return repr(round(float(value), 6))


def _check_service_area(area, bounds, cx, cy, ok, reject) -> None:
    ax0, ay0, ax1, ay1 = area
    minx, miny, maxx, maxy = bounds.T
    with np.errstate(invalid="ignore"):
        outside = ok & ((maxx < ax0) | (minx > ax1) | (maxy < ay0) | (miny > ay1))
        swapped_inside = (cy >= ax0) & (cy <= ax1) & (cx >= ay0) & (cx <= ay1)
    reject(outside & swapped_inside, lambda pos: f"likely swapped lat/lon: {_xy(cx[pos], cy[pos])} lies "
           f"outside the service area, ({round(cy[pos], 6)}, {round(cx[pos], 6)}) inside it")
    reject(outside, lambda pos: f"outside the service area {tuple(area)}: {_xy(cx[pos], cy[pos])}")


def _check_outliers(cx, cy, ok, reject, floor_km: float) -> None:
    """Reject rows far from the data's robust centre (coordinates.far_from_centre); a far row whose
    swapped axes land near the centre is named as swapped instead."""
    far, dist, limit, (mx, my) = far_from_centre(cx, cy, ok, floor_km)
    with np.errstate(invalid="ignore"):
        swapped = far & (km_between(mx, my, cy, cx) <= limit)
    centre = _xy(mx, my)
    reject(swapped, lambda pos: f"likely swapped lat/lon: {_xy(cx[pos], cy[pos])} is far from the rest of "
           f"the data, ({round(cy[pos], 6)}, {round(cx[pos], 6)}) is among it")
    reject(far, lambda pos: f"far outside the rest of the data: {_xy(cx[pos], cy[pos])} is {dist[pos]:,.0f} km "
           f"from its centre {centre} (limit {limit:,.0f} km; the median point, --outlier-km sets the floor)")


def far_rows(cx: np.ndarray, cy: np.ndarray, floor_km: float = OUTLIER_FLOOR_KM) -> dict[int, str]:
    """The outlier check on representative points alone (a streamed import gathers them across its
    chunks): position -> reason for each row far from the data's robust centre."""
    ok = np.isfinite(cx) & np.isfinite(cy)
    errors: dict[int, str] = {}

    def reject(mask: np.ndarray, reason) -> None:
        for pos in np.flatnonzero(mask & ok):
            errors[int(pos)] = reason(int(pos))
        ok[mask] = False

    if ok.sum() >= OUTLIER_MIN_ROWS:
        _check_outliers(cx, cy, ok, reject, floor_km)
    return errors


def placeholder_warnings(cx: np.ndarray, cy: np.ndarray) -> list[str]:
    """Shared-coordinate and whole-degree warnings over representative points (see coordinate_warnings)."""
    return coordinate_warnings(cx, cy, np.isfinite(cx) & np.isfinite(cy), _xy)


def representative_xy(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The centre of each geometry's bounds, as the checks above measure it (NaN for missing)."""
    bounds = shapely.bounds(np.asarray(geoms, dtype=object)) if len(geoms) else np.empty((0, 4))
    return (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
