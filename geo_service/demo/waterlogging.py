"""The waterlogging points layer: concentrated where the ground is low and the compounds are old."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from .city import City
from .shapes import frame, points_in

LOW_ZONE_M = 900.0  # e-folding radius of each street's low-lying basin (the old town on the river plain)


def waterlogging(city: City) -> gpd.GeoDataFrame:
    """Points where the ground is low and the drains are old.

    Each street has a low-lying basin a few hundred metres off its old core. Old compounds in it
    flood inside (1-3 points in most of them, cause mostly internal drainage), a few of the oldest
    low ones are hotspots (Gaussian clusters spilling onto the roads around), and a few strays fall
    anywhere. New compounds and high ground stay mostly dry.
    """
    rng, T = city.rng, city.n_tiles
    angle = rng.uniform(0, 2 * np.pi, T)
    off = rng.uniform(200, 600, T)
    low_x, low_y = city.core_x + off * np.cos(angle), city.core_y + off * np.sin(angle)
    d = np.hypot(city.c_x - low_x[city.c_tile], city.c_y - low_y[city.c_tile])
    low = np.exp(-((d / (LOW_ZONE_M * np.sqrt(city.tile_area_share))) ** 2))  # 1 at the bottom of the basin
    age = np.clip((2005 - city.c_year) / 25, 0, 1)  # 1980: 1, 2005 and later: 0
    # -- inside old low compounds
    p_inside = np.clip(1.5 * low * age + 0.15 * age, 0, 0.9)
    per = np.where(rng.random(len(low)) < p_inside, 1 + rng.poisson(0.8, len(low)), 0)
    owner = np.repeat(np.arange(len(per)), per)
    ix, iy = points_in(rng, city.c_poly, owner, inset=5.0)
    # -- hotspots: clusters around a few of the oldest, lowest compounds per street
    weight = low * age ** 2
    with np.errstate(divide="ignore"):
        key = np.log(rng.random(len(weight))) / weight  # weighted sampling by keys; -inf where weight is 0
    order = np.lexsort((-key, city.c_tile))
    rank = np.arange(len(order)) - np.searchsorted(city.c_tile[order], city.c_tile[order])
    n_clusters = np.maximum(1, np.round((2 + (rng.random(T) < 0.3)) * city.tile_area_share)).astype(int)
    chosen = order[(rank < n_clusters[city.c_tile[order]]) & (weight[order] > 0)]
    size = 4 + rng.poisson(4, len(chosen))
    centre = np.repeat(chosen, size)
    sigma = np.repeat(rng.uniform(100, 200, len(chosen)), size)
    hx = city.c_x[centre] + rng.normal(0, 1, len(centre)) * sigma
    hy = city.c_y[centre] + rng.normal(0, 1, len(centre)) * sigma
    stray = rng.poisson(2 * city.tile_area_share, T)  # and a few strays anywhere
    st = np.repeat(np.arange(T), stray)
    x = np.concatenate([ix, hx, city.tx[st] + city.tile_m * rng.random(len(st))])
    y = np.concatenate([iy, hy, city.ty[st] + city.tile_m * rng.random(len(st))])
    n, clustered = len(x), np.arange(len(x)) < len(ix) + len(hx)

    tree = shapely.STRtree(city.c_poly)
    points = shapely.points(x, y)
    nearest = tree.query_nearest(points, return_distance=False, all_matches=False)[1]
    inside = shapely.contains_xy(city.c_poly[nearest], x, y)
    depth = np.exp(rng.normal(np.where(clustered, np.log(25), np.log(15)), 0.45))
    depth = np.clip(depth, 5, 120)
    duration = np.clip(20 + depth * rng.uniform(2, 6, n), 15, 1440)
    cause = np.where(inside,
                     rng.choice(["internal_drainage", "external_backflow", "other"], n, p=[0.7, 0.2, 0.1]),
                     rng.choice(["external_backflow", "internal_drainage", "other"], n, p=[0.55, 0.3, 0.15]))
    name = city.c_name[nearest] + np.where(inside, "小区内道路", "周边道路")
    return frame({
        "name": name.astype(object),
        "depth_cm": np.round(depth, 0),
        "duration_min": np.round(duration, 0),
        "events_per_year": np.minimum(365, 1 + rng.poisson(np.where(clustered, 3.0, 1.0))),
        "cause": cause.astype(object),
        "status": rng.choice(["open", "in_progress", "fixed"], n, p=[0.55, 0.2, 0.25]).astype(object),
    }, city.lonlat_points(x, y))
