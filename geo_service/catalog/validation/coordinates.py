"""Coordinates that real exports get wrong: Null Island, far outliers, placeholders shared by many rows.

Outliers are measured from the data's robust centre (the median lon and lat) in kilometres, and a
row is far when it lies beyond ``max(floor_km, SPREAD_FACTOR x the median distance)``: medians
are not moved by the outliers themselves, so even 5 % of placeholders cannot hide each other
(a 1st-99th percentile box is stretched by them). The floor (default 100 km) keeps a compact
dataset, a district or a city, from rejecting its own suburbs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

OUTLIER_FLOOR_KM = 100.0
SPREAD_FACTOR = 8.0
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320
NULL_ISLAND_DEG = 1e-6
NULL_ISLAND_KM = 1.0
SHARED_MIN = 3  # this many rows on exactly one coordinate is worth a warning
NULL_ISLAND_REASON = ("Null Island: {xy} is (0, 0), the placeholder exports write for a missing location; "
                      "give the row its real coordinates or leave it out")


def km_between(x0: float, y0: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Equirectangular distance in km from (x0, y0): plenty for telling metres from hundreds of km."""
    kx = KM_PER_DEG_LON_EQUATOR * np.cos(np.radians((y + y0) / 2))
    return np.hypot((x - x0) * kx, (y - y0) * KM_PER_DEG_LAT)


def null_island(cx: np.ndarray, cy: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Rows at (0, 0): both |lon| and |lat| below 1e-6 degrees, or within 1 km of it."""
    with np.errstate(invalid="ignore"):
        tiny = (np.abs(cx) < NULL_ISLAND_DEG) & (np.abs(cy) < NULL_ISLAND_DEG)
        near = km_between(0.0, 0.0, cx, cy) <= NULL_ISLAND_KM
    return ok & (tiny | near)


def far_from_centre(cx: np.ndarray, cy: np.ndarray, ok: np.ndarray,
                    floor_km: float = OUTLIER_FLOOR_KM) -> tuple[np.ndarray, np.ndarray, float, tuple[float, float]]:
    """(far mask, distances in km, the limit in km, the centre) of the rows in ``ok``."""
    mx, my = float(np.median(cx[ok])), float(np.median(cy[ok]))
    dist = km_between(mx, my, cx, cy)
    limit = max(float(floor_km), SPREAD_FACTOR * float(np.median(dist[ok])))
    with np.errstate(invalid="ignore"):
        far = ok & (dist > limit)
    return far, dist, limit, (mx, my)


def coordinate_warnings(cx: np.ndarray, cy: np.ndarray, ok: np.ndarray, show: Callable[[float, float], str]
                        ) -> list[str]:
    """Counts of rows that look like placeholders but may be real: one coordinate shared by many rows,
    and whole-degree coordinates."""
    warnings = []
    n = int(ok.sum())
    if not n:
        return warnings
    # one complex number per point: a 1-d unique (an axis=0 unique of 1 million pairs costs ~100 MB)
    pairs, counts = np.unique(cx[ok] + 1j * cy[ok], return_counts=True)
    shared = counts >= max(SHARED_MIN, math.ceil(0.01 * n))
    points = [(p.real, p.imag) for p in pairs[shared].tolist()]
    for (x, y), k in sorted(zip(points, counts[shared].tolist(), strict=True), key=lambda p: -p[1])[:5]:
        warnings.append(f"{k:,} features share exactly the coordinate {show(x, y)} (a placeholder? check them)")
    whole = int((ok & (cx == np.round(cx)) & (cy == np.round(cy))).sum())
    if whole:
        warnings.append(f"{whole:,} feature(s) have whole-degree coordinates (e.g. (121.0, 31.0)): "
                        "often a placeholder or a rounded export")
    return warnings
