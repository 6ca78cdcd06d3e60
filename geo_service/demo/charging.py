"""The e-bike charging sites layer (centralised charging inside compounds)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from .city import City
from .shapes import frame, points_in

MAX_PORTS_PER_SITE = 40  # one charging shed; larger needs are split over several sites


def ebike(city: City) -> gpd.GeoDataFrame:
    """Centralised e-bike charging in about half the compounds, from a token shed to enough ports.

    Who has any: renovated old compounds and newer ones with spaces to spare most often (charging
    is item 12 of the Minhang guide), other newer ones next, old unrenovated ones least. How much:
    ports per 100 households drawn around a median for the compound's situation, so some compounds
    meet the 10-per-100 target and many fall short by different amounts.
    """
    rng = city.rng
    renovated = np.isin(city.c_status, ["in_progress", "completed"])
    roomy = city.c_attrs["parking_spaces"] >= city.c_attrs["registered_vehicles"]  # room for a shed
    p = np.where(city.c_old, np.where(renovated, 0.85, 0.33), np.where(roomy, 0.9, 0.45))
    has = rng.random(len(p)) < p
    median = np.where(city.c_old, np.where(renovated, 10.5, 4.0), 7.5)  # ports per 100 households
    per_100 = median * np.exp(rng.normal(0, 0.5, len(p)))
    total = np.where(has, np.maximum(2, np.round(city.c_households * per_100 / 100)), 0)
    sites = np.where(has, np.ceil(total / MAX_PORTS_PER_SITE), 0).astype(int)
    owner = np.repeat(np.arange(len(sites)), sites)
    x, y = points_in(rng, city.c_poly, owner, inset=10.0)
    n = len(owner)
    k = np.arange(n) - np.repeat(np.cumsum(sites) - sites, sites)
    # split the compound's ports evenly over its sites (the first ones take the remainder)
    base = total[owner] // sites[owner]
    ports = np.clip(base + (k < total[owner] - base * sites[owner]), 2, MAX_PORTS_PER_SITE)
    sprinkler = rng.random(n) < np.where(renovated[owner], 0.75, 0.28)  # guide item 12 comes with renovation
    name = city.c_name[owner] + "电动自行车充电点" + np.where(sites[owner] > 1, (k + 1).astype(str) + "号", "")
    return frame({
        "name": name.astype(object),
        "ports": ports.astype(int),
        "covered": rng.random(n) < 0.8,
        "has_sprinkler": sprinkler,
        "status": rng.choice(["working", "faulty", "planned", "removed"], n, p=[0.86, 0.06, 0.06, 0.02]),
    }, city.lonlat_points(x, y))
