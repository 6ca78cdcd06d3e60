"""``plan draft`` on the demo district, both stores: proposed plans for the compounds the analysis gives
a tier, proposed agreements for its arrangements, nothing new on the second run."""

from __future__ import annotations

from geo_service.analysis.registry import get
from geo_service.analysis.runner import run_on_store
from geo_service.planning.draft import draft
from geo_service.store.base import Filter, Query


def test_draft_twice_creates_nothing_the_second_time(backend):
    store = backend.open_store()
    try:
        year = 2035
        first = draft(store, year)
        ranked = run_on_store(get("renovation-priorities"), store, None, {"plan_year": year})["compounds"]
        tiered = {int(i) for i, t in ranked["tier"].items() if isinstance(t, str)}
        plans = store.query("renovation_plans", Query(filters=[Filter("year", "eq", year)])).features
        assert first.plans_created == len(tiered) - first.plans_existing > 0
        assert tiered <= set(plans["compound"].astype(int))
        assert set(plans["status"]) == {"proposed"}
        assert set(plans["source_id"]) == {f"{c}-{year}" for c in plans["compound"]}
        assert first.agreements_created > 0
        agreements = store.frame("parking_agreements")
        assert (agreements.geometry.geom_type == "LineString").all()
        history = store.history("renovation_plans", int(plans.index[-1]))
        assert history[0]["actor"] == "plan draft"

        second = draft(store, year)
        assert (second.plans_created, second.agreements_created) == (0, 0)
        assert store.count("renovation_plans", Query(filters=[Filter("year", "eq", year)])) == len(plans)
    finally:
        store.close()


def test_draft_for_one_street(backend):
    store = backend.open_store()
    try:
        street = store.frame("compounds")["street"].dropna().iloc[0]
        done = draft(store, 2036, street)
        plans = store.query("renovation_plans", Query(filters=[Filter("year", "eq", 2036)])).features
        streets = store.frame("compounds").loc[plans["compound"].astype(int), "street"]
        assert done.plans_created == len(plans) and set(streets) == {street}
    finally:
        store.close()


def test_priorities_show_the_stored_plan_beside_the_suggestion(backend):
    store = backend.open_store()
    try:
        ranked = run_on_store(get("renovation-priorities"), store, None, {"plan_year": 2026})
        plans = store.query("renovation_plans", Query(filters=[Filter("year", "eq", 2026)])).features
        table = ranked["compounds"]
        assert ranked.summary["plan_year"] == 2026 and len(plans) > 0
        for fid, plan in plans.iterrows():
            row = table.loc[int(plan["compound"])]
            assert (row["plan_id"], row["plan_tier"], row["plan_status"]) == (fid, plan["tier"], plan["status"])
        unplanned = table.drop(index=plans["compound"].astype(int))
        assert unplanned["plan_status"].isna().all()
    finally:
        store.close()
