"""Geometry helpers of the generator: cutting intervals, compound shapes, points along and inside."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


def spiral(n: int) -> np.ndarray:
    """Integer cells of a square spiral from (0, 0): west, north, east, east, south, south, ...

    The first four form a 2x2 square: 梅陇 (SE), 莘庄 (SW), 七宝 (NW), 古美 (NE), roughly as on the ground.
    """
    out = [(0, 0)]
    x = y = 0
    step, d = 1, 0
    moves = ((-1, 0), (0, 1), (1, 0), (0, -1))
    while len(out) < n:
        for _ in range(2):
            dx, dy = moves[d % 4]
            for _ in range(step):
                x, y = x + dx, y + dy
                out.append((x, y))
            d += 1
        step += 1
    return np.array(out[:n], dtype=float)


def norm(w: np.ndarray) -> np.ndarray:
    return w / w.sum()


def cut(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, k: np.ndarray,
         gap_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut each interval [lo, hi] into k[i] pieces of random length separated by road gaps.

    Returns (interval index of each piece, piece lo, piece hi), pieces grouped per interval in order.
    """
    piece = np.repeat(np.arange(len(k)), k)
    gap = rng.uniform(*gap_range, len(k))
    usable = (hi - lo) - (k - 1) * gap
    w = rng.uniform(0.7, 1.3, len(piece))
    length = w / np.bincount(piece, w, len(k))[piece] * usable[piece]
    step = length + gap[piece]
    before = np.cumsum(step) - step  # exclusive running sum over all pieces
    start = np.cumsum(k) - k
    plo = lo[piece] + before - before[start][piece]
    return piece, plo, plo + length


def shape_compounds(rng: np.random.Generator, x0, x1, y0, y1) -> np.ndarray:
    """A polygon inside each rectangle: the rectangle, a quad with corners pulled in, a rotated
    rectangle that still fits, or an L-shape (a corner notch). Big pieces get the varied shapes,
    so no shape falls under the 0.5 ha floor. All shapes stay inside their rectangle: no overlaps.
    """
    n = len(x0)
    cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    area = 4 * hw * hh
    shape = rng.choice(4, n, p=[0.35, 0.2, 0.2, 0.25])  # 0 rect, 1 quad, 2 rotated, 3 L
    # worst cases: a quad keeps 58 % of its rectangle, a rotated one (aspect <= 2) 55 %, an L 80 %
    aspect = np.maximum(hw, hh) / np.minimum(hw, hh)
    shape[(shape == 2) & ((area < 12_000) | (aspect > 2))] = 0
    shape[(shape == 3) & (area < 12_000)] = 0
    shape[(shape == 1) & (area < 9_500)] = 0
    sx = np.array([-1.0, 1.0, 1.0, -1.0])  # counter-clockwise unit corners
    sy = np.array([-1.0, -1.0, 1.0, 1.0])
    qx = cx[:, None] + hw[:, None] * sx
    qy = cy[:, None] + hh[:, None] * sy
    # quads: each corner pulled inwards by up to 12 % of the side
    pull_x, pull_y = rng.uniform(0, 0.24, (n, 4)), rng.uniform(0, 0.24, (n, 4))
    m = shape == 1
    qx[m] -= (hw[:, None] * sx * pull_x)[m]
    qy[m] -= (hh[:, None] * sy * pull_y)[m]
    # rotated rectangles, shrunk just enough to fit the rectangle
    theta = np.radians(rng.uniform(3, 10, n)) * rng.choice([-1, 1], n)
    c, s = np.cos(theta), np.abs(np.sin(theta))
    k = 0.99 * np.minimum(1 / (c + hh / hw * s), 1 / (hw / hh * s + c))
    ax, ay = hw * k, hh * k
    rx = ax[:, None] * sx * c[:, None] - ay[:, None] * sy * np.sin(theta)[:, None]
    ry = ax[:, None] * sx * np.sin(theta)[:, None] + ay[:, None] * sy * c[:, None]
    m = shape == 2
    qx[m] = (cx[:, None] + rx)[m]
    qy[m] = (cy[:, None] + ry)[m]
    geoms = shapely.polygons(np.stack([qx, qy], -1))
    # L-shapes: the (+,+) notch of the unit square, mirrored into a random corner
    m = np.flatnonzero(shape == 3)
    if len(m):
        a = 1 - 2 * rng.uniform(0.25, 0.45, len(m))
        b = 1 - 2 * rng.uniform(0.25, 0.45, len(m))
        one = np.ones(len(m))
        ux = np.stack([-one, one, one, a, a, -one], 1)
        uy = np.stack([-one, -one, b, b, one, one], 1)
        mx, my = rng.choice([-1, 1], len(m)), rng.choice([-1, 1], len(m))
        lx = cx[m, None] + hw[m, None] * ux * mx[:, None]
        ly = cy[m, None] + hh[m, None] * uy * my[:, None]
        geoms[m] = shapely.polygons(np.stack([lx, ly], -1))
    return geoms


def along(rng: np.random.Generator, seg: dict[str, np.ndarray], spacing: tuple[float, float]
           ) -> tuple[np.ndarray, np.ndarray]:
    """Points spaced ``spacing`` apart (random per segment) along each kerb line; sets seg['count']."""
    length = np.hypot(seg["xb"] - seg["xa"], seg["yb"] - seg["ya"])
    step = rng.uniform(*spacing, len(length))
    count = np.floor(length / step + rng.random(len(length))).astype(int)  # stochastic rounding
    seg["count"] = count
    owner = np.repeat(np.arange(len(count)), count)
    i = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    t = (i + 0.5 + rng.uniform(-0.15, 0.15, len(owner))) / count[owner]
    return (seg["xa"][owner] + t * (seg["xb"] - seg["xa"])[owner],
            seg["ya"][owner] + t * (seg["yb"] - seg["ya"])[owner])


def points_in(rng: np.random.Generator, polys: np.ndarray, owner: np.ndarray, inset: float,
               tries: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """One random point inside ``polys[owner[i]]`` (kept ``inset`` metres from its edge) per row.

    Rejection sampling in the bounding box, all rows at once; a row that misses every try
    takes the polygon's representative point.
    """
    if not len(owner):
        return np.empty(0), np.empty(0)
    used, inverse = np.unique(owner, return_inverse=True)
    inner = shapely.buffer(polys[used], -inset, join_style="mitre")
    inner = np.where(shapely.is_empty(inner), polys[used], inner)
    shapely.prepare(inner)
    target = inner[inverse]
    minx, miny, maxx, maxy = shapely.bounds(target).T
    x = rng.uniform(minx[:, None], maxx[:, None], (len(owner), tries))
    y = rng.uniform(miny[:, None], maxy[:, None], (len(owner), tries))
    ok = shapely.contains_xy(target[:, None], x, y)
    pick = ok.argmax(1)
    rows = np.arange(len(owner))
    px, py = x[rows, pick], y[rows, pick]
    miss = ~ok.any(1)
    if miss.any():
        rep = shapely.point_on_surface(target[miss])
        px[miss], py[miss] = shapely.get_x(rep), shapely.get_y(rep)
    return px, py


def frame(columns: dict[str, Any], geoms: np.ndarray) -> gpd.GeoDataFrame:
    """A layer frame: ``id`` 1..N, the fields, booleans as pandas ``boolean``, EPSG:4326 geometry."""
    data = {"id": np.arange(1, len(geoms) + 1, dtype=np.int64)}
    for name, values in columns.items():
        values = np.asarray(values)
        data[name] = pd.array(values, dtype="boolean") if values.dtype == bool else values
    return gpd.GeoDataFrame(pd.DataFrame(data), geometry=geoms, crs="EPSG:4326")
