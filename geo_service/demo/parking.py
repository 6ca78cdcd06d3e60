"""The parking facilities layer: compound car parks, lots of other land uses, on-street stretches."""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from .city import City
from .constants import LAND_USES, PARKING_KINDS
from .names import pick, stems
from .roads import road_segments
from .shapes import frame, points_in


def parking(city: City) -> gpd.GeoDataFrame:
    """Compound car parks inside compounds, and public/office/commercial/... lots between them.

    Night free spaces decide who can share (错时共享): offices and malls empty at night,
    compounds full.
    """
    rng = city.rng
    # -- compound car parks: 1-5 per compound, splitting its spaces
    spaces = city.c_attrs["parking_spaces"]
    n_lots = np.where(spaces > 0, np.minimum(5, 1 + rng.poisson(city.c_area / 30_000)), 0)
    owner = np.repeat(np.arange(len(n_lots)), n_lots)
    cx, cy = points_in(rng, city.c_poly, owner, inset=8.0)
    share = rng.uniform(0.5, 1.5, len(owner))
    share /= np.bincount(owner, share, len(n_lots))[owner]
    cap_c = np.floor(share * spaces[owner]).astype(int)
    first = np.cumsum(n_lots)[n_lots > 0] - n_lots[n_lots > 0]  # first lot of each compound
    cap_c[first] += spaces[n_lots > 0] - np.bincount(owner, cap_c, len(n_lots))[n_lots > 0].astype(int)
    k_in = np.arange(len(owner)) - np.repeat(np.cumsum(n_lots) - n_lots, n_lots)
    cname = city.c_name[owner]
    garage = (~city.c_old[owner]) & (k_in == 0)
    name_c = np.where(garage, cname + "地下车库",
                      np.where(n_lots[owner] > 1, cname + (k_in + 1).astype(str) + "号停车场", cname + "停车场"))
    # -- lots in non-residential blocks
    rate = np.array([1.6, 2.5, 2.8, 0.7, 2.0, 0.9, 2.3, 0.7])  # per block, in LAND_USES order
    kind_of_use = np.array(["office", "office", "commercial", "school", "hospital", "public", "public",
                            "public"], dtype=object)
    blocks = np.flatnonzero(city.b_use >= 0)
    per = rng.poisson(rate[city.b_use[blocks]])
    b = np.repeat(blocks, per)
    inset = 15.0
    ox = rng.uniform(city.bx0[b] + inset, city.bx1[b] - inset)
    oy = rng.uniform(city.by0[b] + inset, city.by1[b] - inset)
    use = city.b_use[b]
    kind_o = kind_of_use[use]
    suffix = {"industrial": ["工业园停车场", "产业园停车场"],
              "office": ["大厦停车场", "科技园停车场", "办公楼停车场"],
              "commercial": ["广场停车库", "购物中心停车场", "商业中心停车库"],
              "school": ["中学停车场", "小学停车场"],
              "hospital": ["医院停车场", "社区卫生服务中心停车场"],
              "green": ["公园停车场"],
              "public": ["公共停车场", "P+R停车场"],
              "vacant": ["临时停车场", "公共停车场"]}
    name_o = stems(rng, len(b)) + pick(rng, [suffix[u] for u in LAND_USES], use)
    # -- a few on-street parking stretches beside the kerb of local roads
    seg = road_segments(city, internal_only=True)
    on = np.flatnonzero(~seg["wide"] & (rng.random(len(seg["tile"])) < 0.08))
    t = rng.uniform(0.3, 0.7, len(on))
    sx = seg["xa"][on] + t * (seg["xb"][on] - seg["xa"][on])
    sy = seg["ya"][on] + t * (seg["yb"][on] - seg["ya"][on])
    name_s = stems(rng, len(on)) + "路道路停车"

    x = np.concatenate([cx, ox, sx])
    y = np.concatenate([cy, oy, sy])
    kind = np.concatenate([np.full(len(owner), "compound", object), kind_o, np.full(len(on), "street", object)])
    name = np.concatenate([name_c, name_o, name_s]).astype(object)
    n = len(x)
    capacity = np.zeros(n, int)
    free_share, u = rng.random(n), rng.random(n)
    shareable = np.zeros(n, bool)
    open_hours, fee = np.empty(n, object), np.empty(n, object)
    for k, spec in PARKING_KINDS.items():
        m = kind == k
        a, b_ = spec.capacity
        capacity[m] = np.round(np.exp(rng.uniform(np.log(a), np.log(b_), m.sum()))).astype(int)
        lo, hi = spec.night_free
        free_share[m] = lo + (hi - lo) * free_share[m]
        shareable[m] = u[m] < spec.shareable
        open_hours[m] = pick(rng, [spec.hours], np.zeros(m.sum(), int))
        fee[m] = pick(rng, [spec.fees], np.zeros(m.sum(), int))
    capacity[: len(owner)] = cap_c
    return frame({
        "name": name,
        "kind": kind,
        "capacity": capacity,
        "night_free_spaces": np.floor(capacity * free_share).astype(int),
        "open_hours": open_hours,
        "fee": fee,
        "shareable": shareable,
    }, city.lonlat_points(x, y))
