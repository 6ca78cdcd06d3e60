"""Which part of each polygon lies farther than a radius from every given point.

Each protection circle is a regular polygon whose circumradius is enlarged so that its area
equals the circle's (r' = r·sqrt(2π / (n·sin(2π/n)))): areas, and so covered shares, carry no
systematic bias from polygonising (a quarter circle at a square's corner comes out exact by
symmetry), while any single boundary point is off by at most ~0.1 % of r at 64 sides.

The uncovered part is found by subtracting circles one at a time, nearest to the polygon's
centroid first, vectorised across all polygons: a polygon drops out as soon as nothing of it is
left, which for well-served compounds is after a few circles. This is several times faster than
unioning every circle per polygon. Leftover slivers under ``SLIVER_M2`` (the width of a chord)
are dropped.
"""

from __future__ import annotations

import numpy as np
import shapely

SLIVER_M2 = 0.5  # uncovered pieces smaller than this are polygonisation noise, not a coverage gap


def disks(points: np.ndarray, radius: float, segments: int) -> np.ndarray:
    """Equal-area regular polygons around points (metric CRS)."""
    step = 2.0 * np.pi / segments
    r = radius * np.sqrt(step / np.sin(step))
    angle = np.linspace(0.0, 2.0 * np.pi, segments + 1)
    angle[-1] = 0.0  # close the ring exactly
    xy = shapely.get_coordinates(points)
    ring = np.stack([xy[:, :1] + r * np.cos(angle), xy[:, 1:] + r * np.sin(angle)], -1)
    return shapely.polygons(ring) if len(xy) else np.empty(0, dtype=object)


def uncovered_parts(polys: np.ndarray, points: np.ndarray, radius: float, segments: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(uncovered MultiPolygon per polygon, polygon index and point index of every pair within radius)."""
    polys = np.asarray(polys, dtype=object)
    pi, hi = shapely.STRtree(points).query(polys, predicate="dwithin", distance=radius) if len(points) \
        else (np.empty(0, np.int64), np.empty(0, np.int64))
    left = polys.copy()
    if len(pi):
        used, local = np.unique(hi, return_inverse=True)
        circles = disks(points[used], radius, segments)
        near = shapely.distance(shapely.centroid(polys)[pi], points[hi])
        order = np.lexsort((hi, near, pi))
        p, circle = pi[order], local[order]
        counts = np.bincount(p, minlength=len(polys))
        step = np.arange(len(p)) - np.repeat(np.cumsum(counts) - counts, counts)
        alive = np.ones(len(polys), dtype=bool)
        for k in range(int(counts.max())):
            take = np.flatnonzero(step == k)
            take = take[alive[p[take]]]
            if not len(take):
                break
            rows = p[take]
            left[rows] = shapely.difference(left[rows], circles[circle[take]])
            alive[rows] = ~shapely.is_empty(left[rows])
    return as_multipolygons(left), pi, hi


def as_multipolygons(geoms: np.ndarray) -> np.ndarray:
    """Each geometry's polygon parts (slivers dropped) as one MultiPolygon, empty when none."""
    out = np.array([shapely.MultiPolygon()] * len(geoms), dtype=object)
    if not len(geoms):
        return out
    parts, owner = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) >= SLIVER_M2)
    if keep.any():
        shapely.multipolygons(parts[keep], indices=owner[keep], out=out)
    return out
