"""The 15-minute community life circle (15分钟社区生活圈, GB 50180-2018): which services each compound reaches on foot.

For every compound and facility category: the walk to the nearest counted (working) facility along
the ``roads`` network (:mod:`.network`), leaving the compound from its boundary; whether it lies
within the radius of the circle whose list names the category (5-minute 300 m, 10-minute 500 m,
15-minute 1,000 m by default, see ``defaults.LIFE_CIRCLE``); per circle the required categories met;
the households each gap leaves unserved. Where the network does not reach a compound or facility
(farther than ``snap_max_m``, or no roads layer), the walk is the straight line × ``detour_factor``
and the row says ``estimated``.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import defaults as D
from .frames import choose_crs, geometries, known, lonlat, lonlat_of, num, result_frame, text, to_metric
from .network import RoadNetwork, network
from .params import split_list
from .result import AnalysisResult

CIRCLES = (5, 10, 15)


@dataclass(frozen=True)
class Rules:
    circle_5_m: float = D.CIRCLE_5_M.default
    circle_10_m: float = D.CIRCLE_10_M.default
    circle_15_m: float = D.CIRCLE_15_M.default
    walk_speed_m_per_min: float = D.WALK_SPEED.default
    required_5: str = D.REQUIRED_5.default
    required_10: str = D.REQUIRED_10.default
    required_15: str = D.REQUIRED_15.default
    facility_statuses: str = D.FACILITY_STATUSES.default
    detour_factor: float = D.DETOUR_FACTOR.default
    snap_max_m: float = D.SNAP_MAX_M.default
    entry_reach_m: float = D.ENTRY_REACH_M.default
    max_walk_m: float = D.MAX_WALK_M.default

    def radius(self, minutes: int) -> float:
        return {5: self.circle_5_m, 10: self.circle_10_m, 15: self.circle_15_m}[minutes]

    def budget(self, minutes: float) -> float:
        """Metres walkable in ``minutes``: the circle's radius for 5/10/15, else minutes x speed."""
        return self.radius(int(minutes)) if minutes in CIRCLES else minutes * self.walk_speed_m_per_min

    def categories(self) -> list[tuple[str, int]]:
        """(category, circle minutes) in the order of the lists; a category listed twice keeps its smallest."""
        seen: dict[str, int] = {}
        for minutes, listed in zip(CIRCLES, (self.required_5, self.required_10, self.required_15), strict=True):
            for category in split_list(listed):
                seen.setdefault(category, minutes)
        return list(seen.items())


def _network_of(roads_m: gpd.GeoDataFrame | None) -> RoadNetwork | None:
    if roads_m is None or not len(roads_m):
        return None
    net = network(geometries(roads_m))
    return net if len(net) else None


def compound_entrances(net: RoadNetwork | None, polys: np.ndarray, rules: Rules):
    """(compound position, node, leg) of the entrances within ``snap_max_m``; and which compounds have one."""
    if net is None:
        empty = np.empty(0, dtype=np.int64)
        return (empty, empty, np.empty(0)), np.zeros(len(polys), dtype=bool)
    pi, ni, leg = net.entrances(polys, rules.entry_reach_m)
    ok = leg <= rules.snap_max_m
    covered = np.zeros(len(polys), dtype=bool)
    covered[pi[ok]] = True
    return (pi[ok], ni[ok], leg[ok]), covered


def nearest_walks(polys: np.ndarray, points: np.ndarray, category: np.ndarray, counted: np.ndarray,
                  net: RoadNetwork | None, rules: Rules, categories: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(walk metres, estimated) per compound × category; inf where nothing is within ``max_walk_m``."""
    n, k = len(polys), len(categories)
    walk, estimated = np.full((n, k), np.inf), np.zeros((n, k), dtype=bool)
    (pi, ni, leg), c_covered = compound_entrances(net, polys, rules)
    f_node, f_leg = net.snap(points) if net is not None else (np.zeros(len(points), np.int64),
                                                              np.full(len(points), np.inf))
    f_covered = f_leg <= rules.snap_max_m
    for j, cat in enumerate(categories):
        mine = counted & (category == cat)
        on = mine & f_covered
        if net is not None and on.any() and len(pi):
            at_node = net.from_sources(f_node[on], f_leg[on], rules.max_walk_m)
            np.minimum.at(walk[:, j], pi, at_node[ni] + leg)
        # straight line x detour where the network cannot answer: uncovered compounds to any facility,
        # covered compounds to facilities the network does not reach
        for rows, targets in ((~c_covered, mine), (c_covered, mine & ~f_covered)):
            if rows.any() and targets.any():
                ci, fi = shapely.STRtree(points[targets]).query_nearest(polys[rows], all_matches=False)
                guess = shapely.distance(polys[rows][ci], points[targets][fi]) * rules.detour_factor
                at = np.flatnonzero(rows)[ci]
                better = guess < walk[at, j]
                walk[at[better], j] = guess[better]
                estimated[at[better], j] = True
    walk[walk > rules.max_walk_m] = np.inf
    estimated &= np.isfinite(walk)
    return walk, estimated


def _facilities(service_facilities: gpd.GeoDataFrame | None, crs, rules: Rules):
    if service_facilities is None or not len(service_facilities):
        return np.empty(0, dtype=object), np.empty(0, dtype=object), np.empty(0, dtype=bool)
    fac_m = to_metric(service_facilities, crs)
    status = text(fac_m, "status")
    counted = np.isin(status, split_list(rules.facility_statuses)) | ~known(fac_m, "status")
    return shapely.point_on_surface(geometries(fac_m)), text(fac_m, "category"), counted


def life_circle(compounds: gpd.GeoDataFrame, service_facilities: gpd.GeoDataFrame,
                roads: gpd.GeoDataFrame | None = None, *, metric_crs: str | None = None,
                **rules) -> AnalysisResult:
    """Parts: ``compounds`` (polygons: per circle the required categories met and whether complete, the
    missing categories, a walk column per category), ``walks`` (compound × category table),
    ``streets`` (share of households in compounds meeting each circle in full) and ``gaps`` (per
    category: compounds and households outside its circle)."""
    r = Rules(**rules)
    crs = choose_crs([compounds], metric_crs)
    compounds_m = to_metric(compounds, crs)
    roads_m = to_metric(roads, crs) if roads is not None else None
    polys = geometries(compounds_m)
    points, category, counted = _facilities(service_facilities, crs, r)
    cats = r.categories()
    names = [c for c, _ in cats]
    walk, estimated = nearest_walks(polys, points, category, counted, _network_of(roads_m), r, names)
    radius = np.array([r.radius(m) for _, m in cats])
    within = np.round(walk, 2) <= radius  # to the centimetre: a walk of exactly the radius is within
    households = np.nan_to_num(num(compounds_m, "households"))
    compounds_part = _compound_table(compounds_m, cats, walk, within, estimated, households)
    walks = _walk_table(compounds_m, cats, radius, walk, within, estimated, households, r)
    streets = _street_table(compounds_part)
    gaps = _gap_table(cats, radius, within, households)
    summary = {
        "compounds": len(polys),
        "facilities_counted": int(counted.sum()),
        "network_nodes": len(_network_of(roads_m) or ()),
        "estimated_walks": int(estimated.sum()),
        **{f"compounds_complete_{m}": int(compounds_part[f"complete_{m}"].sum()) for m in CIRCLES},
        **{f"households_complete_{m}": int(households[compounds_part[f"complete_{m}"].to_numpy()].sum())
           for m in CIRCLES},
        "blind_spots": int((compounds_part["missing"] != "").sum()),
    }
    parts = {"compounds": compounds_part, "walks": walks, "streets": streets, "gaps": gaps}
    return AnalysisResult(parts, summary, crs.to_string())


def _compound_table(compounds_m, cats, walk, within, estimated, households) -> gpd.GeoDataFrame:
    minutes = np.array([m for _, m in cats])
    table = {"name": text(compounds_m, "name"), "district": text(compounds_m, "district"),
             "street": text(compounds_m, "street"), "households": households.astype(np.int64)}
    met_all = np.ones(len(households), dtype=bool)
    for m in CIRCLES:
        cols = minutes == m
        table[f"required_{m}"] = np.full(len(households), int(cols.sum()))
        table[f"met_{m}"] = within[:, cols].sum(axis=1)
        table[f"complete_{m}"] = within[:, cols].all(axis=1)
        met_all &= table[f"complete_{m}"]
    table["completeness"] = np.round(within.mean(axis=1), 3) if len(cats) else np.ones(len(households))
    table["complete"] = met_all
    names = np.array([c for c, _ in cats], dtype=object)
    table["missing"] = np.array([",".join(names[~row]) for row in within], dtype=object)
    table["estimated"] = estimated.any(axis=1)
    for j, (cat, _) in enumerate(cats):
        table[f"walk_m_{cat}"] = np.where(np.isfinite(walk[:, j]), np.round(walk[:, j], 1), np.nan)
    part = result_frame(table, lonlat_of(compounds_m), index=compounds_m.index)
    return part.iloc[np.lexsort((part.index.to_numpy(), table["completeness"]))]


def _walk_table(compounds_m, cats, radius, walk, within, estimated, households, r: Rules) -> gpd.GeoDataFrame:
    n, k = walk.shape
    ci = np.repeat(np.arange(n), k)
    kj = np.tile(np.arange(k), n)
    flat = walk.ravel()
    finite = np.isfinite(flat)
    table = {
        "compound_id": compounds_m.index.to_numpy()[ci],
        "compound_name": text(compounds_m, "name")[ci],
        "street": text(compounds_m, "street")[ci],
        "category": np.array([c for c, _ in cats], dtype=object)[kj] if k else np.empty(0, dtype=object),
        "circle_min": np.array([m for _, m in cats], dtype=np.int64)[kj] if k else np.empty(0, dtype=np.int64),
        "radius_m": radius[kj],
        "walk_m": np.where(finite, np.round(flat, 1), np.nan),
        "walk_min": np.where(finite, np.round(flat / r.walk_speed_m_per_min, 1), np.nan),
        "within": within.ravel(),
        "estimated": estimated.ravel(),
        "households_affected": np.where(within.ravel(), 0, households[ci]).astype(np.int64),
    }
    return result_frame(table, None, index=pd.RangeIndex(n * k))


def _street_table(part: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(part.drop(columns="geometry"))
    frame["district"] = frame["district"].fillna("")
    frame["street"] = frame["street"].fillna("")
    rows = []
    for (district, street), group in frame.groupby(["district", "street"], sort=True):
        hh = group["households"].to_numpy(float)
        row = {"district": district, "street": street, "compounds": len(group), "households": int(hh.sum())}
        for m in CIRCLES + ("",):
            key = f"complete_{m}" if m else "complete"
            ok = group[key].to_numpy(bool)
            row[f"households_{key}"] = int(hh[ok].sum())
            row[f"share_{key}"] = round(float(hh[ok].sum() / hh.sum()), 4) if hh.sum() > 0 else None
        row["blind_spots"] = int((group["missing"] != "").sum())
        rows.append(row)
    return result_frame(pd.DataFrame(rows).to_dict("list") if rows else {}, None, index=pd.RangeIndex(len(rows)))


def _gap_table(cats, radius, within, households) -> gpd.GeoDataFrame:
    table = {
        "category": [c for c, _ in cats],
        "circle_min": [m for _, m in cats],
        "radius_m": radius,
        "compounds_outside": (~within).sum(axis=0).astype(np.int64),
        "households_affected": (households[:, None] * ~within).sum(axis=0).astype(np.int64),
    }
    return result_frame(table, None, index=pd.RangeIndex(len(cats)))


def road_network(roads: gpd.GeoDataFrame | None, crs) -> RoadNetwork | None:
    """The walking network of a roads frame in the metric ``crs`` (None without roads)."""
    return _network_of(to_metric(roads, crs) if roads is not None else None)


def isochrones(compound: gpd.GeoDataFrame, net: RoadNetwork | None, crs, minutes: list[float], *,
               buffer_m: float = 25.0, **rules) -> gpd.GeoDataFrame:
    """Walkable areas of one compound (a one-row frame) within each of ``minutes`` on ``net`` (metric
    ``crs``, see :func:`road_network`): the reachable parts of the network, edges cut at the remaining
    distance, buffered by ``buffer_m``, plus the compound. Without network cover: the compound grown by
    budget / detour_factor, flagged ``estimated``."""
    r = Rules(**rules)
    compound_m = to_metric(compound, crs)
    polys = geometries(compound_m)
    (_, ni, leg), covered = compound_entrances(net, polys, r)
    budgets = [r.budget(m) for m in minutes]
    dist = net.from_sources(ni, leg, max(budgets)) if covered.any() else None
    areas = []
    for budget in budgets:
        if dist is None:
            areas.append(shapely.buffer(polys[0], budget / r.detour_factor))
            continue
        lines = net.reachable_lines(dist, budget)
        # the 25 m pieces merged into long lines and their collinear vertices dropped: buffering a few long
        # lines is ~10x faster than uniting hundreds of small buffers
        merged = shapely.simplify(shapely.line_merge(shapely.multilinestrings(lines)), 0.5)
        walked = shapely.buffer(merged, buffer_m, quad_segs=4)
        areas.append(shapely.union(walked, polys[0]))
    table = {"compound_id": np.repeat(compound_m.index.to_numpy()[:1], len(minutes)),
             "minutes": np.asarray(minutes, float), "walk_m": np.asarray(budgets, float),
             "estimated": np.full(len(minutes), dist is None)}
    return result_frame(table, lonlat(np.asarray(areas, dtype=object), crs), index=pd.RangeIndex(len(minutes)))
