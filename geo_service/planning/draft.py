"""``geo-service plan draft``: proposed plans and agreements from the current analyses.

For a programme year, every eligible compound that renovation-priorities gives a tier, and that has no
plan for that year, gets a plan in state ``proposed`` with the suggested tier and the categories its
needs call for. Every compound -> lot arrangement of shared-parking without an agreement between the
two (one that is still open: not expired or terminated) becomes a proposed agreement for the year.
Both layers are written in one audited transaction each; running it again creates nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..analysis.registry import get
from ..analysis.runner import run_on_store
from ..catalog import SOURCE_ID
from ..store.base import FeatureChanges, FeatureStore, Filter, NewFeature, Query, validate_feature

PLANS, AGREEMENTS = "renovation_plans", "parking_agreements"
CLOSED_AGREEMENTS = ("expired", "terminated")
ACTOR = "plan draft"


@dataclass
class DraftSummary:
    year: int
    plans_created: int
    agreements_created: int
    plans_existing: int
    agreements_existing: int


def category_values(codes_text: str | None, allowed: list[str]) -> list[str]:
    """'4 停车设施; 12 电瓶车充电' -> the list field's values (the YAML lists the 15 categories in order)."""
    out = []
    for part in (codes_text or "").split(";"):
        head = part.strip().split(" ", 1)[0]
        if head.isdigit() and 1 <= int(head) <= len(allowed):
            out.append(allowed[int(head) - 1])
    return out


def _in_street(frame: pd.DataFrame, street: str | None) -> pd.DataFrame:
    return frame if street is None else frame[frame["street"] == street]


def draft_plans(store: FeatureStore, year: int, street: str | None,
                settings_params: Mapping[str, Mapping[str, Any]] | None, metric_crs: str | None) -> tuple[int, int]:
    """(created, already planned) for the year."""
    spec = store.catalog.get(PLANS)
    ranked = run_on_store(get("renovation-priorities"), store, settings_params, {"plan_year": year}, metric_crs)
    table = _in_street(ranked["compounds"], street)
    base = store.version(PLANS)
    have = set(store.query(PLANS, Query(filters=[Filter("year", "eq", year)], properties=["compound"]))
               .features["compound"].dropna().astype(int).tolist())
    allowed = spec.field("categories").allowed or []
    inserts = []
    for cid, row in table.iterrows():
        if row["tier"] is None or pd.isna(row["tier"]) or int(cid) in have:
            continue
        props = {"compound": int(cid), "year": year, "tier": row["tier"], "status": "proposed",
                 "categories": category_values(row["categories"], allowed) or None,
                 "measures": f"draft from renovation-priorities (score {row['score']})",
                 SOURCE_ID: f"{int(cid)}-{year}"}  # the key an imported sheet gets (key_fields)
        clean, _ = validate_feature(spec, props, None, partial=False, service_area=store.service_area)
        inserts.append(NewFeature(clean, None))
    if inserts:
        store.apply_changes(PLANS, FeatureChanges(base_version=base, inserts=inserts, actor=ACTOR))
    return len(inserts), len(have)


def draft_agreements(store: FeatureStore, year: int, street: str | None,
                     settings_params: Mapping[str, Mapping[str, Any]] | None,
                     metric_crs: str | None) -> tuple[int, int]:
    spec = store.catalog.get(AGREEMENTS)
    plan = run_on_store(get("shared-parking"), store, settings_params, {}, metric_crs)
    arrangements = _in_street(plan["arrangements"], street)
    base = store.version(AGREEMENTS)
    stored = store.query(AGREEMENTS, Query(properties=["compound", "lot", "status"])).features
    open_pairs = {(int(c), int(lot)) for c, lot, s in zip(stored["compound"], stored["lot"], stored["status"],
                                                           strict=True) if s not in CLOSED_AGREEMENTS}
    inserts = []
    for _, row in arrangements.iterrows():
        pair = (int(row["compound_id"]), int(row["lot_id"]))
        if pair in open_pairs:
            continue
        props = {"compound": pair[0], "lot": pair[1], "spaces": int(row["spaces"]), "status": "proposed",
                 "weekday_from": "17:00", "weekday_to": "08:00", "weekends": True,
                 "valid_from": f"{year}-01-01", "valid_to": f"{year}-12-31",
                 SOURCE_ID: f"draft-{year}-{pair[0]}-{pair[1]}"}
        clean, geom = validate_feature(spec, props, row.geometry, partial=False, service_area=store.service_area)
        inserts.append(NewFeature(clean, geom))
        open_pairs.add(pair)
    if inserts:
        store.apply_changes(AGREEMENTS, FeatureChanges(base_version=base, inserts=inserts, actor=ACTOR))
    return len(inserts), len(open_pairs) - len(inserts)


def draft(store: FeatureStore, year: int, street: str | None = None,
          settings_params: Mapping[str, Mapping[str, Any]] | None = None,
          metric_crs: str | None = None) -> DraftSummary:
    plans, planned = draft_plans(store, year, street, settings_params, metric_crs)
    agreements, agreed = draft_agreements(store, year, street, settings_params, metric_crs)
    return DraftSummary(year, plans, agreements, planned, agreed)
