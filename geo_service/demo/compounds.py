"""Compound attributes (era, housing type, flats, households, parking, renovation) and the layer."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from .city import City
from .shapes import frame, norm


def describe_compounds(city: City) -> None:
    """Era, housing type, flats, households, parking.

    Older compounds sit nearer the core, are denser (small flats) and have far fewer spaces.
    """
    rng, N = city.rng, len(city.c_poly)
    # build years: ~65 % before 2000; rank by distance to the old core (plus noise) so old ones cluster
    n_old = rng.binomial(N, 0.65)
    years = np.sort(np.concatenate([
        rng.choice(np.arange(1980, 2000), n_old, p=norm(1 + 0.05 * np.arange(20))),
        rng.choice(np.arange(2000, 2021), N - n_old, p=norm(1.3 - 0.04 * np.arange(21))),
    ]))
    score = city.c_core_d / 1000.0 + rng.normal(0, 0.5, N)
    year = np.empty(N, int)
    year[np.argsort(score, kind="stable")] = years
    old = year < 2000

    htype = np.where(
        old,
        rng.choice(["public_sold", "resettlement", "commodity", "old_lane", "other"], N,
                   p=[0.69, 0.13, 0.08, 0.07, 0.03]),
        rng.choice(["commodity", "resettlement", "affordable", "other"], N, p=[0.68, 0.18, 0.11, 0.03]),
    ).astype(object)
    htype[(htype == "old_lane") & (year > 1986)] = "public_sold"  # lanes only among the oldest
    # 1990s 商品房 were smaller and lower than today's: commodity housing splits by era
    cls = np.where(htype == "commodity", np.where(old, "old_commodity", "new_commodity"), htype)

    def by_type(default, **ranges):
        """One uniform draw per compound from the (low, high) range of its class, else ``default``."""
        out = rng.uniform(*default, N)
        for key, (a, b) in ranges.items():
            mask = cls == key
            out[mask] = rng.uniform(a, b, mask.sum())
        return out

    flat = by_type((55, 110), public_sold=(46, 66), old_lane=(28, 42), resettlement=(62, 88),
                   old_commodity=(75, 100), new_commodity=(95, 140), affordable=(60, 80))
    flat += np.where(cls == "public_sold", (year - 1980) * 0.4, 0)  # later 公房 a little larger
    far = by_type((1.4, 2.0), public_sold=(1.3, 1.7), old_lane=(1.0, 1.3), resettlement=(1.8, 2.4),
                  old_commodity=(1.4, 1.9), new_commodity=(1.8, 2.6), affordable=(2.2, 2.6))
    per_building = by_type((5000, 9000), public_sold=(2800, 4200), old_lane=(700, 1400),
                           resettlement=(6000, 12000), old_commodity=(4000, 8000),
                           new_commodity=(8000, 16000), affordable=(10000, 14000))
    parking_ratio = by_type((0.3, 0.6), public_sold=(0.1, 0.3), old_lane=(0.0, 0.08),
                            resettlement=(0.3, 0.6), old_commodity=(0.3, 0.6),
                            new_commodity=(0.6, 1.2), affordable=(0.3, 0.5))
    cars = np.where(old, rng.uniform(0.35, 0.6, N), rng.uniform(0.75, 1.15, N))  # newer: more cars than spaces

    floor_area = city.c_area * far * 0.88  # residential share of the floor area
    households = np.maximum(20, np.round(floor_area / flat)).astype(int)
    status = np.where(
        old,
        rng.choice(["not_planned", "planned", "in_progress", "completed"], N, p=[0.40, 0.32, 0.13, 0.15]),
        rng.choice(["not_planned", "planned"], N, p=[0.93, 0.07]),
    ).astype(object)
    tier = rng.choice(["demonstration", "upgrade", "basic"], N, p=[0.15, 0.40, 0.45]).astype(object)
    tier[~np.isin(status, ["in_progress", "completed"])] = None  # set once a compound is in a programme

    city.c_year, city.c_old, city.c_type, city.c_status = year, old, htype, status
    city.c_households = households
    city.c_attrs = {
        "district": city.district[city.c_tile],
        "street": city.street[city.c_tile],
        "build_year": year,
        "households": households,
        "buildings": np.maximum(1, np.round(floor_area / per_building)).astype(int),
        "housing_type": htype,
        "avg_flat_m2": np.round(flat, 1),
        "parking_spaces": np.round(households * parking_ratio).astype(int),
        "registered_vehicles": np.round(households * cars).astype(int),
        "renovation_tier": tier,
        "renovation_status": status,
    }


def compounds(city: City) -> gpd.GeoDataFrame:
    geoms = shapely.orient_polygons(city.lonlat(city.c_poly))  # RFC 7946: exteriors counter-clockwise
    return frame({"name": city.c_name, **city.c_attrs}, geoms)
