"""A programme's progress for one year, counted from plain frames: per street (or the district) and category,
the target against the compounds whose plan for the year includes the category, by the plan's current status.

``planned`` counts every plan that is not cancelled; ``approved``, ``in_progress``, ``completed`` and
``accepted`` count plans whose status is exactly that now (so a plan is counted once, in the stage it
has reached). Budgets are summed over the plans that are not cancelled, per funding source (万元).

Pure: the plans and compounds come in as frames (from the store in ``planning.progress``, from a report's
gathered data in ``reports``), so the dashboard and the printed atlases count the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from ..catalog.programmes import Programme
from ..catalog.specs import Title

STAGES = ("approved", "in_progress", "completed", "accepted")
BUDGETS = ("budget", "budget_city", "budget_district", "budget_owners")
DISTRICT = "district"
MAX_NAMES = 30


@dataclass
class Progress:
    programme: Programme
    year: int
    by: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    budget: list[dict[str, Any]] = field(default_factory=list)
    without_plan: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)  # per group: plans by stage (not in as_json)

    def as_json(self) -> dict[str, Any]:
        return {"programme": self.programme.id, "name": {"zh": self.programme.name.zh, "en": self.programme.name.en},
                "year": self.year, "by": self.by, "progress": self.rows, "budget": self.budget,
                "without_plan": self.without_plan}

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["street", "category", "category_zh", "target", "planned", *STAGES])


def year_plans(plans: pd.DataFrame, year: int, compounds: pd.DataFrame) -> pd.DataFrame:
    """The plans of ``year`` that are not cancelled, each with its compound's street (plain columns only)."""
    if isinstance(plans, gpd.GeoDataFrame):
        plans = pd.DataFrame(plans.drop(columns=plans.geometry.name))
    if not len(plans):
        plans = pd.DataFrame(columns=["compound", "year", "status", "categories", *BUDGETS])
    plans = plans[(pd.to_numeric(plans["year"], errors="coerce") == year) & (plans["status"] != "cancelled")].copy()
    plans["street"] = compounds["street"].reindex(plans["compound"].astype(int)).to_numpy()
    return plans


def _count(plans: pd.DataFrame, category: str) -> dict[str, int]:
    # .loc with a bool mask: an empty object-typed mask given to [] would select columns, not rows
    has = plans.loc[plans["categories"].map(lambda c: isinstance(c, list) and category in c).astype(bool)]
    return {"planned": len(has), **{s: int((has["status"] == s).sum()) for s in STAGES}}


def count_progress(plans: pd.DataFrame, compounds: pd.DataFrame, categories: Mapping[str, Title],
                   programme: Programme, year: int, by: str = "street") -> Progress:
    """Progress of ``compounds`` (index: id; columns name, street) from ``plans`` (any years; rows with
    compound, year, status, categories, budgets); ``categories``: code -> label, in the order shown.

    ``by="street"`` gives one group per street of ``compounds`` (targets per street), ``"district"`` one
    group for all of them (the district-wide targets)."""
    if by not in ("street", DISTRICT):
        raise ValueError(f"by={by!r}: use street or district")
    plans = year_plans(plans, year, compounds)
    if by == DISTRICT:
        groups = [(DISTRICT, plans, compounds)]
    else:
        streets = sorted({s for s in compounds["street"].dropna()})
        groups = [(s, plans[plans["street"] == s], compounds[compounds["street"] == s]) for s in streets]
    out = Progress(programme, year, by)
    for name, group_plans, group_compounds in groups:
        for code, title in categories.items():
            target = programme.target(year, code, None if name == DISTRICT else name)
            counts = _count(group_plans, code)
            if target is None and not counts["planned"]:
                continue
            out.rows.append({"street": name, "category": code, "category_zh": title.zh, "target": target, **counts})
        sums = {b: round(float(pd.to_numeric(group_plans.get(b), errors="coerce").sum()), 2) for b in BUDGETS}
        out.budget.append({"street": name, "plans": len(group_plans), **sums})
        planned = set(group_plans["compound"].astype(int))
        missing = [int(i) for i in group_compounds.index if int(i) not in planned]
        names = group_compounds.loc[missing, "name"].fillna("").tolist()
        out.without_plan.append({"street": name, "compounds": len(group_compounds), "without_plan": len(missing),
                                 "names": names[:MAX_NAMES]})
        out.statuses.append({"street": name, "plans": len(group_plans),
                             **{s: int((group_plans["status"] == s).sum()) for s in STAGES}})
    return out
