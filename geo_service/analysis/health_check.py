"""The city health check (城市体检): the housing and compound indicators this data answers, per street and district.

Since 2023 every city runs a yearly health check (住房和城乡建设部《关于全面开展城市体检工作的指导意见》
建科〔2023〕75号, with its 城市体检基础指标体系 of housing, compound/community, block and city
indicators). The figures here are counts and shares over compounds, each taken from the analysis
that computes it, so the table says the same as the parking, charging, waterlogging, hydrant and
life-circle results. Part ``indicators`` names each column's definition and source.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from . import defaults as D
from .charging_coverage import charging_coverage
from .frames import choose_crs, num, result_frame, text, to_metric
from .hydrant_coverage import hydrant_coverage
from .life_circle import life_circle
from .params import Param
from .parking_gaps import parking_gaps
from .result import AnalysisResult
from .waterlogging import waterlogging

_SYSTEM = "建科〔2023〕75号 城市体检基础指标体系"
# column, zh, en, unit, definition, source
INDICATORS = (
    ("compounds", "小区数", "Compounds", "compounds", "compounds in the area", "compounds layer"),
    ("households", "户数", "Households", "households", "households of those compounds", "compounds.households"),
    ("parking_gap_spaces", "停车泊位缺口", "Parking-space gap", "spaces",
     "sum over compounds of demand minus supply where positive (parking-gaps analysis)",
     f"{_SYSTEM}, compound level: 停车泊位缺口数; demand ratios per STANDARDS.md"),
    ("compounds_with_parking_gap", "存在停车缺口的小区数", "Compounds with a parking gap", "compounds",
     "compounds whose parking gap is above zero", "parking-gaps analysis"),
    ("compounds_without_ebike_charging", "未配建电动自行车充电设施的小区数", "Compounds without e-bike charging",
     "compounds", "compounds no counted charging site serves (charging-coverage: no_charging)",
     f"{_SYSTEM}, compound level: 未配建电动自行车充电设施的小区数量"),
    ("compounds_waterlogged", "存在积水点的小区数", "Compounds with waterlogging above the standard", "compounds",
     "compounds with at least one point at or over depth_cm and duration_min (waterlogging: waterlogged_points)",
     f"{_SYSTEM}, city level: 城市内涝积水点; thresholds GB 50014 (15 cm) and local practice (30 min)"),
    ("old_compounds", "老旧小区数", "Old compounds", "compounds", "compounds built before old_before_year (2000)",
     "国办发〔2020〕23号: compounds built before the end of 2000"),
    ("old_renovated", "已完成改造的老旧小区数", "Old compounds renovated", "compounds",
     "old compounds whose renovation_status is completed", "compounds.renovation_status"),
    ("old_renovating_or_planned", "改造中或已列入计划的老旧小区数", "Old compounds in progress or planned",
     "compounds", "old compounds whose renovation_status is in_progress or planned", "compounds.renovation_status"),
    ("share_old_renovated_or_planned", "老旧小区改造(含计划)比例", "Share of old compounds renovated or planned",
     "share", "(old_renovated + old_renovating_or_planned) / old_compounds",
     f"{_SYSTEM}, compound level: 需要进行改造的老旧小区"),
    ("hydrant_covered_share", "消火栓保护覆盖率", "Hydrant coverage", "share",
     "compound area within radius_m of a working hydrant / compound area (hydrant-coverage)",
     "GB 50974-2014 §7.2.5 / §7.3.3 (150 m); 城市体检 city level: 消防"),
    ("compounds_not_fully_covered", "消火栓未全覆盖的小区数", "Compounds not fully covered by hydrants", "compounds",
     "compounds with covered_share below 1", "hydrant-coverage analysis"),
    ("share_households_15min", "15分钟生活圈覆盖率(户)", "15-minute life-circle coverage (households)", "share",
     "households in compounds reaching every 15-minute category within circle_15_m / households",
     "GB 50180-2018 Table 3.0.4, Appendix B; life-circle analysis"),
    ("share_households_complete", "完整社区覆盖率(户)", "Complete-community coverage (households)", "share",
     "households in compounds meeting the 5-, 10- and 15-minute circles in full / households",
     f"{_SYSTEM}, block level: 完整社区覆盖率; 《完整居住社区建设标准(试行)》 2020"),
)
_COUNTS = ("compounds", "households", "parking_gap_spaces", "compounds_with_parking_gap",
           "compounds_without_ebike_charging", "compounds_waterlogged", "old_compounds", "old_renovated",
           "old_renovating_or_planned", "compounds_not_fully_covered")


def _pick(params: dict[str, Any], spec: Iterable[Param]) -> dict[str, Any]:
    names = {p.name for p in spec}
    return {k: v for k, v in params.items() if k in names}


def compound_flags(compounds: gpd.GeoDataFrame, parking_facilities: gpd.GeoDataFrame,
                   ebike_charging_sites: gpd.GeoDataFrame, waterlogging_points: gpd.GeoDataFrame,
                   fire_hydrants: gpd.GeoDataFrame, service_facilities: gpd.GeoDataFrame | None,
                   roads: gpd.GeoDataFrame | None, crs: str, params: dict[str, Any]) -> pd.DataFrame:
    """One row per compound (metric frames): what each indicator counts, from the analyses."""
    ids = compounds.index.to_numpy()
    gaps = parking_gaps(compounds, parking_facilities, metric_crs=crs, **_pick(params, D.PARKING_GAPS)).main
    charging = charging_coverage(compounds, ebike_charging_sites, metric_crs=crs,
                                 **_pick(params, D.CHARGING_COVERAGE)).main
    water = waterlogging(compounds, waterlogging_points, metric_crs=crs, **_pick(params, D.WATERLOGGING)).main
    fire = hydrant_coverage(compounds, fire_hydrants, metric_crs=crs, **_pick(params, D.HYDRANT_COVERAGE)).main
    year = num(compounds, "build_year")
    status = text(compounds, "renovation_status")
    old = year < params.get("old_before_year", D.OLD_BEFORE_YEAR.default)
    gap = gaps["gap_spaces"].reindex(ids).to_numpy(float)
    area = fire["area_m2"].reindex(ids).to_numpy(float)
    flags = pd.DataFrame({
        "district": pd.Series(text(compounds, "district")).fillna("").to_numpy(),
        "street": pd.Series(text(compounds, "street")).fillna("").to_numpy(),
        "compounds": 1,
        "households": np.nan_to_num(num(compounds, "households")),
        "parking_gap_spaces": np.nan_to_num(gap),
        "compounds_with_parking_gap": np.nan_to_num(gap) > 0,
        "compounds_without_ebike_charging": charging["no_charging"].reindex(ids).to_numpy(bool),
        "compounds_waterlogged": water["waterlogged_points"].reindex(ids).to_numpy(float) > 0,
        "old_compounds": old,
        "old_renovated": old & (status == "completed"),
        "old_renovating_or_planned": old & np.isin(status, ["in_progress", "planned"]),
        "area_m2": area,
        "covered_m2": area * fire["covered_share"].reindex(ids).to_numpy(float),
        "compounds_not_fully_covered": fire["covered_share"].reindex(ids).to_numpy(float) < 1,
    }, index=ids)
    if service_facilities is not None:
        circle = life_circle(compounds, service_facilities, roads, metric_crs=crs,
                             **_pick(params, D.LIFE_CIRCLE)).main.reindex(ids)
        flags["complete_15"] = circle["complete_15"].to_numpy(bool)
        flags["complete"] = circle["complete"].to_numpy(bool)
    return flags


def _aggregate(flags: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    hh = flags["households"]
    data = flags.assign(**{f"hh_{k}": hh * flags[k] for k in ("complete_15", "complete") if k in flags})
    sums = data.groupby(keys, sort=True).sum(numeric_only=True) if keys else data.sum(numeric_only=True).to_frame().T
    out = sums[list(_COUNTS)].round(0).astype(np.int64)
    renovating = out["old_renovated"] + out["old_renovating_or_planned"]
    out["share_old_renovated_or_planned"] = np.round(renovating / out["old_compounds"].replace(0, np.nan), 4)
    out["hydrant_covered_share"] = np.round(sums["covered_m2"] / sums["area_m2"].replace(0, np.nan), 4)
    for key, column in (("complete_15", "share_households_15min"), ("complete", "share_households_complete")):
        out[column] = (np.round(sums[f"hh_{key}"] / sums["households"].replace(0, np.nan), 4)
                       if f"hh_{key}" in sums else np.nan)
    return out.reset_index() if keys else out


def health_check(compounds: gpd.GeoDataFrame, parking_facilities: gpd.GeoDataFrame,
                 ebike_charging_sites: gpd.GeoDataFrame, waterlogging_points: gpd.GeoDataFrame,
                 fire_hydrants: gpd.GeoDataFrame, service_facilities: gpd.GeoDataFrame | None = None,
                 roads: gpd.GeoDataFrame | None = None, *, metric_crs: str | None = None,
                 **params: Any) -> AnalysisResult:
    """Parts: ``streets`` (one row per district and street), ``districts`` (per district, and a last row
    ``(all)`` for the whole data) and ``indicators`` (each column's titles, unit, definition, source)."""
    unknown = set(params) - {p.name for p in D.HEALTH_CHECK}
    if unknown:
        raise TypeError(f"health_check: unknown parameters {sorted(unknown)}")
    metric = choose_crs([compounds], metric_crs)
    crs = metric.to_string()
    frames = [to_metric(f, metric) for f in (compounds, parking_facilities, ebike_charging_sites,
                                             waterlogging_points, fire_hydrants, service_facilities, roads)]
    flags = compound_flags(*frames, crs, params)
    streets = _aggregate(flags, ["district", "street"])
    districts = _aggregate(flags, ["district"])
    total = _aggregate(flags, []).assign(district="(all)")
    districts = pd.concat([districts, total[districts.columns]], ignore_index=True)
    table = pd.DataFrame(INDICATORS, columns=["indicator", "title_zh", "title_en", "unit", "definition", "source"])
    parts = {name: result_frame(frame.to_dict("list"), None, index=pd.RangeIndex(len(frame)))
             for name, frame in (("streets", streets), ("districts", districts), ("indicators", table))}
    summary = {k: (None if pd.isna(v) else (int(v) if k in _COUNTS else float(v)))
               for k, v in total.drop(columns="district").iloc[0].items()}
    return AnalysisResult(parts, summary, crs)
