"""The compound page of the report shows the analysis' suggested tier and the stored plan's tier and
status side by side ("建议版本" / "计划版本"), checked in the PDF's text."""

from __future__ import annotations

import datetime as dt

from geo_service.analysis.registry import get
from geo_service.analysis.runner import run_on_store
from geo_service.reports.data import Scope
from geo_service.reports.pdf import build_report
from geo_service.store.base import Filter, Query
from tests.test_reports import page_texts, settings, store  # noqa: F401 - fixtures


def _eligible_compound(store) -> int:  # noqa: F811
    ranked = run_on_store(get("renovation-priorities"), store)["compounds"]
    return int(ranked.index[ranked["eligible"].astype(bool)][0])


def test_compound_page_shows_both_tiers(store, settings):  # noqa: F811
    year = dt.date.today().year
    cid = _eligible_compound(store)
    mine = store.query("renovation_plans", Query(filters=[Filter("compound", "eq", cid)])).features
    for fid in mine.index:
        store.delete("renovation_plans", int(fid))

    out = build_report(store, settings, Scope("compound", str(cid)))
    (text,) = page_texts(out.path)
    assert "建议版本" in text and f"计划版本：{year} 年度尚无方案" in text

    store.create("renovation_plans", {"compound": cid, "year": year, "tier": "upgrade", "status": "in_progress",
                                      "categories": ["parking"]}, None, actor="test")
    out = build_report(store, settings, Scope("compound", str(cid)))
    (text,) = page_texts(out.path)
    flat = "".join(text.split())
    suggested = flat.index("建议版本：")
    assert flat.index(f"计划版本：提升版（实施中，{year}年度）") > suggested
