"""The walking network (``roads``) and the life-circle facilities (``service_facilities``) of the demo.

Roads are the centrelines of the layout's streets: arterials on the tile borders, local and
secondary roads between blocks (roads closed by merged compounds left out). In the southern row
of tiles a creek (河浜) takes the place of one east-west road: nothing walks along it, and only
the arterials and one local bridge per tile cross it, so compounds on either bank reach the other
side the long way round. Facilities follow land use: schools on school blocks, parks on green
ones, hospitals, health centres and other street-level services on public blocks, markets and
shops on commercial ones; kindergartens, day care, service stations and fitness grounds inside
some compounds; bus stops along the arterials.

Draws come from their own Generator (seeded from the demo seed), so the other layers stay
exactly as they were.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .city import City
from .constants import ARTERIAL_M, LAND_USES
from .names import STEMS
from .shapes import along, frame, points_in

CREEK_GAP_M = 4.0  # roads end this far from the creek's centre line where there is no bridge
STATUSES, STATUS_P = ("working", "closed", "planned", "under_construction"), (0.9, 0.04, 0.04, 0.02)

# inside compounds: category, chance per compound, name suffix
IN_COMPOUNDS = (("kindergarten", 0.3, "幼儿园"), ("elderly_day_care", 0.25, "老年人日间照料中心"),
                ("community_service_station", 0.3, "社区服务站"), ("health_station", 0.2, "社区卫生服务站"),
                ("convenience_store", 0.45, "便利店"), ("fitness_ground", 0.45, "健身点"))
# on blocks of a land use: the categories one facility per block is drawn from, with weights
ON_BLOCKS = {
    "school": (("primary_school", "middle_school", "kindergarten"), (0.5, 0.35, 0.15)),
    "green": (("park", "sports_ground", "fitness_ground"), (0.6, 0.25, 0.15)),
    "hospital": (("hospital", "health_centre"), (0.6, 0.4)),
    "public": (("community_centre", "culture_centre", "health_centre", "nursing_home", "sports_centre", "market",
                "sports_ground"), (0.16, 0.14, 0.18, 0.16, 0.1, 0.14, 0.12)),
    "commercial": (("market", "convenience_store", "pharmacy", "sports_ground"), (0.4, 0.3, 0.2, 0.1)),
}
CENTRE = ("community_centre", "culture_centre", "health_centre", "nursing_home", "sports_centre", "middle_school",
          "market", "sports_ground")
TITLES = {"primary_school": "小学", "middle_school": "中学", "kindergarten": "幼儿园", "park": "公园",
          "sports_ground": "运动场", "fitness_ground": "健身点", "hospital": "医院",
          "health_centre": "社区卫生服务中心", "community_centre": "社区服务中心", "culture_centre": "文化活动中心",
          "nursing_home": "养老院",
          "sports_centre": "体育中心", "market": "菜市场", "convenience_store": "便利店", "pharmacy": "药店",
          "bus_stop": "公交站"}
CAPACITY = {"kindergarten": (90, 360), "primary_school": (600, 2000), "middle_school": (800, 2400),
            "nursing_home": (60, 400), "elderly_day_care": (20, 60)}


def _creek(city: City) -> tuple[np.ndarray, np.ndarray]:
    """Per tile: whether a creek crosses it, and which east-west road (row gap) it replaces."""
    has = np.isclose(city.ty, city.ty.min())
    return has, np.full(city.n_tiles, (city.n - 1) // 2)


def road_lines(city: City, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Centrelines (metric), their class and width: arterial borders, then north-south and east-west roads."""
    T, n = city.n_tiles, city.n
    creek, creek_row = _creek(city)
    yc = (city.cy1[:, :-1] + city.cy0[:, 1:]) / 2  # [tile, gap] east-west road centres
    xc = (city.cx1[:, :-1] + city.cx0[:, 1:]) / 2  # [tile, gap] north-south road centres
    ylo = np.column_stack([city.ty, yc])  # [tile, row]: from the road south of the row ...
    yhi = np.column_stack([yc, city.ty + city.tile_m])  # ... to the road north of it
    xlo = np.column_stack([city.tx, xc])
    xhi = np.column_stack([xc, city.tx + city.tile_m])
    bridge = rng.integers(0, n - 1, T)  # the one local bridge of each creek tile
    t, r, j = (a.ravel() for a in np.meshgrid(np.arange(T), np.arange(n), np.arange(n - 1), indexing="ij"))
    keep = ~city.closed_road[t, r, j]
    y0, y1 = ylo[t, r].copy(), yhi[t, r].copy()
    cut = creek[t] & (j != bridge[t])
    y1 = np.where(cut & (r == creek_row[t]), y1 - CREEK_GAP_M, y1)
    y0 = np.where(cut & (r == creek_row[t] + 1), y0 + CREEK_GAP_M, y0)
    ns = (xc[t, j], y0, xc[t, j], y1, np.where(city.secx[t, j], "secondary", "tertiary"), keep, city.gx[t, j])
    t, i, c = (a.ravel() for a in np.meshgrid(np.arange(T), np.arange(n - 1), np.arange(n), indexing="ij"))
    keep = ~(creek[t] & (i == creek_row[t]))
    ew = (xlo[t, c], yc[t, i], xhi[t, c], yc[t, i], np.where(city.secy[t, i], "secondary", "tertiary"), keep,
          city.gy[t, i])
    tt, m = np.arange(T), city.tile_m
    borders = (np.r_[city.tx, city.tx + m, city.tx, city.tx], np.r_[city.ty, city.ty, city.ty, city.ty + m],
               np.r_[city.tx, city.tx + m, city.tx + m, city.tx + m], np.r_[city.ty + m, city.ty + m, city.ty,
                                                                           city.ty + m],
               np.full(4 * T, "primary"), np.ones(4 * len(tt), bool), np.full(4 * T, ARTERIAL_M))
    parts = [np.concatenate([p[k] for p in (borders, ns, ew)]) for k in range(7)]
    x0, y0, x1, y1, kind, keep, width = parts
    ends = np.round(np.column_stack([x0, y0, x1, y1])[keep], 1)
    _, first = np.unique(ends, axis=0, return_index=True)  # neighbouring tiles share their border
    first.sort()
    e = ends[first]
    lines = shapely.linestrings(np.stack([e[:, :2], e[:, 2:]], axis=1))
    return lines, kind[keep][first].astype(object), np.round(width[keep][first], 1)


def _block_facilities(city: City, rng: np.random.Generator):
    rows = []
    blocks = shapely.box(city.bx0, city.by0, city.bx1, city.by1)
    for use, (cats, p) in ON_BLOCKS.items():
        on = np.flatnonzero(city.b_use == LAND_USES.index(use))
        if not len(on):
            continue
        cat = rng.choice(np.array(cats, dtype=object), len(on), p=p)
        x, y = points_in(rng, blocks, on, inset=15.0)
        rows.append((cat, city.street[city.b_tile[on]], x, y))
    return rows


def _centres(city: City, rng: np.random.Generator):
    """Street-level services clustered on a few non-residential blocks near each tile's old core
    (社区中心: service centre, culture, health, elderly care, sports, school, market together)."""
    other = np.flatnonzero(city.b_use >= 0)
    t = city.b_tile[other]
    d = np.hypot((city.bx0 + city.bx1)[other] / 2 - city.core_x[t], (city.by0 + city.by1)[other] / 2 - city.core_y[t])
    weight = np.exp(-d / 900.0) * (rng.random(len(other)) < 0.12)
    on = other[weight > 0]
    blocks = shapely.box(city.bx0, city.by0, city.bx1, city.by1)
    owner = np.repeat(on, len(CENTRE))
    x, y = points_in(rng, blocks, owner, inset=10.0)
    cat = np.tile(np.array(CENTRE, dtype=object), len(on))
    return [(cat, city.street[city.b_tile[owner]], x, y)]


def _compound_facilities(city: City, rng: np.random.Generator):
    rows = []
    for cat, chance, _ in IN_COMPOUNDS:
        owner = np.flatnonzero(rng.random(len(city.c_poly)) < chance)
        x, y = points_in(rng, city.c_poly, owner, inset=8.0)
        rows.append((np.full(len(owner), cat, dtype=object), city.c_name[owner], x, y))
    return rows


def _bus_stops(city: City, rng: np.random.Generator, lines: np.ndarray, kind: np.ndarray):
    big = kind != "tertiary"
    xy = shapely.get_coordinates(lines[big]).reshape(-1, 4)
    seg = {"xa": xy[:, 0], "ya": xy[:, 1], "xb": xy[:, 2], "yb": xy[:, 3]}
    x, y = along(rng, seg, (450.0, 650.0))
    tiles = shapely.box(city.tx, city.ty, city.tx + city.tile_m, city.ty + city.tile_m)
    _, tile = shapely.STRtree(tiles).query_nearest(shapely.points(x, y), all_matches=False)
    return [(np.full(len(x), "bus_stop", dtype=object), city.street[tile], x, y)]


def service_facilities(city: City, rng: np.random.Generator, lines: np.ndarray,
                       kind: np.ndarray) -> gpd.GeoDataFrame:
    rows = (_block_facilities(city, rng) + _centres(city, rng) + _compound_facilities(city, rng)
            + _bus_stops(city, rng, lines, kind))
    cat = np.concatenate([r[0] for r in rows]).astype(object)
    place = np.concatenate([r[1] for r in rows]).astype(object)
    x, y = np.concatenate([r[2] for r in rows]), np.concatenate([r[3] for r in rows])
    suffix = {c: s for c, _, s in IN_COMPOUNDS} | TITLES
    name = np.array([f"{p}{suffix[c]}" for p, c in zip(place, cat, strict=True)], dtype=object)
    capacity = np.full(len(cat), None, dtype=object)
    for c, (lo, hi) in CAPACITY.items():
        at = np.flatnonzero(cat == c)
        capacity[at] = rng.integers(lo, hi + 1, len(at))
    status = rng.choice(np.array(STATUSES, dtype=object), len(cat), p=STATUS_P)
    out = frame({"category": cat, "name": name, "status": status}, city.lonlat_points(x, y))
    out.insert(3, "capacity", pd.array(capacity, dtype="Int64"))
    return out


def life_circle_layers(city: City, seed: int) -> dict[str, gpd.GeoDataFrame]:
    rng = np.random.default_rng([seed, 17])  # own stream: the other layers' draws are untouched
    lines, kind, width = road_lines(city, rng)
    ends = shapely.get_coordinates(lines).reshape(-1, 4)
    along_x = np.isclose(ends[:, 1], ends[:, 3])  # east-west roads are 路, north-south ones 街
    where = np.where(along_x, ends[:, 1] / 97.0, ends[:, 0] / 89.0)  # one name per road line across blocks
    stem = np.array(STEMS, dtype=object)[np.round(where).astype(np.int64) % len(STEMS)]
    name = (stem + np.where(along_x, "路", "街")).astype(object)
    sidewalk = (kind != "tertiary") | (rng.random(len(kind)) < 0.7)  # some local roads have none (still walked)
    return {"roads": frame({"name": name, "highway": kind, "width_m": width, "sidewalk": sidewalk},
                           city.lonlat(lines)),
            "service_facilities": service_facilities(city, rng, lines, kind)}
