"""Renovation priorities (美丽家园 "一小区一方案"): needs, score, eligibility and a proposed tier per compound.

The needs come from the other analyses, each as a component between 0 and 1:

* ``c_parking`` (category 4): the gap left after shared parking (or the raw gap, ``net_of_sharing``
  false) as a share of demand;
* ``c_drainage`` (category 6): waterlogging severity from causes the compound can fix (internal
  drainage, other), normalised across compounds; external backflow is listed for referral;
* ``c_fire`` (category 11): the share of the compound not within reach of a working hydrant;
* ``c_charging`` (category 12): how far ports per 100 households fall short of the target.

score = 100 x sum(weight x component) / sum(weights); every component is its own column, so the
score can be checked by hand. A category goes on a compound's plan when its component reaches
``need_threshold``, and also when: a waterlogged point with an internal cause is in or near it (6),
a hydrant inside it needs repair (11), a charging site serving it has no sprinkler (12).
Eligibility is by build year; tiers are proposed street by street (:mod:`.tiers`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np

from . import defaults as D
from .charging_coverage import charging_coverage
from .frames import choose_crs, num, result_frame, text, to_metric
from .hydrant_coverage import hydrant_coverage
from .labels import CATEGORIES
from .params import Param
from .parking_gaps import parking_gaps
from .plans import plan_year as _plan_year
from .plans import plans_for_year
from .result import AnalysisResult
from .shared_parking import shared_parking
from .tiers import TIER_ZH, TIERS, propose_tiers
from .waterlogging import waterlogging

COMPONENTS = ("parking", "drainage", "fire", "charging")
COMPONENT_CATEGORY = {"parking": 4, "drainage": 6, "fire": 11, "charging": 12}


def _pick(params: dict[str, Any], spec: Iterable[Param]) -> dict[str, Any]:
    names = {p.name for p in spec}
    return {k: v for k, v in params.items() if k in names}


def _categories(needs: dict[int, np.ndarray], n: int, lang: int) -> np.ndarray:
    labels = [[] for _ in range(n)]
    for code in sorted(needs):
        for i in np.flatnonzero(needs[code]):
            labels[i].append(f"{code} {CATEGORIES[code][lang]}")
    return np.array(["; ".join(x) for x in labels], dtype=object)


def renovation_priorities(compounds: gpd.GeoDataFrame, parking_facilities: gpd.GeoDataFrame,
                          fire_hydrants: gpd.GeoDataFrame, ebike_charging_sites: gpd.GeoDataFrame,
                          waterlogging_points: gpd.GeoDataFrame, roads: gpd.GeoDataFrame | None = None,
                          parking_agreements: gpd.GeoDataFrame | None = None,
                          renovation_plans: gpd.GeoDataFrame | None = None, *,
                          weight_parking: float = D.WEIGHT_PARKING.default,
                          weight_drainage: float = D.WEIGHT_DRAINAGE.default,
                          weight_fire: float = D.WEIGHT_FIRE.default,
                          weight_charging: float = D.WEIGHT_CHARGING.default,
                          eligible_before_year: int = D.ELIGIBLE_BEFORE_YEAR.default,
                          demonstration_share: float = D.DEMONSTRATION_SHARE.default,
                          upgrade_share: float = D.UPGRADE_SHARE.default,
                          need_threshold: float = D.NEED_THRESHOLD.default,
                          net_of_sharing: bool = D.NET_OF_SHARING.default,
                          plan_year: int = D.PLAN_YEAR.default,
                          metric_crs: str | None = None, **analysis_params: Any) -> AnalysisResult:
    """The plan table. ``analysis_params``: parameters of the analyses it runs (e.g. ``radius_m``).

    Parts: ``compounds`` (polygons, by street, tier and rank) and ``streets`` (tier counts per street).
    Beside the suggested ``tier`` stand the stored plan's ``plan_tier`` and ``plan_status`` for ``plan_year``.
    """
    unknown = set(analysis_params) - {p.name for p in D.RENOVATION_PRIORITIES}
    if unknown:
        raise TypeError(f"renovation_priorities: unknown parameters {sorted(unknown)}")
    metric = choose_crs([compounds], metric_crs)
    crs = metric.to_string()
    # convert every layer once; the analyses below find them prepared
    compounds, parking_facilities, fire_hydrants, ebike_charging_sites, waterlogging_points, roads = (
        to_metric(frame, metric) for frame in (compounds, parking_facilities, fire_hydrants, ebike_charging_sites,
                                               waterlogging_points, roads))
    base = compounds
    n, ids = len(base), base.index.to_numpy()

    gaps = parking_gaps(compounds, parking_facilities, metric_crs=crs,
                        **_pick(analysis_params, D.PARKING_GAPS)).main.reindex(ids)
    gap = gaps["gap_spaces"].to_numpy(dtype=float)
    shared = np.zeros(n)
    if net_of_sharing:
        plan = shared_parking(compounds, parking_facilities, roads, parking_agreements, metric_crs=crs,
                              **_pick(analysis_params, D.SHARED_PARKING))
        shared = plan["unserved"]["served"].reindex(ids).fillna(0).to_numpy(dtype=float)
    demand = gaps["demand"].to_numpy(dtype=float)
    c_parking = np.clip(np.divide(gap - shared, demand, out=np.zeros(n), where=demand > 0), 0, 1)

    water = waterlogging(compounds, waterlogging_points, metric_crs=crs,
                         **_pick(analysis_params, D.WATERLOGGING)).main.reindex(ids)
    c_drainage = water["severity_internal"].to_numpy(dtype=float)

    fire = hydrant_coverage(compounds, fire_hydrants, metric_crs=crs,
                            **_pick(analysis_params, D.HYDRANT_COVERAGE)).main.reindex(ids)
    c_fire = np.clip(1.0 - fire["covered_share"].to_numpy(dtype=float), 0, 1)

    charging = charging_coverage(compounds, ebike_charging_sites, metric_crs=crs,
                                 **_pick(analysis_params, D.CHARGING_COVERAGE)).main.reindex(ids)
    target = charging["target_per_100_households"].to_numpy(dtype=float)
    per_100 = charging["ports_per_100_households"].to_numpy(dtype=float)
    c_charging = np.where(np.isnan(per_100) | (target <= 0), 0.0,
                          np.clip(1.0 - np.divide(per_100, target, out=np.ones(n), where=target > 0), 0, 1))

    components = {"parking": c_parking, "drainage": c_drainage, "fire": c_fire, "charging": c_charging}
    weights = {"parking": weight_parking, "drainage": weight_drainage, "fire": weight_fire,
               "charging": weight_charging}
    total_weight = sum(weights.values())
    score = sum(weights[k] * components[k] for k in COMPONENTS) / total_weight * 100 if total_weight else np.zeros(n)
    score = np.round(score, 2)

    needs = {COMPONENT_CATEGORY[k]: components[k] >= need_threshold for k in COMPONENTS}
    needs[6] = needs[6] | (water["waterlogged_internal"].to_numpy() > 0)
    needs[11] = needs[11] | (fire["broken_inside"].to_numpy() > 0)
    needs[12] = needs[12] | (charging["sites_without_sprinkler"].to_numpy() > 0)

    build_year = num(base, "build_year")
    eligible = build_year < eligible_before_year
    street = text(base, "street")
    tier, street_rank, streets = propose_tiers(street, score, eligible, ids, demonstration_share, upgrade_share)

    table = {
        "name": text(base, "name"),
        "district": text(base, "district"),
        "street": street,
        "build_year": gaps["build_year"].to_numpy(),
        "households": gaps["households"].to_numpy(),
        "renovation_status": text(base, "renovation_status"),
        "eligible": eligible,
        "tier": tier,
        "tier_zh": np.array([TIER_ZH.get(t) for t in tier], dtype=object),
        **plans_for_year(renovation_plans, ids, _plan_year(plan_year)),
        "street_rank": street_rank,
        "score": score,
        **{f"c_{k}": np.round(components[k], 4) for k in COMPONENTS},
        "categories": _categories(needs, n, 0),
        "categories_en": _categories(needs, n, 1),
        "parking_gap_spaces": gap.astype(np.int64),
        "shared_spaces": shared.astype(np.int64),
        "uncovered_share": np.round(c_fire, 4),
        "broken_inside": fire["broken_inside"].to_numpy(),
        "waterlogged_points": water["waterlogged_points"].to_numpy(),
        "external_backflow_points": water["cause_external_backflow"].to_numpy(),
        "ports_per_100_households": per_100,
        "sites_without_sprinkler": charging["sites_without_sprinkler"].to_numpy(),
    }
    tier_order = np.array([TIERS.index(t) if t is not None else len(TIERS) for t in tier])
    part = result_frame(table, gaps.geometry.to_numpy(dtype=object), index=base.index)
    part = part.iloc[np.lexsort((ids, -score, street_rank, tier_order, np.array([s or "" for s in street])))]
    summary = {
        "compounds": n,
        "plan_year": _plan_year(plan_year),
        "eligible": int(eligible.sum()),
        **{tier_name: int((tier == tier_name).sum()) for tier_name in TIERS},
        "streets": len(streets),
        "streets_missing_quota": int((~streets["quotas_met"]).sum()) if len(streets) else 0,
        **{f"needs_{code}": int(needs[code].sum()) for code in sorted(needs)},
        "weights": weights,
    }
    streets = result_frame(streets.set_index("street"), None)
    return AnalysisResult({"compounds": part, "streets": streets}, summary, crs)
