"""The layout every layer is drawn on: street tiles on a spiral, blocks, roads, compound polygons.

Everything is in metres (UTM 51N) and turned into lon/lat once, when a layer frame is made.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Transformer

from .constants import (
    ARTERIAL_M,
    BLOCKS_PER_SIDE,
    LAND_USE_P,
    LAND_USES,
    LOCAL_ROAD_M,
    MAX_COMPOUND_M2,
    MEAN_BLOCK_M,
    METRIC_CRS,
    MIN_COMPOUND_M2,
    ORIGIN_LONLAT,
    SECONDARY_ROAD_M,
    SECONDARY_SHARE,
    STREETS_PER_SCALE,
)
from .names import street_names
from .shapes import cut, shape_compounds, spiral


class City:
    """The layout (tiles, blocks, roads, compounds) shared by every layer's generator.

    Built from the one Generator of the demo; compounds.describe_compounds and
    names.name_compounds then add the compounds' attributes, and the layer modules draw from it.
    """

    def __init__(self, rng: np.random.Generator, scale: float):
        self.rng = rng
        self.n_tiles = max(1, round(STREETS_PER_SCALE * scale))
        blocks = BLOCKS_PER_SIDE ** 2 * STREETS_PER_SCALE * scale / self.n_tiles
        self.n = max(4, round(float(np.sqrt(blocks))))  # blocks per tile side
        self.tile_m = self.n * (MEAN_BLOCK_M + 18.0) + ARTERIAL_M
        self.tile_area_share = min(1.0, (self.n / BLOCKS_PER_SIDE) ** 2)  # tiny scales: smaller tiles
        self._to_lonlat = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
        self._place_tiles()
        self._cut_blocks()
        self._zone_blocks()
        self._make_compounds()

    # ---------------------------------------------------------------- layout
    def _place_tiles(self) -> None:
        """Tiles on a square spiral (the first four form a 2x2 district), with names and old cores."""
        pos = spiral(self.n_tiles)
        ox, oy = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True).transform(*ORIGIN_LONLAT)
        # the centre of the first (up to) four tiles sits on the origin, whatever the scale
        first = pos[:4]
        centre = (first.min(0) + first.max(0) + 1) / 2
        self.tx = ox + (pos[:, 0] - centre[0]) * self.tile_m
        self.ty = oy + (pos[:, 1] - centre[1]) * self.tile_m
        self.district, self.street = street_names(self.n_tiles)
        rng = self.rng
        self.core_x = self.tx + self.tile_m * rng.uniform(0.3, 0.7, self.n_tiles)
        self.core_y = self.ty + self.tile_m * rng.uniform(0.3, 0.7, self.n_tiles)

    def _cut_blocks(self) -> None:
        """Column widths and row heights per tile; roads between them; blocks as (T, n, n) arrays."""
        rng, T, n = self.rng, self.n_tiles, self.n
        inner = self.tile_m - ARTERIAL_M
        edges = []
        for origin in (self.tx, self.ty):
            secondary = rng.random((T, n - 1)) < SECONDARY_SHARE
            gap = np.where(secondary, rng.uniform(*SECONDARY_ROAD_M, (T, n - 1)),
                           rng.uniform(*LOCAL_ROAD_M, (T, n - 1)))
            width = rng.uniform(0.6, 1.4, (T, n))
            width *= ((inner - gap.sum(1)) / width.sum(1))[:, None]
            step = width + np.pad(gap, ((0, 0), (0, 1)))
            lo = origin[:, None] + ARTERIAL_M / 2 + np.cumsum(step, 1) - step
            edges.append((lo, lo + width, gap, secondary))
        (self.cx0, self.cx1, self.gx, self.secx), (self.cy0, self.cy1, self.gy, self.secy) = edges
        shape = (T, n, n)  # [tile, row, col]
        self.b_tile = np.broadcast_to(np.arange(T)[:, None, None], shape).ravel()
        self.b_row = np.broadcast_to(np.arange(n)[None, :, None], shape).ravel()
        self.b_col = np.broadcast_to(np.arange(n)[None, None, :], shape).ravel()
        self.bx0 = self.cx0[self.b_tile, self.b_col]
        self.bx1 = self.cx1[self.b_tile, self.b_col]
        self.by0 = self.cy0[self.b_tile, self.b_row]
        self.by1 = self.cy1[self.b_tile, self.b_row]

    def _zone_blocks(self) -> None:
        """Residential blocks concentrate around each tile's old core; the rest get other uses."""
        rng = self.rng
        t = self.b_tile
        d = np.hypot((self.bx0 + self.bx1) / 2 - self.core_x[t], (self.by0 + self.by1) / 2 - self.core_y[t])
        p_res = 0.035 + 0.87 * np.exp(-d / 950.0)  # ~55 % near the core, a few % at the edges
        self.b_res = rng.random(len(t)) < p_res
        use = rng.choice(len(LAND_USES), size=len(t), p=LAND_USE_P)
        self.b_use = np.where(self.b_res, -1, use)  # index into LAND_USES, -1: residential

    def _make_compounds(self) -> None:
        """Compound polygons: merge some block pairs, split others, then shape each piece."""
        rng = self.rng
        n = self.n
        x0, x1, y0, y1 = self.bx0.copy(), self.bx1.copy(), self.by0, self.by1
        # one large compound over two neighbouring residential blocks (the local road between is closed)
        east = np.arange(len(x0)) + 1
        can = (self.b_col % 2 == 0) & (self.b_col < n - 1) & self.b_res
        can &= self.b_res[np.minimum(east, len(x0) - 1)]
        can &= ~self.secx[self.b_tile, np.minimum(self.b_col, n - 2)]
        merged_area = (x1[np.minimum(east, len(x0) - 1)] - x0) * (y1 - y0)
        merge = can & (merged_area <= MAX_COMPOUND_M2) & (rng.random(len(x0)) < 0.2)
        x1[merge] = x1[east[merge]]
        consumed = np.zeros(len(x0), bool)
        consumed[east[merge]] = True
        self.closed_road = np.zeros((self.n_tiles, n, n - 1), bool)  # [tile, row, vertical road]
        self.closed_road[self.b_tile[merge], self.b_row[merge], self.b_col[merge]] = True

        src = np.flatnonzero(self.b_res & ~consumed)
        x0, x1, y0, y1 = x0[src], x1[src], y0[src], y1[src]
        horizontal = (x1 - x0) >= (y1 - y0)  # cut across the longer side
        long_lo, long_hi = np.where(horizontal, x0, y0), np.where(horizontal, x1, y1)
        short = np.where(horizontal, y1 - y0, x1 - x0)
        k = rng.choice([1, 2, 3], size=len(src), p=[0.55, 0.33, 0.12])
        k[merge[src]] = 1
        for _ in range(2):  # second pass only undoes cuts that left a piece too small
            piece, lo, hi = cut(rng, long_lo, long_hi, k, LOCAL_ROAD_M)
            small = np.zeros(len(src), bool)
            small[piece[(hi - lo) * short[piece] < MIN_COMPOUND_M2]] = True
            if not small.any():
                break
            k[small] = 1
        h = horizontal[piece]
        px0 = np.where(h, lo, x0[piece])
        px1 = np.where(h, hi, x1[piece])
        py0 = np.where(h, y0[piece], lo)
        py1 = np.where(h, y1[piece], hi)
        self.c_block = src[piece]
        self.c_tile = self.b_tile[self.c_block]
        self.c_poly = shape_compounds(rng, px0, px1, py0, py1)
        shapely.prepare(self.c_poly)
        self.c_area = shapely.area(self.c_poly)
        centre = shapely.centroid(self.c_poly)
        self.c_x, self.c_y = shapely.get_x(centre), shapely.get_y(centre)
        self.c_core_d = np.hypot(self.c_x - self.core_x[self.c_tile], self.c_y - self.core_y[self.c_tile])

    # ---------------------------------------------------------------- to lon/lat
    def lonlat(self, geoms: np.ndarray) -> np.ndarray:
        return shapely.transform(geoms, self._transform_xy)

    def lonlat_points(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        lon, lat = self._to_lonlat.transform(x, y)
        return shapely.points(np.round(lon, 7), np.round(lat, 7))

    def _transform_xy(self, xy: np.ndarray) -> np.ndarray:
        lon, lat = self._to_lonlat.transform(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([lon, lat]), 7)  # 1 cm: smaller GeoJSON, no visible change
