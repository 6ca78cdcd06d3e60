"""OGC API - Features Part 2 (CRS by reference): the CRSs served and how to convert to/from them.

Axis order follows the CRS's authority definition, as Part 2 requires: EPSG:4326 and
EPSG:4490 are latitude/longitude; CRS84 and EPSG:3857 are x/y; the CGCS2000 Gauss-Kruger
zones (EPSG:4549...) are northing/easting.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pyproj
import shapely

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"
BASE_CODES = [4326, 4490, 3857, 4549, 4550]


class UnsupportedCRS(ValueError):
    pass


def supported_crs(metric_crs: str | None = None) -> list[str]:
    codes = list(BASE_CODES)
    if metric_crs:
        code = pyproj.CRS.from_user_input(metric_crs).to_epsg()
        if code and code not in codes:
            codes.append(code)
    else:
        codes.append(32651)  # UTM 51N: the default metric CRS for Shanghai-area data
    return [CRS84] + [EPSG_URI.format(code=c) for c in codes]


_URI = re.compile(r"^https?://www\.opengis\.net/def/crs/(OGC/1\.3/CRS84|EPSG/0/(\d+))$")


def parse_crs_uri(uri: str, supported: list[str]) -> str:
    """Normalise a crs/bbox-crs parameter (URI, [EPSG:xxxx] safe CURIE, or EPSG:xxxx) to its URI."""
    text = uri.strip().strip("[]")
    if text.upper() in ("CRS84", "OGC:CRS84"):
        text = CRS84
    m = re.match(r"^EPSG:(\d+)$", text, re.IGNORECASE)
    if m:
        text = EPSG_URI.format(code=m.group(1))
    if text not in supported:
        raise UnsupportedCRS(f"CRS {uri!r} is not supported; use one of: {', '.join(supported)}")
    return text


@lru_cache(maxsize=32)
def _transformer(src: str, dst: str) -> pyproj.Transformer:
    def crs(u: str) -> pyproj.CRS:
        return pyproj.CRS.from_user_input("OGC:CRS84" if u == CRS84 else "EPSG:" + u.rsplit("/", 1)[1])

    return pyproj.Transformer.from_crs(crs(src), crs(dst))  # authority axis order on both sides


def from_crs84(uri: str):
    """A function converting CRS84 geometry arrays to `uri` (None when it is CRS84 itself)."""
    if uri == CRS84:
        return None
    tr = _transformer(CRS84, uri)

    def convert(geoms: np.ndarray) -> np.ndarray:
        return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))

    return convert


def to_crs84(uri: str, geoms: np.ndarray) -> np.ndarray:
    if uri == CRS84:
        return geoms
    tr = _transformer(uri, CRS84)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def bbox_to_crs84(bbox: tuple[float, float, float, float], uri: str) -> tuple[float, float, float, float]:
    """A bbox given in `uri` (its axis order) as a CRS84 lon/lat bbox (densified envelope)."""
    if uri == CRS84:
        return bbox
    tr = _transformer(uri, CRS84)
    return tr.transform_bounds(*bbox, densify_pts=21)
