"""The one CRS module: parsing, CRS URIs (OGC API Part 2), reprojection, GCJ-02/BD-09, Web Mercator.

Axis order is explicit: every transformer comes from :func:`transformer`, the one cache of them,
which says whether it works in x/y (lon/lat, easting/northing: ``always_xy=True``, what files,
shapely and the store use) or in the authority's order (``always_xy=False``: what OGC API
Part 2 requires for coordinates a client sends or receives in a named CRS).

The store keeps every geometry in WGS84 lon/lat (EPSG:4326). Source data arrive in many forms:
CGCS2000 Gauss-Kruger grids from surveyors, WGS84 from GPS, and GCJ-02 / BD-09 from AMap,
Tencent and Baidu. GCJ-02 and BD-09 are not datums PROJ knows about; they are deliberate,
non-linear offsets of a few hundred metres, so they are implemented here and named by the plain
strings ``"gcj02"`` and ``"bd09"`` wherever a CRS is accepted.

Everything is vectorised over numpy arrays; scalars are accepted and come back as 0-d arrays.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import pyproj
import shapely
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

SHIFTED = ("gcj02", "bd09")

WGS84 = pyproj.CRS.from_epsg(4326)

# --- GCJ-02 -----------------------------------------------------------------------------------

# GCJ-02 is computed on the Krasovsky 1940 ellipsoid (semi-major axis, first eccentricity squared).
_A = 6378245.0
_EE = 0.00669342162296594323

# The rough box inside which the official software applies the offset; outside it GCJ-02 == WGS84.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

_MAX_ITER = 30
_TOL = 1e-10  # degrees, ~0.01 mm


def _pair(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon, lat


def _out(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    # Arithmetic on 0-d arrays yields numpy scalars; keep the return type uniform.
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Where the offset applies (NaN counts as outside, so it passes through untouched)."""
    return (lon >= _CHINA_LON[0]) & (lon <= _CHINA_LON[1]) & (lat >= _CHINA_LAT[0]) & (lat <= _CHINA_LAT[1])


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at a WGS84 point, ignoring the China box.

    The published algorithm: a sum of polynomial and sine terms in (lon - 105, lat - 35) giving
    an offset in metres, turned into degrees with the Krasovsky meridian and parallel radii.
    """
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = 0.1 * x * y + (20.0 * np.sin(6.0 * pi * x) + 20.0 * np.sin(2.0 * pi * x)) * 2.0 / 3.0
    sqrt_x = np.sqrt(np.abs(x))
    m_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.2 * sqrt_x
        + common
        + (20.0 * np.sin(pi * y) + 40.0 * np.sin(pi * y / 3.0)) * 2.0 / 3.0
        + (160.0 * np.sin(pi * y / 12.0) + 320.0 * np.sin(pi * y / 30.0)) * 2.0 / 3.0
    )
    m_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * sqrt_x
        + common
        + (20.0 * np.sin(pi * x) + 40.0 * np.sin(pi * x / 3.0)) * 2.0 / 3.0
        + (150.0 * np.sin(pi * x / 12.0) + 300.0 * np.sin(pi * x / 30.0)) * 2.0 / 3.0
    )
    rad_lat = np.radians(lat)
    w = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_w = np.sqrt(w)
    meridian_radius = _A * (1.0 - _EE) / (w * sqrt_w)
    parallel_radius = _A / sqrt_w * np.cos(rad_lat)
    return np.degrees(m_lon / parallel_radius), np.degrees(m_lat / meridian_radius)


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> GCJ-02 (AMap/Gaode, Tencent). Points outside the China box are returned unchanged."""
    lon, lat = _pair(lon, lat)
    dlon, dlat = _gcj_offset(lon, lat)
    inside = _in_china(lon, lat)
    return _out(np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat))


def gcj02_to_wgs84(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> WGS84 by fixed-point iteration of the forward transform.

    Subtracting the offset evaluated at the GCJ-02 point (the usual one-step inverse) errs by
    ~0.7 m typically and up to ~5 m (~2 m in Shanghai) because the offset varies in space;
    iterating w <- w - (f(w) - g) reaches the exact inverse (change < 1e-10 degrees) in a few
    steps because that variation is small.
    Whether a point is shifted is decided on the input (GCJ-02) coordinates.
    """
    g_lon, g_lat = _pair(lon, lat)
    inside = _in_china(g_lon, g_lat)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(_MAX_ITER):
        dlon, dlat = _gcj_offset(w_lon, w_lat)
        step_lon = (w_lon + dlon) - g_lon
        step_lat = (w_lat + dlat) - g_lat
        w_lon = w_lon - step_lon
        w_lat = w_lat - step_lat
        if not (np.any(np.abs(step_lon) > _TOL) or np.any(np.abs(step_lat) > _TOL)):
            break
    return _out(np.where(inside, w_lon, g_lon), np.where(inside, w_lat, g_lat))


# --- BD-09 ------------------------------------------------------------------------------------

_X_PI = np.pi * 3000.0 / 180.0


def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> BD-09 (Baidu): a small polar-coordinate perturbation plus a fixed offset.

    Applied everywhere, as Baidu's published conversion does; only the GCJ-02 step has a China box.
    """
    x, y = _pair(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return _out(z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006)


def bd09_to_gcj02(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> GCJ-02: the textbook closed-form inverse, refined by fixed-point iteration.

    The closed form evaluates the perturbation at the wrong point and errs by a few centimetres;
    a few iterations against :func:`gcj02_to_bd09` make the round trip exact to ~1e-10 degrees.
    """
    b_lon, b_lat = _pair(lon, lat)
    x = b_lon - 0.0065
    y = b_lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    g_lon, g_lat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(_MAX_ITER):
        f_lon, f_lat = gcj02_to_bd09(g_lon, g_lat)
        step_lon = f_lon - b_lon
        step_lat = f_lat - b_lat
        g_lon = g_lon - step_lon
        g_lat = g_lat - step_lat
        if not (np.any(np.abs(step_lon) > _TOL) or np.any(np.abs(step_lat) > _TOL)):
            break
    return _out(g_lon, g_lat)


def wgs84_to_bd09(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> WGS84 (via GCJ-02, both steps iterative)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_FORWARD = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}
_INVERSE = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}

# --- parsing ----------------------------------------------------------------------------------

_SHIFTED_ALIASES = {"gcj02": "gcj02", "bd09": "bd09", "bd09ll": "bd09"}
_ALIASES = {
    "wgs84": "EPSG:4326",
    "crs84": "OGC:CRS84",
    "cgcs2000": "EPSG:4490",
}
_ACCEPTED = (
    "an EPSG code (4549, '4549', 'EPSG:4549'), 'CRS84'/'OGC:CRS84', an OGC CRS URI or URN, WKT, "
    "a PROJ string, 'wgs84', 'cgcs2000', 'gcj02' or 'bd09'"
)


def parse_crs(text: str | int | pyproj.CRS | None) -> pyproj.CRS | str:
    """A CRS from what users and files write, or ``"gcj02"``/``"bd09"`` for the shifted systems.

    ``None`` means EPSG:4326, the GeoJSON (RFC 7946) convention for data that state no CRS.
    Raises ValueError, quoting the input, for anything else that PROJ cannot read.
    """
    if text is None:
        return WGS84
    if isinstance(text, pyproj.CRS):
        return text
    if isinstance(text, bool) or not isinstance(text, (str, int, np.integer)):
        raise ValueError(f"cannot read a CRS from {text!r} ({type(text).__name__}); expected {_ACCEPTED}")
    try:
        if not isinstance(text, str):
            return pyproj.CRS.from_epsg(int(text))
        s = text.strip()
        key = re.sub(r"[\s_\-]", "", s).lower()
        if key in _SHIFTED_ALIASES:
            return _SHIFTED_ALIASES[key]
        if key in _ALIASES:
            return pyproj.CRS.from_user_input(_ALIASES[key])
        if s.isdigit():
            return pyproj.CRS.from_epsg(int(s))
        if not s:
            raise CRSError("empty")
        return pyproj.CRS.from_user_input(s)
    except CRSError as exc:
        raise ValueError(f"cannot read a CRS from {text!r}; expected {_ACCEPTED}") from exc


def _is_wgs84_lonlat(crs: pyproj.CRS) -> bool:
    """EPSG:4326 or CRS84: the same coordinates, the axis order is handled by always_xy."""
    return crs.equals(WGS84, ignore_axis_order=True)


@lru_cache(maxsize=128)
def transformer(src: pyproj.CRS | str, dst: pyproj.CRS | str, *, always_xy: bool = True) -> pyproj.Transformer:
    """The one cache of transformers: building one searches the PROJ database (0.1-1 s for some
    CGCS2000 pairs), and they are thread-safe. ``always_xy`` False keeps the authority axis order."""
    return pyproj.Transformer.from_crs(src, dst, always_xy=always_xy)


def _transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    return transformer(src, dst, always_xy=True)


# --- geometry conversion ----------------------------------------------------------------------


def _geometry_array(geoms: Any) -> np.ndarray:
    """A 1-d object array of shapely geometries (or None) from an array, GeoSeries or GeoDataFrame."""
    geometry = getattr(geoms, "geometry", geoms)  # GeoDataFrame -> its active geometry column
    if isinstance(geometry, shapely.Geometry):
        return np.array([geometry], dtype=object)
    return np.asarray(geometry, dtype=object)


def _apply_xy(geoms: np.ndarray, fn) -> np.ndarray:
    """Apply fn(x, y) -> (x, y) to every vertex; z values, where present, are kept as they are.

    Split by dimensionality because shapely.transform either drops z or pads 2-d geometries with
    NaN z; one call per group keeps both kinds intact.
    """

    def xy(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        x, y = fn(coords[:, 0], coords[:, 1])
        out[:, 0] = x
        out[:, 1] = y
        return out

    out = geoms.copy()
    has_z = shapely.has_z(geoms)
    flat = ~has_z
    if flat.any():
        out[flat] = shapely.transform(geoms[flat], xy, include_z=False)
    if has_z.any():
        out[has_z] = shapely.transform(geoms[has_z], xy, include_z=True)
    return out


def _source_of(geoms: Any, crs: Any) -> pyproj.CRS | str:
    if crs is None:
        crs = getattr(geoms, "crs", None)
    return parse_crs(crs)


def to_wgs84(geoms: Any, source: pyproj.CRS | str | int | None) -> np.ndarray:
    """Geometries from ``source`` to WGS84 lon/lat (x = lon), as a numpy array of shapely geometries.

    ``source`` wins over any CRS attached to ``geoms``: data from Chinese map APIs are often
    labelled EPSG:4326 while really being GCJ-02. ``None`` falls back to ``geoms.crs``, then 4326.
    Heights (z) are carried over unchanged.
    """
    src = _source_of(geoms, source)
    arr = _geometry_array(geoms)
    if isinstance(src, str):
        return _apply_xy(arr, _INVERSE[src])
    if _is_wgs84_lonlat(src):
        return arr
    return _apply_xy(arr, _transformer(src, WGS84).transform)


def from_wgs84(geoms: Any, target: pyproj.CRS | str | int) -> np.ndarray:
    """Geometries from WGS84 lon/lat to ``target`` (any form :func:`parse_crs` accepts).

    For serving data in a requested CRS, and for shifting data onto GCJ-02/BD-09 basemaps.
    Output axis order is x/y (easting/northing, or lon/lat for geographic targets).
    """
    dst = parse_crs(target)
    arr = _geometry_array(geoms)
    if isinstance(dst, str):
        return _apply_xy(arr, _FORWARD[dst])
    if _is_wgs84_lonlat(dst):
        return arr
    return _apply_xy(arr, _transformer(WGS84, dst).transform)


def frame_to_wgs84(gdf, source: pyproj.CRS | str | int | None = None):
    """A copy of ``gdf`` with its active geometry in WGS84 and crs EPSG:4326.

    ``source`` None means the frame's own crs, and EPSG:4326 when it has none.
    """
    import geopandas as gpd  # deferred: the lowest floor stays importable without geopandas' start-up cost

    geoms = to_wgs84(gdf, _source_of(gdf, source))
    out = gdf.copy()
    name = gdf.geometry.name
    out[name] = gpd.GeoSeries(geoms, index=gdf.index, crs="EPSG:4326")
    return out.set_crs("EPSG:4326", allow_override=True)


# --- metric CRS for distances and areas -------------------------------------------------------


def utm_crs_for(lon: float, lat: float) -> pyproj.CRS:
    """The WGS84 UTM zone containing the point (EPSG:326xx north, 327xx south).

    Plain 6-degree zones; the Norway/Svalbard exceptions do not matter for this service.
    """
    lon, lat = float(lon), float(lat)
    if not (np.isfinite(lon) and np.isfinite(lat) and -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError(f"not a lon/lat point: ({lon!r}, {lat!r})")
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _is_metric(crs: pyproj.CRS) -> bool:
    if not crs.is_projected:
        return False
    axes = crs.axis_info[:2]
    return len(axes) == 2 and all(a.unit_name in ("metre", "meter") for a in axes)


def metric_crs(bounds: Any, configured: str | None = None) -> pyproj.CRS:
    """The CRS in which distances and areas are computed.

    The configured CRS (setting ``metric_crs``) when given; it must be projected in metres.
    Otherwise the UTM zone of the centre of ``bounds`` = (minx, miny, maxx, maxy) in lon/lat,
    which keeps scale error below ~0.1% across a city.
    """
    if configured is not None:
        crs = parse_crs(configured)
        if isinstance(crs, str) or not _is_metric(crs):
            name = crs if isinstance(crs, str) else crs.name
            raise ValueError(
                f"metric CRS {configured!r} ({name}) is not a projected CRS in metres; "
                "use e.g. a UTM zone (EPSG:32651) or a CGCS2000 Gauss-Kruger zone (EPSG:4549)"
            )
        return crs
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return utm_crs_for((minx + maxx) / 2.0, (miny + maxy) / 2.0)


def metric_transformer(reference: BaseGeometry, configured: str | None) -> Callable[[np.ndarray], np.ndarray]:
    """A function taking lon/lat geometries to the metric CRS (configured, else the UTM zone of ``reference``)."""
    tr = transformer("EPSG:4326", metric_crs(reference.bounds, configured).to_string(), always_xy=True)

    def to_metric(geoms: np.ndarray) -> np.ndarray:
        return shapely.transform(np.asarray(geoms, dtype=object), lambda xy: np.column_stack(
            tr.transform(xy[:, 0], xy[:, 1])))

    return to_metric


# --- OGC API - Features Part 2: CRS by reference ------------------------------------------------
# Axis order follows the CRS's authority definition, as Part 2 requires: EPSG:4326 and EPSG:4490
# are latitude/longitude; CRS84 and EPSG:3857 are x/y; the CGCS2000 Gauss-Kruger zones (EPSG:4549...)
# are northing/easting. Coordinates, bboxes and transforms given with a URI all use that order.

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


def _uri_code(uri: str) -> str:
    """A served CRS URI as the authority code pyproj reads (strings key the transformer cache cheaply)."""
    return "OGC:CRS84" if uri == CRS84 else "EPSG:" + uri.rsplit("/", 1)[1]


@lru_cache(maxsize=32)
def crs_of_uri(uri: str) -> pyproj.CRS:
    return pyproj.CRS.from_user_input(_uri_code(uri))


def uri_transformer(src: str, dst: str) -> pyproj.Transformer:
    """Between two CRS URIs, in the authority axis order on both sides (Part 2)."""
    return transformer(_uri_code(src), _uri_code(dst), always_xy=False)


def warm_up(metric_crs: str | None = None) -> None:
    """Build the CRS84 <-> each served CRS transformers now: finding a CGCS2000 transformation costs
    PROJ 0.1-1 s, better paid at startup than by the first client asking for that CRS."""
    for uri in supported_crs(metric_crs)[1:]:
        uri_transformer(CRS84, uri)
        uri_transformer(uri, CRS84)


def _apply(tr: pyproj.Transformer, geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def from_crs84(uri: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """A function converting CRS84 geometry arrays to `uri` (None when it is CRS84 itself)."""
    if uri == CRS84:
        return None
    tr = uri_transformer(CRS84, uri)
    return lambda geoms: _apply(tr, geoms)


def to_crs84(uri: str, geoms: np.ndarray) -> np.ndarray:
    if uri == CRS84:
        return geoms
    return _apply(uri_transformer(uri, CRS84), geoms)


def _lonlat_region(minx: float, miny: float, maxx: float, maxy: float) -> Bbox | BaseGeometry:
    """A CRS84 box; one crossing the antimeridian (minx > maxx, as OGC allows) becomes two boxes."""
    if miny > maxy:
        raise InvalidBbox("the lower latitude of bbox is above the upper one")
    if minx <= maxx:
        return minx, miny, maxx, maxy
    return shapely.MultiPolygon([shapely.box(minx, miny, 180.0, maxy), shapely.box(-180.0, miny, maxx, maxy)])


ROUND_TRIP_DEG = 1e-9  # ~0.1 mm: more than a projection round trip's float error, far less than a 1e-7 coordinate step


def bbox_to_crs84(bbox: Bbox, uri: str) -> Bbox | BaseGeometry:
    """The region a bbox given in `uri` (its axis order) selects, in CRS84.

    A CRS84 or geographic bbox stays a lon/lat box (the store's fast path); a projected
    one becomes its densified outline, because a projected rectangle is not a lon/lat box.
    """
    if uri == CRS84:
        return _lonlat_region(*bbox)
    tr = uri_transformer(uri, CRS84)
    if crs_of_uri(uri).is_geographic:  # the corners map to corners (a datum shift at most); tr swaps axes
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
    # A degenerate bbox (a point or a line) or one folded by reaching past the CRS's domain: its envelope,
    # widened by ROUND_TRIP_DEG so the point a client projected from our coordinates still falls inside.
    return (float(a0.min()) - ROUND_TRIP_DEG, float(a1.min()) - ROUND_TRIP_DEG,
            float(a0.max()) + ROUND_TRIP_DEG, float(a1.max()) + ROUND_TRIP_DEG)


def _outline(bbox: Bbox, per_edge: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """The bbox's boundary, densified: straight lines in a projected CRS are curves in lon/lat."""
    t = np.linspace(0.0, 1.0, per_edge, endpoint=False)
    x0, y0, x1, y1 = bbox
    xs = np.concatenate([x0 + (x1 - x0) * t, np.full_like(t, x1), x1 - (x1 - x0) * t, np.full_like(t, x0)])
    ys = np.concatenate([np.full_like(t, y0), y0 + (y1 - y0) * t, np.full_like(t, y1), y1 - (y1 - y0) * t])
    return xs, ys


# --- Web Mercator (EPSG:3857) and the WebMercatorQuad tile grid ---------------------------------

EARTH_RADIUS_M = 6378137.0
WORLD_M = 2 * math.pi * EARTH_RADIUS_M  # Web Mercator world width in metres
HALF_WORLD = WORLD_M / 2
MAX_LAT = 85.05112878


def mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:3857 metres of lon/lat degrees (clamped to the Web Mercator latitude range)."""
    lat = np.clip(lat, -MAX_LAT, MAX_LAT)
    x = np.radians(lon) * EARTH_RADIUS_M
    y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * EARTH_RADIUS_M
    return x, y


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Web Mercator bounds of tile z/x/y (y counted from the top, as in XYZ and WebMercatorQuad)."""
    size = WORLD_M / 2**z
    minx = -HALF_WORLD + x * size
    maxy = HALF_WORLD - y * size
    return minx, maxy - size, minx + size, maxy


def lonlat_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Lon/lat bounds of tile z/x/y."""
    n = 2**z
    lat = [math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * r / n)))) for r in (y + 1, y)]
    return x / n * 360 - 180, lat[0], (x + 1) / n * 360 - 180, lat[1]
