"""What one map view shows of a layer: its features, or grid clusters when there are too many.

The browser asks for a bbox (snapped to the tile grid of its zoom) and gets at most a few
thousand features back, whatever the size of the layer: a whole city of 200,000 hydrants
becomes a few hundred cluster cells at low zoom. Cells are 64 px squares of a global Web
Mercator grid, so four of them tile a 256 px tile exactly: a cell is never cut by the bbox, and
a cluster shows the same count from whichever view it is seen.

Everything is vectorised over the layer's :class:`LayerIndex` (one representative point, the
bounds and the colour class of every feature), so a view costs milliseconds, not a table scan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import orjson
import shapely

from ..crs import WORLD_M, mercator

CELL_PX = 64


def metres_per_px(zoom: int) -> float:
    return WORLD_M / (256 * 2**zoom)


def degrees_per_px(zoom: int) -> float:
    return 360.0 / (256 * 2**zoom)


def pixel_area(bbox: tuple[float, float, float, float], zoom: int) -> float:
    """How many screen pixels the lon/lat bbox covers at ``zoom``."""
    x, y = mercator(np.array([bbox[0], bbox[2]]), np.array([bbox[1], bbox[3]]))
    per_px = metres_per_px(zoom)
    return float((x[1] - x[0]) / per_px * (y[1] - y[0]) / per_px)


@dataclass
class LayerIndex:
    """One row per feature: id, representative point (lon/lat and Web Mercator), bounds, class."""

    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    bounds: np.ndarray  # (n, 4) minx, miny, maxx, maxy in lon/lat
    classes: np.ndarray  # class index into the scheme (len(classes) = no data)
    points: bool  # every geometry a point: clusters of one can be drawn as the feature itself

    @classmethod
    def build(cls, ids: Sequence[int], geoms: np.ndarray, classes: np.ndarray) -> LayerIndex:
        geoms = np.asarray(geoms, dtype=object)
        ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms) if len(geoms) else np.zeros(0, bool)
        ids = np.asarray(ids, dtype=np.int64)[ok]
        geoms = geoms[ok]
        points = bool(len(geoms)) and bool(np.all(shapely.get_type_id(geoms) == 0))
        reps = geoms if points else shapely.centroid(geoms)
        coords = shapely.get_coordinates(reps)
        lon, lat = coords[:, 0].copy(), coords[:, 1].copy()
        x, y = mercator(lon, lat)
        bounds = shapely.bounds(geoms) if len(geoms) else np.zeros((0, 4))
        return cls(ids, lon, lat, x, y, bounds, np.asarray(classes, dtype=np.int16)[ok], points)

    def __len__(self) -> int:
        return len(self.ids)

    def in_bbox(self, bbox: tuple[float, float, float, float]) -> np.ndarray:
        """Positions of the features whose bounds meet the lon/lat bbox."""
        minx, miny, maxx, maxy = bbox
        b = self.bounds
        return np.flatnonzero((b[:, 0] <= maxx) & (b[:, 2] >= minx) & (b[:, 1] <= maxy) & (b[:, 3] >= miny))


def grid_clusters(index: LayerIndex, pos: np.ndarray, zoom: int, keys: Sequence[str],
                  cell_px: int = CELL_PX, ranks: np.ndarray | None = None) -> tuple[list[list], list[list]]:
    """Cluster the features at ``pos`` into grid cells: ([lon, lat, count, class key], ...) per cell
    with the members' mean position and class, and, for point layers, cells holding a single feature
    as [id, lon, lat, class key] so they draw as that feature.

    A cell's class is the worst one present when ``ranks`` (per key, 0 = worst) orders the classes,
    so one faulty hydrant among fifty working ones still shows; else the most common one."""
    if not len(pos):
        return [], []
    cell = metres_per_px(zoom) * cell_px
    cx = np.floor(index.x[pos] / cell).astype(np.int64)
    cy = np.floor(index.y[pos] / cell).astype(np.int64)
    _, inv, counts = np.unique(cx * (1 << 32) + cy, return_inverse=True, return_counts=True)
    n_cells, k = len(counts), len(keys)
    lon = np.bincount(inv, weights=index.lon[pos], minlength=n_cells) / counts
    lat = np.bincount(inv, weights=index.lat[pos], minlength=n_cells) / counts
    by_class = np.bincount(inv * k + np.minimum(index.classes[pos], k - 1), minlength=n_cells * k)
    dominant = _cell_class(by_class.reshape(n_cells, k), ranks)
    lon, lat = np.round(lon, 6).tolist(), np.round(lat, 6).tolist()
    clusters, singles = [], []
    single_cells = counts == 1
    if index.points and single_cells.any():
        first = np.full(n_cells, -1, dtype=np.int64)
        first[inv] = pos  # a one-member cell keeps its only member
        for c in np.flatnonzero(single_cells).tolist():
            p = first[c]
            singles.append([int(index.ids[p]), lon[c], lat[c], keys[min(int(index.classes[p]), k - 1)]])
    for c in np.flatnonzero(~single_cells if index.points else np.ones(n_cells, bool)).tolist():
        clusters.append([lon[c], lat[c], int(counts[c]), keys[int(dominant[c])]])
    return clusters, singles


def _cell_class(by_class: np.ndarray, ranks: np.ndarray | None) -> np.ndarray:
    """Per cell (row of class counts): the worst class present by ``ranks``, else the most common."""
    if ranks is None:
        return by_class.argmax(axis=1)
    big = np.iinfo(np.int32).max
    ranked = np.where(by_class > 0, np.asarray(ranks, dtype=np.int32)[None, :], big)
    return ranked.argmin(axis=1)


def coordinate_decimals(zoom: int) -> int:
    """Decimals of a degree that keep vertices within a tenth of a pixel at ``zoom`` (4 to 7)."""
    return int(min(7, max(4, math.ceil(math.log10(10.0 / degrees_per_px(zoom))))))


def generalise(geoms: np.ndarray, zoom: int | None) -> np.ndarray:
    """Geometries simplified to half a pixel and rounded to a tenth of one; as they are for zoom None."""
    geoms = np.asarray(geoms, dtype=object)
    if zoom is None or not len(geoms):
        return geoms
    lines = shapely.get_type_id(geoms) != 0
    if lines.any():
        geoms = geoms.copy()
        geoms[lines] = shapely.simplify(geoms[lines], degrees_per_px(zoom) * 0.5, preserve_topology=True)
    decimals = coordinate_decimals(zoom)
    return shapely.transform(geoms, lambda c: np.round(c, decimals))


def feature_bytes(ids: Sequence[int], geoms: np.ndarray, properties: list[dict]) -> list[bytes]:
    """GeoJSON Features (id, geometry, properties) as bytes, ready to be joined into a response."""
    texts = shapely.to_geojson(np.asarray(geoms, dtype=object)) if len(ids) else []
    return [b'{"type":"Feature","id":%d,"geometry":%s,"properties":%s}'
            % (int(fid), (t.encode() if t is not None else b"null"), orjson.dumps(p, option=orjson.OPT_NON_STR_KEYS))
            for fid, t, p in zip(ids, texts, properties, strict=True)]
