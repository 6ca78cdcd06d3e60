"""Fire-hydrant coverage (消火栓保护半径): how much of each compound is within 150 m of a working hydrant.

Only working hydrants cover (STANDARDS.md). For each compound: the covered share of its area, the
uncovered part as a MultiPolygon (the result's geometry, so the map shows the gaps), and the
hydrants to repair in or near it: faulty, under repair or out of service, within the protection
radius of its boundary. Compounds are ranked by uncovered area. With a ``buildings`` frame the
same is done per building (part ``buildings``), each building tagged with the compound that holds
its representative point.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from . import defaults as D
from .coverage import uncovered_parts
from .frames import choose_crs, geometries, joined, lonlat, representative_points, result_frame, text, to_metric
from .params import split_list
from .result import AnalysisResult


def _coverage_columns(polys: np.ndarray, working: np.ndarray, radius_m: float, segments: int
                      ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    uncovered, pi, _ = uncovered_parts(polys, working, radius_m, segments)
    area = shapely.area(polys)
    gap = shapely.area(uncovered)
    share = np.clip(1.0 - np.divide(gap, area, out=np.zeros(len(area)), where=area > 0), 0.0, 1.0)
    return {
        "area_m2": np.round(area, 1),
        "covered_share": np.round(share, 6),
        "uncovered_m2": np.round(gap, 1),
        "working_hydrants": np.bincount(pi, minlength=len(polys)),
    }, uncovered


def _rank(uncovered_m2: np.ndarray, ids: np.ndarray) -> np.ndarray:
    order = np.lexsort((ids, -uncovered_m2))
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(1, len(ids) + 1)
    return rank


def hydrant_coverage(compounds: gpd.GeoDataFrame, fire_hydrants: gpd.GeoDataFrame,
                     buildings: gpd.GeoDataFrame | None = None, *,
                     radius_m: float = D.RADIUS_M.default,
                     working_status: str = D.WORKING_STATUS.default,
                     broken_statuses: str = D.BROKEN_STATUSES.default,
                     circle_segments: int = D.CIRCLE_SEGMENTS.default,
                     metric_crs: str | None = None) -> AnalysisResult:
    """Parts: ``compounds`` (uncovered MultiPolygons, ranked by uncovered area) and, with buildings, ``buildings``."""
    crs = choose_crs([compounds], metric_crs)
    compounds_m = to_metric(compounds, crs)
    hydrants_m = to_metric(fire_hydrants, crs)
    status = text(hydrants_m, "status")
    points = geometries(hydrants_m)
    working = points[status == working_status]
    broken_kinds = split_list(broken_statuses)
    broken = np.isin(status, broken_kinds)
    polys = geometries(compounds_m)
    n = len(polys)

    columns, uncovered = _coverage_columns(polys, working, radius_m, circle_segments)
    b_pos = np.flatnonzero(broken)
    bi, bh = shapely.STRtree(points[b_pos]).query(polys, predicate="dwithin", distance=radius_m) \
        if len(b_pos) else (np.empty(0, np.int64), np.empty(0, np.int64))
    order = np.lexsort((bh, bi))
    bi, bh = bi[order], b_pos[bh[order]]
    inside = shapely.covers(polys[bi], points[bh]) if len(bi) else np.zeros(0, bool)
    columns["broken_hydrants"] = np.bincount(bi, minlength=n)
    columns["broken_inside"] = np.bincount(bi[inside], minlength=n)
    for kind in broken_kinds:
        columns[f"broken_{kind}"] = np.bincount(bi[status[bh] == kind], minlength=n)
    columns["broken_ids"] = joined(hydrants_m.index.to_numpy()[bh], bi, n)
    ids = compounds_m.index.to_numpy()
    columns["rank"] = _rank(columns["uncovered_m2"], ids)
    table = {"name": text(compounds_m, "name"), "district": text(compounds_m, "district"),
             "street": text(compounds_m, "street"), **columns}
    part = result_frame(table, lonlat(uncovered, crs), index=compounds_m.index).sort_values("rank")
    parts = {"compounds": part}

    if buildings is not None and len(buildings):
        buildings_m = to_metric(buildings, crs)
        b_polys = geometries(buildings_m)
        b_cols, b_uncovered = _coverage_columns(b_polys, working, radius_m, circle_segments)
        owner = np.full(len(b_polys), None, dtype=object)
        p, c = shapely.STRtree(polys).query(representative_points(buildings_m), predicate="covered_by")
        owner[p] = ids[c]
        b_cols["rank"] = _rank(b_cols["uncovered_m2"], buildings_m.index.to_numpy())
        parts["buildings"] = result_frame({"compound_id": owner, "name": text(buildings_m, "name"), **b_cols},
                                          lonlat(b_uncovered, crs), index=buildings_m.index).sort_values("rank")

    area = columns["area_m2"].sum()
    summary = {
        "compounds": n,
        "working_hydrants": len(working),
        "broken_hydrants": int(broken.sum()),
        "fully_covered": int((columns["uncovered_m2"] == 0).sum()),
        "covered_share": round(float(1 - columns["uncovered_m2"].sum() / area), 6) if area else None,
        "uncovered_m2": round(float(columns["uncovered_m2"].sum()), 1),
        "radius_m": radius_m,
    }
    if "buildings" in parts:
        summary["buildings"] = len(parts["buildings"])
        summary["buildings_fully_covered"] = int((parts["buildings"]["uncovered_m2"] == 0).sum())
    return AnalysisResult(parts, summary, crs.to_string())
