"""Builders for the analysis tests (no tests here): scenes drawn in metres, handed over in lon/lat.

Hand-built cases are easiest to reason about in metres, so geometry is written in UTM 51N (the
zone the analyses pick for Shanghai) relative to a point in 闵行, then converted with pyproj to
EPSG:4326 as the store would hold it (or to any other CRS, for the CRS-invariance tests).
"""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import shapely

UTM = "EPSG:32651"
GK = "EPSG:4549"  # CGCS2000 3-degree Gauss-Kruger, CM 120E: what Shanghai surveyors deliver
X0, Y0 = 350_000.0, 3_445_000.0  # ~121.43E 31.12N


def square(x: float, y: float, w: float, h: float | None = None) -> shapely.Polygon:
    """An axis-aligned rectangle with its lower-left corner at (x, y) metres from the origin."""
    h = w if h is None else h
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def around(x: float, y: float, w: float) -> shapely.Polygon:
    """A w x w square centred on (x, y)."""
    return square(x - w / 2, y - w / 2, w)


def pt(x: float, y: float) -> shapely.Point:
    return shapely.Point(X0 + x, Y0 + y)


def layer(rows: list[dict], geoms: list, crs: str = "EPSG:4326", first_id: int = 1) -> gpd.GeoDataFrame:
    """A layer frame with ids first_id.. (unless rows carry ``id``), geometry drawn in UTM, returned in ``crs``."""
    rows = [{"id": first_id + i, **row} if "id" not in row else dict(row) for i, row in enumerate(rows)]
    data = pd.DataFrame(rows) if rows else pd.DataFrame({"id": pd.Series([], dtype="int64")})
    frame = gpd.GeoDataFrame(data, geometry=list(geoms), crs=UTM)
    return frame.to_crs(crs)


def quarter_circle_share(radius: float, side: float) -> float:
    return math.pi * radius ** 2 / 4 / side ** 2
