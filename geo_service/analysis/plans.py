"""Stored renovation plans beside the analysis' suggestion, so a meeting never confuses the two:
"建议版本 (analysis)" is what renovation-priorities proposes, "计划版本 (plan, status)" what the street
office recorded for the year in ``renovation_plans``."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np

from .tiers import TIER_ZH

STATUS_ZH = {"proposed": "拟定", "consulting": "征询居民意见", "public_notice": "方案公示", "approved": "已批准",
             "in_progress": "实施中", "completed": "已完工", "accepted": "已验收", "cancelled": "已取消"}


def plan_year(year: int) -> int:
    """0 means the current year."""
    return year or dt.date.today().year


def plans_for_year(plans: gpd.GeoDataFrame | None, ids: np.ndarray, year: int) -> dict[str, np.ndarray]:
    """Per compound in ``ids``: the stored plan's id, tier and status for ``year`` (None where none)."""
    n = len(ids)
    out = {"plan_id": np.full(n, None, dtype=object), "plan_tier": np.full(n, None, dtype=object),
           "plan_status": np.full(n, None, dtype=object)}
    if plans is not None and len(plans) and {"compound", "year", "status"} <= set(plans.columns):
        chosen = plans[(plans["year"] == year) & plans["compound"].notna()]
        chosen = chosen.sort_index()
        by_compound = {int(c): (fid, row) for fid, c, row in zip(chosen.index, chosen["compound"],
                                                                 chosen.to_dict("records"), strict=True)}
        for i, cid in enumerate(ids.tolist()):
            found = by_compound.get(int(cid))
            if found is not None:
                out["plan_id"][i] = int(found[0])
                out["plan_tier"][i] = found[1].get("tier")
                out["plan_status"][i] = found[1].get("status")
    out["plan_tier_zh"] = np.array([TIER_ZH.get(t) for t in out["plan_tier"]], dtype=object)
    out["plan_status_zh"] = np.array([STATUS_ZH.get(s) for s in out["plan_status"]], dtype=object)
    return out
