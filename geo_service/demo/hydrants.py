"""The fire hydrants layer: along the kerbs, around non-residential sites, inside large compounds."""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from .city import City
from .constants import (
    BUILDING_OFFSET_M,
    BUILDING_SIDE_M,
    HYDRANT_SPACING_M,
    HYDRANT_STATUS_P,
    SITE_HYDRANT_SPACING_M,
    SITE_SETBACK_M,
)
from .roads import road_segments
from .shapes import along, frame, points_in


def hydrants(city: City) -> gpd.GeoDataFrame:
    """Hydrants on one side of every street at 80-120 m (GB 50974-2014 §7.2.4, §7.2.5), a few around
    each building of most non-residential sites (factories, offices, schools, hospitals: §7.3 asks
    for outdoor hydrants 5-40 m from their walls too), and some inside large compounds.

    A few sparse patches per street leave real coverage gaps for the 150 m analysis.
    """
    rng = city.rng
    seg = road_segments(city)
    seg = {k: v[~seg["second"]] for k, v in seg.items()}  # one side of the street
    rx, ry = along(rng, seg, HYDRANT_SPACING_M)
    # sites: a few around each of the site's buildings (1-3 per site, away from the street)
    has_site = np.array([0.95, 0.9, 0.95, 0.9, 1.0, 0.5, 0.8, 0.0])  # in LAND_USES order
    b = np.flatnonzero(city.b_use >= 0)
    b = b[rng.random(len(b)) < has_site[city.b_use[b]]]
    area = (city.bx1[b] - city.bx0[b]) * (city.by1[b] - city.by0[b])
    b = np.repeat(b, 1 + (area > 40_000) + (rng.random(len(b)) < 0.5))  # one row per building
    lo_x, hi_x = city.bx0[b] + SITE_SETBACK_M, city.bx1[b] - SITE_SETBACK_M
    lo_y, hi_y = city.by0[b] + SITE_SETBACK_M, city.by1[b] - SITE_SETBACK_M
    w = np.minimum(rng.uniform(*BUILDING_SIDE_M, len(b)), hi_x - lo_x)
    h = np.minimum(rng.uniform(*BUILDING_SIDE_M, len(b)), hi_y - lo_y)
    bx, by = rng.uniform(lo_x, hi_x - w), rng.uniform(lo_y, hi_y - h)
    off = rng.uniform(*BUILDING_OFFSET_M, len(b))
    x0, x1, y0, y1 = bx - off, bx + w + off, by - off, by + h + off
    ring = {"xa": np.concatenate([x0, x1, x1, x0]), "ya": np.concatenate([y0, y0, y1, y1]),
            "xb": np.concatenate([x1, x1, x0, x0]), "yb": np.concatenate([y0, y1, y1, y0])}
    sx, sy = along(rng, ring, SITE_HYDRANT_SPACING_M)
    x, y = np.concatenate([rx, sx]), np.concatenate([ry, sy])
    tile = np.concatenate([np.repeat(seg["tile"], seg["count"]),
                           np.repeat(np.tile(city.b_tile[b], 4), ring["count"])])
    # sparse patches: most hydrants inside them are missing
    n_patch = 3
    px = city.tx[:, None] + city.tile_m * rng.uniform(0.1, 0.9, (city.n_tiles, n_patch))
    py = city.ty[:, None] + city.tile_m * rng.uniform(0.1, 0.9, (city.n_tiles, n_patch))
    radius = rng.uniform(300, 600, (city.n_tiles, n_patch)) * np.sqrt(city.tile_area_share)
    inside = (np.hypot(x[:, None] - px[tile], y[:, None] - py[tile]) < radius[tile]).any(1)
    keep = ~inside | (rng.random(len(x)) < 0.1)
    x, y = x[keep], y[keep]
    n_road = len(x)
    # inside compounds of >= 1.5 ha: about one per 1.3 ha, on the internal fire roads (§7.3: residential
    # buildings beyond the street hydrants' 150 m need their own)
    per = np.where(city.c_area >= 15_000, np.floor(city.c_area / 13_000), 0).astype(int)
    owner = np.repeat(np.arange(len(per)), per)
    ix, iy = points_in(rng, city.c_poly, owner, inset=12.0)
    x, y = np.concatenate([x, ix]), np.concatenate([y, iy])
    n = len(x)
    in_compound = np.arange(n) >= n_road

    status = rng.choice(list(HYDRANT_STATUS_P), n, p=list(HYDRANT_STATUS_P.values())).astype(object)
    # old mains fail more: near a street's old core a hydrant is about twice as likely to be down
    t = np.concatenate([tile[keep], city.c_tile[owner]])
    near_core = np.exp(-np.hypot(x - city.core_x[t], y - city.core_y[t]) / 1000.0)
    down = rng.random(n) < 0.12 * near_core
    newly = down & (status == "working")
    status[newly] = rng.choice(["faulty", "under_repair"], int(newly.sum()))
    status[(rng.random(n) < 0.3 * (1 - near_core)) & (status != "working")] = "working"  # and far out, less
    kind = np.where(in_compound,
                    rng.choice(["above_ground", "underground", "wall"], n, p=[0.55, 0.25, 0.20]),
                    rng.choice(["above_ground", "underground"], n, p=[0.78, 0.22])).astype(object)
    working = status == "working"
    span = (np.datetime64("2025-06-30") - np.datetime64("2019-01-01")).astype(int)
    ago = np.where(working, rng.exponential(280, n), rng.uniform(0, span, n))  # working ones checked lately
    inspected = np.datetime64("2025-06-30") - np.minimum(ago, span).astype(np.int64).astype("timedelta64[D]")
    flow = np.where(working, np.clip(rng.normal(12.5, 1.8, n), 8, 20), rng.uniform(0, 6, n))
    flow[status == "out_of_service"] = 0.0
    flow[status == "unknown"] = np.nan
    return frame({
        "kind": kind,
        "status": status,
        "last_inspected": np.datetime_as_string(inspected, unit="D").astype(object),
        "flow_lps": np.round(flow, 1),
    }, city.lonlat_points(x, y))
