"""What a compound holds and how well it is served: counts, parking supply, hydrant coverage.

Pure functions over lon/lat geometries and GeoDataFrames; lengths and areas are computed in the
metric CRS the caller passes (``geo_service.crs.metric_crs``). No HTTP and no store here: the API
fetches the features and hands them in.

Hydrant coverage is exact, not sampled. The distance from a point p of the compound P to the
nearest working hydrant, f(p) = min_i |p - h_i|, is a single convex function |p - h_i| inside each
Voronoi cell of the hydrants. A convex function on a convex piece peaks at a vertex of that piece,
so the maximum of f over P is attained at a vertex of some (Voronoi cell ∩ P): a vertex of P, a
point where a Voronoi edge crosses P's boundary, or a Voronoi vertex inside P. Those candidates are
exactly the vertices of the clipped cells, so evaluating f at them gives the true maximum (to
floating-point precision; the remaining error is the metric CRS's scale error, < 0.1 % in a UTM zone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from ..crs import from_wgs84, to_wgs84

# Defaults from STANDARDS.md; every one can be overridden per request.
HYDRANT_RADIUS_M = 150.0  # protection radius of an outdoor hydrant, GB 50974-2014 §7.2.5 / §7.3.3
HYDRANT_COUNTED_STATUS = "working"  # only working hydrants count toward coverage (STANDARDS.md)
COMPOUND_PARKING_KIND = "compound"  # parking_facilities.kind of a compound's own car parks
UNSET = "unset"  # the by-status key for features whose status is empty


def to_metric(geom: BaseGeometry, crs: pyproj.CRS) -> BaseGeometry:
    """One lon/lat geometry in the metric CRS."""
    return from_wgs84(np.array([geom], dtype=object), crs)[0]


def area_m2(geom: BaseGeometry, crs: pyproj.CRS) -> float:
    return float(shapely.area(to_metric(geom, crs)))


def centroid_lonlat(geom: BaseGeometry, crs: pyproj.CRS) -> shapely.Point:
    """The centroid taken in metres (a lon/lat centroid weights area by degrees), back in lon/lat."""
    return to_wgs84(np.array([shapely.centroid(to_metric(geom, crs))], dtype=object), crs)[0]


# ---------------------------------------------------------------------------------- counts

def status_counts(values: pd.Series, allowed: Sequence[str] | None = None) -> dict[str, int]:
    """Features per status; every allowed value is listed (0 when absent) so tables line up.

    Empty statuses are counted under ``UNSET`` (only when there are some).
    """
    counts = {v: 0 for v in allowed or ()}
    present = values.dropna()
    for value, n in present.value_counts(sort=False).items():
        counts[str(value)] = counts.get(str(value), 0) + int(n)
    missing = int(len(values) - len(present))
    if missing:
        counts[UNSET] = missing
    return counts


def per_100_households(counts: Mapping[str, int], households: int | None) -> dict[str, float | None]:
    """Assets per 100 households (None when the compound has no households recorded)."""
    if not households:
        return {layer: None for layer in counts}
    return {layer: round(100.0 * n / households, 2) for layer, n in counts.items()}


# ---------------------------------------------------------------------------------- parking

@dataclass(frozen=True)
class ParkingSupply:
    compound_spaces: int  # the compound's own parking_spaces attribute
    facilities: int  # compound-kind parking facilities inside the compound
    facilities_capacity: int

    @property
    def total(self) -> int:
        # The larger of the two, as parking-gaps does: the compound's own car parks usually *are*
        # its parking_spaces drawn on the map, so adding them would count each space twice.
        return max(self.compound_spaces, self.facilities_capacity)


def parking_supply(compound: BaseGeometry, compound_spaces: int | None, facilities: gpd.GeoDataFrame,
                   kind: str = COMPOUND_PARKING_KIND) -> ParkingSupply:
    """The compound's spaces and the capacity of its own car parks that lie inside it.

    A facility is inside when a point on its surface is covered by the compound, so a car-park
    polygon that merely touches the boundary, or a lot across the road, is not counted.
    """
    if len(facilities):
        on_surface = shapely.point_on_surface(np.asarray(facilities.geometry.values, dtype=object))
        inside = shapely.covers(compound, on_surface) & (facilities["kind"] == kind).to_numpy(dtype=bool)
        capacity = pd.to_numeric(facilities["capacity"][inside], errors="coerce").fillna(0)
        n, cap = int(inside.sum()), int(capacity.sum())
    else:
        n, cap = 0, 0
    return ParkingSupply(int(compound_spaces or 0), n, cap)


# ---------------------------------------------------------------------------------- hydrant coverage

def hydrant_reach_m(compound: BaseGeometry, anchor: BaseGeometry, crs: pyproj.CRS) -> float:
    """How far from the compound a hydrant can be and still be the nearest one to some part of it.

    With any hydrant ``anchor``, each point p of the compound has a hydrant within |p - anchor|,
    which is at most the anchor's distance to the farthest vertex (distance to a point is convex).
    So every hydrant that is nearest to some p lies within that distance of the compound.
    """
    xy = shapely.get_coordinates(to_metric(compound, crs))
    a = to_metric(anchor, crs)
    return float(np.hypot(xy[:, 0] - a.x, xy[:, 1] - a.y).max())


def farthest_from_sites(region: BaseGeometry, sites: np.ndarray) -> tuple[np.ndarray, float]:
    """The point of ``region`` farthest from its nearest site, and that distance (planar, exact).

    Candidates are the vertices of the sites' Voronoi cells clipped to the region (see the module
    docstring). Coordinates are shifted to the region's centroid first, so GEOS works with small
    numbers rather than UTM's millions.
    """
    sites = np.unique(np.asarray(sites, dtype=float).reshape(-1, 2), axis=0)
    if not len(sites):
        raise ValueError("farthest_from_sites needs at least one site")
    origin = np.asarray(region.centroid.coords[0])
    local = shapely.transform(region, lambda xy: xy - origin)
    site_points = shapely.points(sites - origin)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(site_points), extend_to=local))
    clipped = shapely.intersection(cells, local)
    candidates = np.vstack([shapely.get_coordinates(local), shapely.get_coordinates(clipped)])
    _, dist = shapely.STRtree(site_points).query_nearest(shapely.points(candidates), return_distance=True,
                                                         all_matches=False)
    best = int(np.argmax(dist))
    return candidates[best] + origin, float(dist[best])


@dataclass(frozen=True)
class Coverage:
    radius_m: float
    hydrants: int  # working hydrants considered
    farthest_lon: float | None  # the compound's point farthest from any considered hydrant
    farthest_lat: float | None
    farthest_m: float | None
    covered_share: float  # share of the compound's area within radius_m of a hydrant

    @property
    def fully_covered(self) -> bool:
        return self.farthest_m is not None and self.farthest_m <= self.radius_m


def hydrant_coverage(compound: BaseGeometry, hydrants: Sequence[BaseGeometry] | np.ndarray, crs: pyproj.CRS,
                     radius_m: float = HYDRANT_RADIUS_M) -> Coverage:
    """Coverage of a compound by the given (working) hydrants: exact farthest point, covered share.

    Pass every hydrant that may be nearest to some part of the compound (see :func:`hydrant_reach_m`);
    with none, nothing is covered and there is no farthest point. The covered share intersects the
    compound with 64-sided buffers, which fall short of true circles by < 0.2 % of the radius.
    """
    region = to_metric(compound, crs)
    points = from_wgs84(np.asarray(hydrants, dtype=object), crs)
    if not len(points):
        return Coverage(radius_m, 0, None, None, None, 0.0)
    xy, far = farthest_from_sites(region, shapely.get_coordinates(points))
    near = points[shapely.dwithin(points, region, radius_m)]
    covered = shapely.intersection(region, shapely.union_all(shapely.buffer(near, radius_m, quad_segs=16)))
    share = float(covered.area / region.area) if region.area > 0 else 0.0
    lonlat = to_wgs84(np.array([shapely.Point(xy)], dtype=object), crs)[0]
    return Coverage(radius_m, len(points), lonlat.x, lonlat.y, far, min(share, 1.0))
