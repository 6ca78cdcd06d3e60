"""OGC API - Features Part 2 (CRS by reference): the CRSs served and how to convert to/from them.

Axis order follows the CRS's authority definition, as Part 2 requires: EPSG:4326 and
EPSG:4490 are latitude/longitude; CRS84 and EPSG:3857 are x/y; the CGCS2000 Gauss-Kruger
zones (EPSG:4549...) are northing/easting. Coordinates, bboxes and transforms here all
use that order, so nothing is swapped behind the client's back.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"
# WGS84 lat/lon, CGCS2000 lat/lon, web mercator, CGCS2000 3-degree Gauss-Kruger CM 120E and 123E.
BASE_CODES = [4326, 4490, 3857, 4549, 4550]
DEFAULT_METRIC_CODE = 32651  # UTM 51N: the default metric CRS for Shanghai-area data

Bbox = tuple[float, float, float, float]


class UnsupportedCRS(ValueError):
    pass


class InvalidBbox(ValueError):
    """A bbox that cannot select anything meaningful in its CRS (reversed axes, outside the CRS)."""


@lru_cache(maxsize=16)
def _supported(metric_crs: str | None) -> tuple[str, ...]:
    codes = list(BASE_CODES)
    code = pyproj.CRS.from_user_input(metric_crs).to_epsg() if metric_crs else DEFAULT_METRIC_CODE
    if code and code not in codes:
        codes.append(code)
    return (CRS84, *(EPSG_URI.format(code=c) for c in codes))


def supported_crs(metric_crs: str | None = None) -> list[str]:
    """The CRS URIs every collection offers; cached because parsing a CRS costs milliseconds."""
    return list(_supported(metric_crs))


_EPSG = re.compile(r"^(?:EPSG:|urn:ogc:def:crs:EPSG:[^:]*:)(\d+)$", re.IGNORECASE)


def parse_crs_uri(uri: str, supported: list[str]) -> str:
    """Normalise a crs/bbox-crs parameter (URI, [EPSG:xxxx] safe CURIE, EPSG:xxxx or URN) to its URI."""
    text = uri.strip().strip("[]")
    if text.startswith("https://www.opengis.net/"):
        text = "http://" + text[len("https://"):]
    if text.upper() in ("CRS84", "OGC:CRS84", "URN:OGC:DEF:CRS:OGC:1.3:CRS84"):
        text = CRS84
    m = _EPSG.match(text)
    if m:
        text = EPSG_URI.format(code=m.group(1))
    if text not in supported:
        raise UnsupportedCRS(f"CRS {uri!r} is not supported; use one of: {', '.join(supported)}")
    return text


@lru_cache(maxsize=32)
def _crs(uri: str) -> pyproj.CRS:
    return pyproj.CRS.from_user_input("OGC:CRS84" if uri == CRS84 else "EPSG:" + uri.rsplit("/", 1)[1])


@lru_cache(maxsize=32)
def _transformer(src: str, dst: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(_crs(src), _crs(dst))  # authority axis order on both sides


def warm_up(metric_crs: str | None = None) -> None:
    """Build the CRS84 <-> each served CRS transformers now: finding a CGCS2000 transformation costs
    PROJ 0.1-1 s, better paid at startup than by the first client asking for that CRS."""
    for uri in supported_crs(metric_crs)[1:]:
        _transformer(CRS84, uri)
        _transformer(uri, CRS84)


def _apply(tr: pyproj.Transformer, geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def from_crs84(uri: str):
    """A function converting CRS84 geometry arrays to `uri` (None when it is CRS84 itself)."""
    if uri == CRS84:
        return None
    tr = _transformer(CRS84, uri)
    return lambda geoms: _apply(tr, geoms)


def to_crs84(uri: str, geoms: np.ndarray) -> np.ndarray:
    if uri == CRS84:
        return geoms
    return _apply(_transformer(uri, CRS84), geoms)


def _lonlat_region(minx: float, miny: float, maxx: float, maxy: float) -> Bbox | BaseGeometry:
    """A CRS84 box; one crossing the antimeridian (minx > maxx, as OGC allows) becomes two boxes."""
    if miny > maxy:
        raise InvalidBbox("the lower latitude of bbox is above the upper one")
    if minx <= maxx:
        return minx, miny, maxx, maxy
    return shapely.MultiPolygon([shapely.box(minx, miny, 180.0, maxy), shapely.box(-180.0, miny, maxx, maxy)])


def bbox_to_crs84(bbox: Bbox, uri: str) -> Bbox | BaseGeometry:
    """The region a bbox given in `uri` (its axis order) selects, in CRS84.

    A CRS84 or geographic bbox stays a lon/lat box (the store's fast path); a projected
    one becomes its densified outline, because a projected rectangle is not a lon/lat box.
    """
    if uri == CRS84:
        return _lonlat_region(*bbox)
    crs = _crs(uri)
    tr = _transformer(uri, CRS84)
    if crs.is_geographic:  # the corners map to corners (a datum shift at most); the transformer swaps axes
        lons, lats = tr.transform([bbox[0], bbox[2]], [bbox[1], bbox[3]])
        if not np.isfinite([*lons, *lats]).all():
            raise InvalidBbox("bbox lies outside the valid latitude/longitude range")
        return _lonlat_region(float(lons[0]), float(lats[0]), float(lons[1]), float(lats[1]))
    if bbox[0] > bbox[2] or bbox[1] > bbox[3]:
        raise InvalidBbox("the lower corner of bbox is above or right of the upper corner")
    a0, a1 = tr.transform(*_outline(bbox))
    ring = np.column_stack([a0, a1])
    if not np.isfinite(ring).all():
        raise InvalidBbox(f"bbox lies outside the area where {uri} is defined")
    region = shapely.Polygon(ring)
    if region.is_valid and region.area > 0:
        return region
    # A degenerate bbox (a point or a line) or one folded by reaching past the CRS's domain: its envelope.
    return float(a0.min()), float(a1.min()), float(a0.max()), float(a1.max())


def _outline(bbox: Bbox, per_edge: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """The bbox's boundary, densified: straight lines in a projected CRS are curves in lon/lat."""
    t = np.linspace(0.0, 1.0, per_edge, endpoint=False)
    x0, y0, x1, y1 = bbox
    xs = np.concatenate([x0 + (x1 - x0) * t, np.full_like(t, x1), x1 - (x1 - x0) * t, np.full_like(t, x0)])
    ys = np.concatenate([np.full_like(t, y0), y0 + (y1 - y0) * t, np.full_like(t, y1), y1 - (y1 - y0) * t])
    return xs, ys

