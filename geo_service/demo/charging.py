"""The e-bike charging sites layer (centralised charging inside compounds)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from .city import City
from .shapes import frame, points_in


def ebike(city: City) -> gpd.GeoDataFrame:
    """Centralised e-bike charging in ~40 % of compounds: newer and renovated ones first."""
    rng = city.rng
    renovated = np.isin(city.c_status, ["in_progress", "completed"])
    p = np.where(city.c_old, np.where(renovated, 0.6, 0.18), 0.55)
    has = rng.random(len(p)) < p
    sites = np.where(has, 1 + (city.c_households > 800) + (city.c_households > 1600), 0)
    owner = np.repeat(np.arange(len(sites)), sites)
    x, y = points_in(rng, city.c_poly, owner, inset=10.0)
    n = len(owner)
    k = np.arange(n) - np.repeat(np.cumsum(sites) - sites, sites)
    ports = np.clip(np.round(city.c_households[owner] / sites[owner] / rng.uniform(15, 40, n)), 2, 40)
    sprinkler = rng.random(n) < np.where(renovated[owner], 0.75, 0.28)  # guide item 12 comes with renovation
    name = city.c_name[owner] + "电动自行车充电点" + np.where(sites[owner] > 1, (k + 1).astype(str) + "号", "")
    return frame({
        "name": name.astype(object),
        "ports": ports.astype(int),
        "covered": rng.random(n) < 0.8,
        "has_sprinkler": sprinkler,
        "status": rng.choice(["working", "faulty", "planned", "removed"], n, p=[0.82, 0.08, 0.08, 0.02]),
    }, city.lonlat_points(x, y))
