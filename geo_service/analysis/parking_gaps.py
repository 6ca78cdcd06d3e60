"""Parking gaps (停车缺口): demand against supply per compound, ranked.

Demand is a compound's ``registered_vehicles`` where recorded (and allowed), otherwise
households x a ratio by era and flat size (STANDARDS.md): built before 2000 -> 0.5/household;
newer by average flat size < 100 / 100-150 / > 150 m² -> the midpoints 0.4 / 0.6 / 0.95 of
DG/TJ08-7's ranges. A compound whose era or (for newer ones) flat size is unknown uses the
pre-2000 ratio, which also sits between the two smaller classes.

Supply, and why it is not a sum: in-compound spaces are recorded twice in practice, as the
compound's ``parking_spaces`` and as its own car parks in ``parking_facilities`` (kind
``compound``; in the demo those car parks split ``parking_spaces`` exactly). Adding both would
double count, so the supply is the *larger* of the two: a compound with only one source keeps it,
and when both exist the more complete count wins. Both figures stay in the table. A car park is
"inside" when its representative point is covered by the compound polygon.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import defaults as D
from .frames import choose_crs, geometries, lonlat_of, num, representative_points, result_frame, text, to_metric
from .params import ParamError
from .result import AnalysisResult

COMPOUND_KIND = "compound"  # parking_facilities.kind of a compound's own car parks


def demand_ratio(build_year: np.ndarray, avg_flat_m2: np.ndarray, *, old_before_year: int, ratio_pre2000: float,
                 small_flat_m2: float, large_flat_m2: float, ratio_small_flat: float, ratio_medium_flat: float,
                 ratio_large_flat: float) -> tuple[np.ndarray, np.ndarray]:
    """Spaces per household and the rule that gave it ("pre-2000", "flat<100", ...)."""
    old = build_year < old_before_year
    newer = build_year >= old_before_year
    small, large = avg_flat_m2 < small_flat_m2, avg_flat_m2 > large_flat_m2
    medium = (avg_flat_m2 >= small_flat_m2) & (avg_flat_m2 <= large_flat_m2)
    ratio = np.full(len(build_year), ratio_pre2000, dtype=float)
    basis = np.full(len(build_year), "unknown era/flat size", dtype=object)
    basis[old] = f"built before {old_before_year}"
    for mask, value, label in ((small, ratio_small_flat, f"flat < {small_flat_m2:g} m²"),
                               (medium, ratio_medium_flat, f"flat {small_flat_m2:g}-{large_flat_m2:g} m²"),
                               (large, ratio_large_flat, f"flat > {large_flat_m2:g} m²")):
        ratio[newer & mask] = value
        basis[newer & mask] = label
    return ratio, basis


def facility_spaces_inside(compounds_m: gpd.GeoDataFrame, facilities_m: gpd.GeoDataFrame | None) -> np.ndarray:
    """Capacity of compound-kind car parks whose representative point lies in each compound."""
    out = np.zeros(len(compounds_m))
    if facilities_m is None or not len(facilities_m) or not len(compounds_m):
        return out
    own = facilities_m[text(facilities_m, "kind") == COMPOUND_KIND]
    if not len(own):
        return out
    points = representative_points(own)
    p_idx, c_idx = shapely.STRtree(geometries(compounds_m)).query(points, predicate="covered_by")
    capacity = np.nan_to_num(num(own, "capacity"))
    np.add.at(out, c_idx, capacity[p_idx])
    return out


@dataclass(frozen=True)
class GapRules:
    """How demand is estimated and compounds ranked (the parking-gaps parameters, see defaults)."""

    old_before_year: int = D.OLD_BEFORE_YEAR.default
    ratio_pre2000: float = D.RATIO_PRE2000.default
    small_flat_m2: float = D.SMALL_FLAT_M2.default
    large_flat_m2: float = D.LARGE_FLAT_M2.default
    ratio_small_flat: float = D.RATIO_SMALL_FLAT.default
    ratio_medium_flat: float = D.RATIO_MEDIUM_FLAT.default
    ratio_large_flat: float = D.RATIO_LARGE_FLAT.default
    use_registered_vehicles: bool = D.USE_REGISTERED_VEHICLES.default
    rank_by: str = D.RANK_BY.default

    @classmethod
    def pick(cls, params: Mapping[str, Any]) -> GapRules:
        """The rules among ``params`` (other keys are left to the caller)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in params.items() if k in names})


def compute_gaps(compounds_m: gpd.GeoDataFrame, facilities_m: gpd.GeoDataFrame | None,
                 rules: GapRules = GapRules()) -> pd.DataFrame:
    """The gap table (index: compound id) for compounds already in a metric CRS; shared by the analyses."""
    r = rules
    if r.small_flat_m2 > r.large_flat_m2:
        raise ParamError(f"small_flat_m2={r.small_flat_m2:g} must not exceed large_flat_m2={r.large_flat_m2:g}")
    households = np.nan_to_num(num(compounds_m, "households"))
    ratio, basis = demand_ratio(num(compounds_m, "build_year"), num(compounds_m, "avg_flat_m2"),
                                old_before_year=r.old_before_year, ratio_pre2000=r.ratio_pre2000,
                                small_flat_m2=r.small_flat_m2, large_flat_m2=r.large_flat_m2,
                                ratio_small_flat=r.ratio_small_flat, ratio_medium_flat=r.ratio_medium_flat,
                                ratio_large_flat=r.ratio_large_flat)
    vehicles = num(compounds_m, "registered_vehicles")
    by_vehicles = ~np.isnan(vehicles) if r.use_registered_vehicles else np.zeros(len(vehicles), bool)
    demand = np.where(by_vehicles, vehicles, np.round(households * ratio, 6))
    attribute = np.nan_to_num(num(compounds_m, "parking_spaces"))
    facilities = facility_spaces_inside(compounds_m, facilities_m)
    supply = np.maximum(attribute, facilities)
    gap = demand - supply
    gap_spaces = np.ceil(np.round(np.maximum(gap, 0.0), 6)).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_100 = np.where(households > 0, 100.0 * gap / households, np.nan)
    table = pd.DataFrame({
        "name": text(compounds_m, "name"),
        "district": text(compounds_m, "district"),
        "street": text(compounds_m, "street"),
        "build_year": pd.array(num(compounds_m, "build_year"), dtype="Int64") if len(compounds_m) else [],
        "households": households.astype(np.int64),
        "demand_source": np.where(by_vehicles, "registered_vehicles", "ratio").astype(object),
        "ratio": ratio,
        "ratio_basis": basis,
        "demand": np.round(demand, 1),
        "spaces_attribute": attribute.astype(np.int64),
        "spaces_facilities": facilities.astype(np.int64),
        "supply": supply.astype(np.int64),
        "gap": np.round(gap, 1),
        "gap_spaces": gap_spaces,
        "gap_per_100_households": np.round(per_100, 2),
    }, index=compounds_m.index)
    key = table["gap"] if r.rank_by == "gap" else table["gap_per_100_households"].fillna(-np.inf)
    order = np.lexsort((table.index.to_numpy(), -key.to_numpy(dtype=float)))
    rank = np.empty(len(table), dtype=np.int64)
    rank[order] = np.arange(1, len(table) + 1)
    table["rank"] = rank
    return table


def parking_gaps(compounds: gpd.GeoDataFrame, parking_facilities: gpd.GeoDataFrame | None = None, *,
                 metric_crs: str | None = None, **rules: Any) -> AnalysisResult:
    """Per compound: demand, supply, gap (spaces; negative = surplus), gap per 100 households, rank.

    ``rules``: the fields of :class:`GapRules`. Part ``compounds`` (polygons), sorted by rank (1 = largest gap).
    """
    crs = choose_crs([compounds], metric_crs)
    compounds_m = to_metric(compounds, crs)
    table = compute_gaps(compounds_m, to_metric(parking_facilities, crs), GapRules(**rules))
    part = result_frame(table, lonlat_of(compounds_m), index_name="id").sort_values("rank")
    short = table["gap_spaces"] > 0
    summary = {
        "compounds": len(table),
        "compounds_with_gap": int(short.sum()),
        "total_gap_spaces": int(table["gap_spaces"].sum()),
        "demand": round(float(table["demand"].sum()), 1),
        "supply": int(table["supply"].sum()),
        "by_registered_vehicles": int((table["demand_source"] == "registered_vehicles").sum()),
    }
    return AnalysisResult({"compounds": part}, summary, crs.to_string())
