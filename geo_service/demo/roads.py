"""Kerb lines of the road network: where hydrants and on-street parking are placed."""

from __future__ import annotations

import numpy as np

from .city import City
from .constants import ARTERIAL_M


def road_segments(city: City, internal_only: bool = False) -> dict[str, np.ndarray]:
    """Kerb lines of road segments between intersections: where hydrants and street parking go.

    Local roads get one kerb (random side), secondary roads both; each arterial gets the kerb
    on each tile's side, so shared arterials end up with both. Closed roads (merged blocks) are skipped.
    ``second`` marks the other kerb of a road that already has one (a wide road's far side, the
    second tile's side of a shared arterial): what a one-side-of-the-street layout leaves out.
    """
    rng, T, n = city.rng, city.n_tiles, city.n
    parts = []
    # vertical roads between columns j and j+1, one segment per row: [tile, row, j]
    t, r, j = (a.ravel() for a in np.meshgrid(np.arange(T), np.arange(n), np.arange(n - 1), indexing="ij"))
    open_ = ~city.closed_road[t, r, j]
    t, r, j = t[open_], r[open_], j[open_]
    xc = (city.cx1[t, j] + city.cx0[t, j + 1]) / 2
    parts.append(("v", t, xc, city.cy0[t, r], city.cy1[t, r], city.gx[t, j], city.secx[t, j]))
    # horizontal roads between rows i and i+1, one segment per column
    t, i, c = (a.ravel() for a in np.meshgrid(np.arange(T), np.arange(n - 1), np.arange(n), indexing="ij"))
    yc = (city.cy1[t, i] + city.cy0[t, i + 1]) / 2
    parts.append(("h", t, yc, city.cx0[t, c], city.cx1[t, c], city.gy[t, i], city.secy[t, i]))
    keys = ("tile", "xa", "ya", "xb", "yb", "wide", "second")
    out: dict[str, list[np.ndarray]] = {k: [] for k in keys}

    def add(axis, tile, centre, a, b, width, wide, side, second=False):
        # on the footway, 1.5-3.5 m from the property line: about 0.5-2 m from the kerb (GB 50974 §7.2.6)
        off = centre + side * (width / 2 - rng.uniform(1.5, 3.5, len(tile)))
        xa, ya, xb, yb = (off, a, off, b) if axis == "v" else (a, off, b, off)
        second = np.broadcast_to(second, len(tile))
        for key, val in zip(keys, (tile, xa, ya, xb, yb, wide, second), strict=True):
            out[key].append(np.asarray(val))

    for axis, tile, centre, a, b, width, wide in parts:
        side = np.where(rng.random(len(tile)) < 0.5, -1.0, 1.0)
        add(axis, tile, centre, a, b, width, wide, side)
        w = np.flatnonzero(wide)
        add(axis, tile[w], centre[w], a[w], b[w], width[w], wide[w], -side[w], second=True)
    if not internal_only:
        tt = np.arange(T)
        lo_x, lo_y = city.tx + ARTERIAL_M / 2, city.ty + ARTERIAL_M / 2
        hi_x, hi_y = city.tx + city.tile_m - ARTERIAL_M / 2, city.ty + city.tile_m - ARTERIAL_M / 2
        ones, inward = np.ones(T, bool), np.full(T, ARTERIAL_M)
        # the kerb on this tile's side of each border arterial (centre = the border line); the west
        # and south kerbs are second kerbs where a neighbour tile already lines that arterial
        west, south = _has_neighbour(city, -1, 0), _has_neighbour(city, 0, -1)
        add("v", tt, city.tx, lo_y, hi_y, inward, ones, 1.0, second=west)
        add("v", tt, city.tx + city.tile_m, lo_y, hi_y, inward, ones, -1.0)
        add("h", tt, city.ty, lo_x, hi_x, inward, ones, 1.0, second=south)
        add("h", tt, city.ty + city.tile_m, lo_x, hi_x, inward, ones, -1.0)
    return {k: np.concatenate(v) for k, v in out.items()}


def _has_neighbour(city: City, dx: int, dy: int) -> np.ndarray:
    """Per tile: is there a tile one step (dx, dy) away on the spiral's grid?"""
    step = np.round(np.column_stack([city.tx - city.tx[0], city.ty - city.ty[0]]) / city.tile_m).astype(np.int64)
    cells = {tuple(c) for c in step.tolist()}
    return np.array([(x + dx, y + dy) in cells for x, y in step.tolist()], dtype=bool)
