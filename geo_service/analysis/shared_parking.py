"""Shared off-peak parking (错时共享停车): which nearby lot takes how many of a compound's cars at night.

Candidates are lots of the sharing kinds (public, office, commercial; hospital and school only
when flagged ``shareable``) with night free spaces, within the walking limit of a compound with a
parking gap (see :mod:`.parking_gaps`). Spaces are allocated by a least-cost maximum flow
(:mod:`.allocation`): as much of the gaps served as possible, then the least walking in total,
and never more than a lot's free spaces.

Distances are straight lines in the metric CRS, or walks along the roads when a ``roads`` frame is
given (:mod:`.road_distance`). They start at the compound's representative point (``measure_from``
``point``; the arrangement lines are drawn from it) or at the nearest point of its boundary
(``edge``), and end at the lot (its nearest point; a road walk ends at its representative point).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import defaults as D
from .agreements import binding, per_id
from .allocation import allocate
from .frames import (
    choose_crs,
    flag,
    geometries,
    lonlat,
    lonlat_of,
    num,
    representative_points,
    result_frame,
    text,
    to_metric,
)
from .params import split_list
from .parking_gaps import GapRules, compute_gaps
from .result import AnalysisResult
from .road_distance import pair_distances


def candidate_lots(facilities_m: gpd.GeoDataFrame, share_kinds: str, flagged_kinds: str) -> np.ndarray:
    """Positions of the lots that can share off-peak and have night free spaces."""
    kind = text(facilities_m, "kind")
    shares = np.isin(kind, split_list(share_kinds))
    shares |= np.isin(kind, split_list(flagged_kinds)) & flag(facilities_m, "shareable")
    return np.flatnonzero(shares & (np.nan_to_num(num(facilities_m, "night_free_spaces")) > 0))


def walking_pairs(compounds_m: gpd.GeoDataFrame, lots_m: gpd.GeoDataFrame, roads_m: gpd.GeoDataFrame | None,
                  walk_m: float, measure_from: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(compound position, lot position, metres) of every pair within the walk, in canonical order."""
    starts = representative_points(compounds_m) if measure_from == "point" else geometries(compounds_m)
    lots = geometries(lots_m)
    ci, li = shapely.STRtree(lots).query(starts, predicate="dwithin", distance=walk_m)
    order = np.lexsort((li, ci))
    ci, li = ci[order], li[order]
    if roads_m is not None and len(roads_m):
        ends = representative_points(lots_m)[li]
        origins = starts[ci]
        if measure_from == "edge":  # leave the compound where it is nearest to the lot
            origins = shapely.get_point(shapely.shortest_line(origins, ends), 0)
        dist = pair_distances(geometries(roads_m), origins, ends, walk_m)
    else:
        dist = shapely.distance(starts[ci], lots[li])
    keep = np.isfinite(dist) & (dist <= walk_m)
    return ci[keep], li[keep], dist[keep]


def shared_parking(compounds: gpd.GeoDataFrame, parking_facilities: gpd.GeoDataFrame,
                   roads: gpd.GeoDataFrame | None = None,
                   parking_agreements: gpd.GeoDataFrame | None = None, *,
                   walk_m: float = D.WALK_M.default,
                   share_kinds: str = D.SHARE_KINDS.default,
                   flagged_kinds: str = D.FLAGGED_KINDS.default,
                   off_peak: str = D.OFF_PEAK.default,
                   measure_from: str = D.MEASURE_FROM.default,
                   metric_crs: str | None = None, **gap_rules: Any) -> AnalysisResult:
    """The shared-parking plan. ``gap_rules``: the parking-gaps parameters (:class:`GapRules`).

    Parts: ``arrangements`` (LineStrings compound -> lot: spaces, distance_m, off-peak window) and
    ``unserved`` (compound polygons with a gap: served, unserved). Signed and active agreements still
    valid today (``parking_agreements``) are fixed: their spaces count as served (``agreed``) and leave
    the lots' free spaces before anything else is allocated.
    """
    crs = choose_crs([compounds], metric_crs)
    compounds_m = to_metric(compounds, crs)
    facilities_m = to_metric(parking_facilities, crs)
    roads_m = to_metric(roads, crs)
    gaps = compute_gaps(compounds_m, facilities_m, GapRules(**gap_rules))
    full_gap = gaps["gap_spaces"].to_numpy()
    fixed = binding(parking_agreements)
    agreed = np.minimum(per_id(fixed, "compound", compounds_m.index.to_numpy()), np.maximum(full_gap, 0))
    gap = full_gap - agreed
    lots_m = facilities_m.iloc[candidate_lots(facilities_m, share_kinds, flagged_kinds)]
    free = np.nan_to_num(num(lots_m, "night_free_spaces")).astype(np.int64)
    free = np.maximum(free - per_id(fixed, "lot", lots_m.index.to_numpy()), 0)
    short = np.flatnonzero(gap > 0)
    ci, li, dist = walking_pairs(compounds_m.iloc[short], lots_m, roads_m, walk_m, measure_from)
    ci = short[ci]
    spaces, stats = allocate(gap, free, ci, li, dist)

    used = spaces > 0
    ci_u, li_u, d_u, s_u = ci[used], li[used], dist[used], spaces[used]
    starts = representative_points(compounds_m)[ci_u]
    ends = representative_points(lots_m)[li_u]
    lines = shapely.linestrings(np.stack([shapely.get_coordinates(starts), shapely.get_coordinates(ends)], 1)) \
        if len(ci_u) else np.empty(0, dtype=object)
    arrangements = result_frame({
        "compound_id": compounds_m.index.to_numpy()[ci_u],
        "compound_name": gaps["name"].to_numpy()[ci_u],
        "street": gaps["street"].to_numpy()[ci_u],
        "lot_id": lots_m.index.to_numpy()[li_u],
        "lot_name": text(lots_m, "name")[li_u],
        "lot_kind": text(lots_m, "kind")[li_u],
        "spaces": s_u,
        "distance_m": np.round(d_u, 1),
        "space_m": np.round(s_u * d_u, 1),
        "off_peak": np.full(len(ci_u), off_peak, dtype=object),
        "lot_open_hours": text(lots_m, "open_hours")[li_u],
        "lot_fee": text(lots_m, "fee")[li_u],
    }, lonlat(lines, crs))
    arrangements = arrangements.sort_values(["compound_id", "distance_m", "lot_id"], ignore_index=True)
    arrangements.index = pd.RangeIndex(1, len(arrangements) + 1, name="arrangement")

    served = np.bincount(ci_u, weights=s_u, minlength=len(gap)).astype(np.int64) + agreed
    gap = full_gap
    short = np.flatnonzero(gap > 0)
    lots_used = np.bincount(ci_u, minlength=len(gap))
    reachable = np.bincount(ci, minlength=len(gap))
    unserved = result_frame({
        "name": gaps["name"].to_numpy(),
        "street": gaps["street"].to_numpy(),
        "households": gaps["households"].to_numpy(),
        "gap_spaces": gap,
        "served": served,
        "agreed": agreed,
        "unserved": gap - served,
        "share_served": np.round(np.divide(served, gap, out=np.zeros(len(gap)), where=gap > 0), 4),
        "lots_used": lots_used,
        "lots_in_reach": reachable,
    }, lonlat_of(compounds_m), index=compounds_m.index).iloc[short]
    unserved = unserved.sort_values(["unserved", "gap_spaces"], ascending=False, kind="stable")

    total_gap = int(gap.sum())
    summary = {
        "compounds_with_gap": len(short),
        "total_gap_spaces": total_gap,
        "served": int(served.sum()),
        "agreed": int(agreed.sum()),
        "unserved": total_gap - int(served.sum()),
        "arrangements": len(arrangements),
        "lots_used": int(len(np.unique(li_u))),
        "candidate_lots": len(lots_m),
        "pairs_in_reach": len(ci),
        "total_space_m": round(float((s_u * d_u).sum()), 1),
        "mean_walk_m": round(float((s_u * d_u).sum() / s_u.sum()), 1) if s_u.sum() else None,
        "distance": "roads" if roads_m is not None and len(roads_m) else "straight line",
        **stats,
    }
    return AnalysisResult({"arrangements": arrangements, "unserved": unserved}, summary, crs.to_string())
