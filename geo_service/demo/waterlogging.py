"""The waterlogging points layer: clusters around the oldest (low-lying) compounds, a few strays."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from .city import City
from .shapes import frame


def waterlogging(city: City) -> gpd.GeoDataFrame:
    """Gaussian clusters around a couple of the oldest (low-lying) compounds per street, plus a few strays."""
    rng, T = city.rng, city.n_tiles
    # pick cluster centres among pre-1995 compounds, the older the likelier (weighted sampling by keys)
    weight = np.where(city.c_year < 1995, 1.0 + (1995 - city.c_year), 0.0)
    with np.errstate(divide="ignore"):
        key = np.log(rng.random(len(weight))) / weight  # -inf where weight is 0
    order = np.lexsort((-key, city.c_tile))
    rank = np.arange(len(order)) - np.searchsorted(city.c_tile[order], city.c_tile[order])
    n_clusters = np.maximum(1, np.round((2 + (rng.random(T) < 0.3)) * city.tile_area_share)).astype(int)
    chosen = order[(rank < n_clusters[city.c_tile[order]]) & (weight[order] > 0)]
    size = 5 + rng.poisson(5, len(chosen))
    centre = np.repeat(chosen, size)
    sigma = np.repeat(rng.uniform(120, 260, len(chosen)), size)
    x = city.c_x[centre] + rng.normal(0, 1, len(centre)) * sigma
    y = city.c_y[centre] + rng.normal(0, 1, len(centre)) * sigma
    stray = rng.poisson(3 * city.tile_area_share, T)  # and a few strays anywhere
    st = np.repeat(np.arange(T), stray)
    x = np.concatenate([x, city.tx[st] + city.tile_m * rng.random(len(st))])
    y = np.concatenate([y, city.ty[st] + city.tile_m * rng.random(len(st))])
    n, clustered = len(x), np.arange(len(x)) < len(centre)

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
        "status": rng.choice(["open", "in_progress", "fixed"], n, p=[0.5, 0.2, 0.3]).astype(object),
    }, city.lonlat_points(x, y))
