"""A programme's progress for one year, read from the store: the stored plans of the year and every
compound, counted by :func:`geo_service.analysis.programme_progress.count_progress` (the same counting the
printed atlases use; see there for what each figure means)."""

from __future__ import annotations

import pandas as pd

from ..analysis.programme_progress import BUDGETS, DISTRICT, MAX_NAMES, STAGES, Progress, count_progress
from ..catalog import Catalog
from ..catalog.programmes import Programme
from ..store.base import FeatureStore, Filter, Query

__all__ = ["BUDGETS", "DISTRICT", "MAX_NAMES", "STAGES", "Progress", "progress"]


def progress(store: FeatureStore, catalog: Catalog, programme: Programme, year: int, by: str = "street") -> Progress:
    if by not in ("street", DISTRICT):
        raise ValueError(f"by={by!r}: use street or district")
    compounds = pd.DataFrame(store.query("compounds", Query(properties=["name", "street"])).features)
    compounds = compounds.drop(columns=[c for c in compounds.columns if c not in ("name", "street")])
    plans = store.query(programme.layer, Query(filters=[Filter("year", "eq", year)])).features
    categories = catalog.get(programme.layer).field(programme.category_field).values or {}
    return count_progress(plans, compounds, categories, programme, year, by)
