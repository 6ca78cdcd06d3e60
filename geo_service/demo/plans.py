"""The demo district's programme: a few dozen renovation plans across two years in every state of the
process, and a handful of shared-parking agreements, so the dashboard (/programme) and the plan
colours of the map have something to show from the first start.

Drawn from their own Generator (seeded from the demo seed), after the other layers: the demo's
other layers, and their digest, do not change.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..catalog import LayerSpec
from ..catalog.validation import validate_frame

YEARS = (2026, 2027)
PLANS_PER_YEAR = 24
STATES = {2026: (["approved", "in_progress", "completed", "accepted", "cancelled", "public_notice"],
                 [0.15, 0.3, 0.25, 0.2, 0.04, 0.06]),
          2027: (["proposed", "consulting", "public_notice", "approved"], [0.35, 0.3, 0.2, 0.15])}
ORDER = ["proposed", "consulting", "public_notice", "approved", "in_progress", "completed", "accepted"]
STAGE_DATES = {"consulting": "consulting_on", "public_notice": "public_notice_on", "approved": "approved_on",
               "in_progress": "started_on", "completed": "completed_on", "accepted": "accepted_on"}
TIERS = (["demonstration", "upgrade", "basic"], [0.15, 0.45, 0.40])
BUDGET = {"demonstration": (250, 600), "upgrade": (80, 250), "basic": (30, 80)}  # 万元
FAVOURED = {"ebike_charging": 4, "fire_safety": 4, "water_drainage": 3, "parking": 3, "greenery": 2,
            "stairwells": 2, "elevators": 1.5, "security": 1.5, "accessibility": 1}
SHARING_KINDS = ("public", "office", "commercial")
AGREEMENT_STATES = ("active", "active", "signed", "negotiating", "proposed", "expired")


def _dates(rng: np.random.Generator, year: int, status: str) -> dict[str, str]:
    """A date for every stage the plan has passed, in order, within its programme year (from the year before)."""
    reached = ORDER[:ORDER.index(status) + 1] if status in ORDER else ORDER[:2]
    day = dt.date(year - 1, 10, 1) + dt.timedelta(days=int(rng.integers(0, 60)))
    out = {}
    for stage in reached[1:]:
        day += dt.timedelta(days=int(rng.integers(20, 75)))
        out[STAGE_DATES[stage]] = day.isoformat()
    return out


def _plan(rng: np.random.Generator, cid: int, year: int, categories: list[str]) -> dict:
    tier = str(rng.choice(TIERS[0], p=TIERS[1]))
    status = str(rng.choice(STATES[year][0], p=STATES[year][1]))
    weights = np.array([FAVOURED.get(c, 0.5) for c in categories])
    chosen = rng.choice(categories, size=int(rng.integers(2, 6)), replace=False, p=weights / weights.sum())
    budget = round(float(rng.uniform(*BUDGET[tier])), 1)
    city = round(budget * float(rng.uniform(0.2, 0.35)), 1)
    owners = round(budget * float(rng.uniform(0.05, 0.2)), 1)
    consulted = status not in ("proposed",)
    return {"compound": cid, "year": year, "tier": tier, "status": status,
            "categories": sorted(chosen.tolist(), key=categories.index),
            "measures": "一小区一方案（演示数据）", "budget": budget, "budget_city": city,
            "budget_district": round(budget - city - owners, 1), "budget_owners": owners,
            "consent_share": round(float(rng.uniform(0.67, 0.96)), 2) if consulted else None,
            "source_id": f"{cid}-{year}", **_dates(rng, year, status)}


def plan_frame(compounds: gpd.GeoDataFrame, spec: LayerSpec, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng([seed, 16])
    eligible = compounds.loc[pd.to_numeric(compounds["build_year"], errors="coerce") < 2001, "id"].astype(int)
    ids = rng.permutation(eligible.to_numpy())
    categories = spec.field("categories").allowed or []
    rows = []
    for k, year in enumerate(YEARS):
        for cid in ids[k * PLANS_PER_YEAR:(k + 1) * PLANS_PER_YEAR]:
            rows.append(_plan(rng, int(cid), year, categories))
    frame = pd.DataFrame(rows, columns=[*spec.field_names])
    frame.insert(0, "id", pd.array(np.arange(1, len(frame) + 1), dtype="Int64"))
    return gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs="EPSG:4326")


def agreement_frame(compounds: gpd.GeoDataFrame, lots: gpd.GeoDataFrame, spec: LayerSpec,
                    seed: int) -> gpd.GeoDataFrame:
    """Each sharing lot with free night spaces, up to six, agrees with the nearest compound within 500 m."""
    rng = np.random.default_rng([seed, 17])
    free = pd.to_numeric(lots["night_free_spaces"], errors="coerce").fillna(0)
    sharing = lots[lots["kind"].isin(SHARING_KINDS) & (free >= 10)]
    metric = compounds.estimate_utm_crs()
    centres = compounds.to_crs(metric).representative_point()
    rows, lines = [], []
    for _, lot in sharing.sample(frac=1.0, random_state=int(rng.integers(1 << 31))).iterrows():
        if len(rows) == len(AGREEMENT_STATES):
            break
        where = gpd.GeoSeries([lot.geometry], crs="EPSG:4326").to_crs(metric).iloc[0]
        dist = centres.distance(where)
        if dist.min() > 500:
            continue
        pos = int(np.argmin(dist.to_numpy()))
        status = AGREEMENT_STATES[len(rows)]
        start = dt.date(2025, 1, 1) + dt.timedelta(days=int(rng.integers(0, 300)))
        end = dt.date(2025, 12, 31) if status == "expired" else dt.date(2028, 12, 31)
        rows.append({"compound": int(compounds["id"].iloc[pos]), "lot": int(lot["id"]),
                     "spaces": int(max(1, min(free[lot.name] // 2, 40))), "weekday_from": "18:00",
                     "weekday_to": "08:00", "weekends": True, "monthly_fee": float(rng.choice([150, 200, 300])),
                     "valid_from": start.isoformat(), "valid_to": end.isoformat(), "status": status,
                     "source_id": f"demo-agreement-{len(rows) + 1}"})
        lines.append(shapely.LineString([compounds.geometry.iloc[pos].representative_point(),
                                         lot.geometry.representative_point()]))
    frame = pd.DataFrame(rows, columns=[*spec.field_names])
    frame.insert(0, "id", pd.array(np.arange(1, len(frame) + 1), dtype="Int64"))
    return gpd.GeoDataFrame(frame, geometry=lines or None, crs="EPSG:4326")


def write_plans(store, frames: dict[str, gpd.GeoDataFrame], seed: int) -> dict[str, int]:
    """Replace the plan layers the store's catalog has with the demo programme; rows per layer."""
    counts: dict[str, int] = {}
    made = {}
    if "renovation_plans" in store.catalog and "compounds" in frames:
        made["renovation_plans"] = plan_frame(frames["compounds"], store.catalog.get("renovation_plans"), seed)
    if "parking_agreements" in store.catalog and {"compounds", "parking_facilities"} <= set(frames):
        made["parking_agreements"] = agreement_frame(frames["compounds"], frames["parking_facilities"],
                                                     store.catalog.get("parking_agreements"), seed)
    for layer, frame in made.items():
        result = validate_frame(frame, store.catalog.get(layer))
        if result.errors:
            raise ValueError(f"demo data for {layer} fails validation: {'; '.join(map(str, result.errors[:5]))}")
        valid = result.valid.copy()
        valid["id"] = frame["id"].to_numpy()
        store.import_frame(layer, valid, mode="replace")
        counts[layer] = len(valid)
    return counts
