"""Waterlogging (积水点): points per compound, severity, cause mix, and hotspots across compounds.

Severity of a point = depth (cm) x duration (min) x events per year, divided by the largest in the
data, so 0-1. Missing values are filled so that a point is neither dropped nor inflated: a missing
depth or duration takes the median of the points that have one (the threshold itself when none
has), missing events per year count as 1 (the point was recorded at least once); the filled
columns are flagged. A point counts as waterlogged when depth >= 15 cm and duration >= 30 min.
A missing cause counts as ``other``.

A point counts for every compound it lies in or within ``near_m`` of (a flooded road between two
compounds troubles both). A compound's severity is the sum of its points' severities divided by the
largest such sum (0-1); ``severity_internal`` does the same for causes the compound itself can fix
(internal drainage and other; external backflow is for the water and transport departments).
Hotspots are DBSCAN clusters in metres across all points (:mod:`.clustering`), drawn as the convex
hull of their points buffered by ``hull_buffer_m`` and numbered by total severity.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import defaults as D
from .clustering import dbscan
from .frames import choose_crs, geometries, joined, lonlat, lonlat_of, num, result_frame, text, to_metric
from .result import AnalysisResult

CAUSES = ("external_backflow", "internal_drainage", "other")
EXTERNAL = "external_backflow"


def _filled(values: np.ndarray, fallback: float) -> tuple[np.ndarray, np.ndarray]:
    missing = np.isnan(values)
    fill = float(np.median(values[~missing])) if (~missing).any() else fallback
    return np.where(missing, fill, values), missing


def _normalised(values: np.ndarray) -> np.ndarray:
    top = values.max(initial=0.0)
    return values / top if top > 0 else np.zeros(len(values))


def _dominant(counts: np.ndarray) -> np.ndarray:
    """The cause with most points per row (ties: the order of CAUSES); None without points."""
    out = np.array(CAUSES, dtype=object)[np.argmax(counts, axis=1)]
    out[counts.sum(1) == 0] = None
    return out


def score_points(points_m: gpd.GeoDataFrame, depth_cm: float, duration_min: float) -> pd.DataFrame:
    """Per point: filled values, severity (0-1), waterlogged flag, cause."""
    depth, no_depth = _filled(num(points_m, "depth_cm"), depth_cm)
    duration, no_duration = _filled(num(points_m, "duration_min"), duration_min)
    events = num(points_m, "events_per_year")
    no_events = np.isnan(events)
    events = np.where(no_events, 1.0, events)
    cause = text(points_m, "cause")
    cause = np.where(np.isin(cause, CAUSES), cause, "other").astype(object)
    return pd.DataFrame({
        "name": text(points_m, "name"),
        "depth_cm": depth, "duration_min": duration, "events_per_year": events,
        "depth_filled": no_depth, "duration_filled": no_duration, "events_filled": no_events,
        "severity": np.round(_normalised(depth * duration * events), 6),
        "waterlogged": (depth >= depth_cm) & (duration >= duration_min),
        "cause": cause,
        "status": text(points_m, "status"),
    }, index=points_m.index)


def waterlogging(compounds: gpd.GeoDataFrame, waterlogging_points: gpd.GeoDataFrame, *,
                 near_m: float = D.NEAR_M.default,
                 depth_cm: float = D.DEPTH_CM.default,
                 duration_min: float = D.DURATION_MIN.default,
                 exclude_fixed: bool = D.EXCLUDE_FIXED.default,
                 eps_m: float = D.EPS_M.default,
                 min_points: int = D.MIN_POINTS.default,
                 hull_buffer_m: float = D.HULL_BUFFER_M.default,
                 metric_crs: str | None = None) -> AnalysisResult:
    """Parts: ``compounds`` (polygons, ranked by severity), ``points`` and ``hotspots`` (cluster polygons)."""
    crs = choose_crs([compounds], metric_crs)
    compounds_m = to_metric(compounds, crs)
    points_m = to_metric(waterlogging_points, crs)
    if exclude_fixed:
        points_m = points_m[text(points_m, "status") != "fixed"]
    scored = score_points(points_m, depth_cm, duration_min)
    polys, points = geometries(compounds_m), geometries(points_m)
    n, ids = len(polys), compounds_m.index.to_numpy()

    pi, ci = shapely.STRtree(polys).query(points, predicate="dwithin", distance=near_m) if len(points) \
        else (np.empty(0, np.int64), np.empty(0, np.int64))
    order = np.lexsort((ci, pi))
    pi, ci = pi[order], ci[order]
    sev = scored["severity"].to_numpy()
    internal = scored["cause"].to_numpy() != EXTERNAL
    cause_counts = np.stack([np.bincount(ci[scored["cause"].to_numpy()[pi] == c], minlength=n) for c in CAUSES], 1)
    sev_sum = np.bincount(ci, weights=sev[pi], minlength=n)
    sev_internal = np.bincount(ci[internal[pi]], weights=sev[pi][internal[pi]], minlength=n)
    sev_max = np.zeros(n)
    np.maximum.at(sev_max, ci, sev[pi])

    labels = dbscan(shapely.get_coordinates(points), eps_m, min_points)
    hotspots, hotspot_of_label = _hotspots(labels, points, scored, pi, ci, ids, text(compounds_m, "name"),
                                           hull_buffer_m, crs)
    point_hotspot = np.full(len(labels), -1, dtype=np.int64)
    point_hotspot[labels >= 0] = hotspot_of_label[labels[labels >= 0]]
    in_hotspot = point_hotspot[pi] >= 0
    pairs = pd.DataFrame({"c": ci[in_hotspot], "h": point_hotspot[pi][in_hotspot]}).drop_duplicates()
    pairs = pairs.sort_values(["c", "h"])

    table = {
        "name": text(compounds_m, "name"),
        "district": text(compounds_m, "district"),
        "street": text(compounds_m, "street"),
        "points": np.bincount(ci, minlength=n),
        "points_inside": np.bincount(ci[shapely.covers(polys[ci], points[pi])], minlength=n) if len(ci)
        else np.zeros(n, np.int64),
        "waterlogged_points": np.bincount(ci[scored["waterlogged"].to_numpy()[pi]], minlength=n),
        "waterlogged_internal": np.bincount(ci[scored["waterlogged"].to_numpy()[pi] & internal[pi]], minlength=n),
        "severity": np.round(_normalised(sev_sum), 6),
        "severity_internal": np.round(_normalised(sev_internal), 6),
        "severity_sum": np.round(sev_sum, 6),
        "max_point_severity": np.round(sev_max, 6),
        **{f"cause_{c}": cause_counts[:, k] for k, c in enumerate(CAUSES)},
        "dominant_cause": _dominant(cause_counts),
        "hotspots": joined(pairs["h"].to_numpy(), pairs["c"].to_numpy(), n),
    }
    part = result_frame(table, lonlat_of(compounds_m), index=compounds_m.index)
    part = part.iloc[np.lexsort((ids, -table["severity_sum"]))]

    point_part = result_frame({
        **{c: scored[c].to_numpy() for c in scored.columns},
        "hotspot": np.where(point_hotspot >= 0, point_hotspot, None),
        "compound_ids": joined(ids[ci], pi, len(points)),
    }, lonlat_of(points_m), index=points_m.index)

    summary = {
        "compounds": n,
        "compounds_with_points": int((table["points"] > 0).sum()),
        "points": len(points),
        "waterlogged_points": int(scored["waterlogged"].sum()),
        "points_filled": int((scored[["depth_filled", "duration_filled", "events_filled"]].any(axis=1)).sum()),
        "hotspots": len(hotspots),
        **{f"cause_{c}": int((scored["cause"] == c).sum()) for c in CAUSES},
    }
    return AnalysisResult({"compounds": part, "points": point_part, "hotspots": hotspots}, summary,
                          crs.to_string())


def _hotspots(labels, points, scored, pi, ci, ids, names, hull_buffer_m, crs) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Hotspot polygons numbered 1.. by total severity (ties: first member), and label -> hotspot number."""
    k = int(labels.max()) + 1 if len(labels) else 0
    member = np.flatnonzero(labels >= 0)
    lab = labels[member]
    sev = scored["severity"].to_numpy()
    total = np.bincount(lab, weights=sev[member], minlength=k)
    order = np.lexsort((np.arange(k), -total))
    number = np.empty(k, dtype=np.int64)
    number[order] = np.arange(1, k + 1)
    if not k:
        return result_frame({}, None), number
    sorted_members = member[np.argsort(lab, kind="stable")]
    hulls = shapely.convex_hull(shapely.multipoints(points[sorted_members], indices=np.sort(lab)))
    shapes = shapely.buffer(hulls, hull_buffer_m) if hull_buffer_m > 0 else hulls
    cause = scored["cause"].to_numpy()
    cause_counts = np.stack([np.bincount(lab[cause[member] == c], minlength=k) for c in CAUSES], 1)
    depth = scored["depth_cm"].to_numpy()
    max_depth = np.zeros(k)
    np.maximum.at(max_depth, lab, depth[member])
    near = labels[pi] >= 0
    touched = pd.DataFrame({"h": labels[pi][near], "c": ci[near]}).drop_duplicates().sort_values(["h", "c"])
    count = np.bincount(lab, minlength=k)
    frame = result_frame({
        "points": count,
        "waterlogged_points": np.bincount(lab[scored["waterlogged"].to_numpy()[member]], minlength=k),
        "severity_sum": np.round(total, 6),
        "mean_depth_cm": np.round(np.bincount(lab, weights=depth[member], minlength=k) / count, 1),
        "max_depth_cm": max_depth,
        **{f"cause_{c}": cause_counts[:, j] for j, c in enumerate(CAUSES)},
        "dominant_cause": _dominant(cause_counts),
        "compound_ids": joined(ids[touched["c"].to_numpy()], touched["h"].to_numpy(), k),
        "compound_names": joined(names[touched["c"].to_numpy()], touched["h"].to_numpy(), k, sep="、"),
        "area_m2": np.round(shapely.area(shapes), 1),
    }, lonlat(shapes, crs), index=pd.Index(number, name="hotspot"))
    return frame.sort_index(), number
