"""Programme targets and progress: the YAML is checked like the catalog, the figures of
/programme/progress equal counts made here from the stored features (both backends), and the
/programme page shows its charts and tables with Chinese labels in headless Chromium, CSP in force."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from geo_service.api.app import create_app
from geo_service.catalog import CatalogError
from geo_service.catalog.programmes import load_programme, load_programmes

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("approved", "in_progress", "completed", "accepted")


def test_the_shipped_programme_loads(catalog):
    (p,) = load_programmes(ROOT / "programmes", catalog)
    assert p.years == (2026, 2027)
    assert p.target(2026, "ebike_charging") == 12 and p.target(2026, "ebike_charging", "梅陇镇") == 4
    assert p.target(2027, "ebike_charging", "莘庄镇") is None


@pytest.mark.parametrize("text, message", [
    ("name: x\nyears: [2026]\ntargets: {2026: {district: {swimming: 3}}}\n", "not a renovation category"),
    ("name: x\nyears: [2026]\ntargets: {2027: {district: {parking: 3}}}\n", "is not one of the programme's years"),
    ("name: x\nyears: [2026]\ntargets: {2026: {district: {parking: -1}}}\n", "whole number"),
    ("name: x\nyears: 2026\n", "years: must be a list"),
    ("name: x\nyears: [2026]\nlayer: nope\n", "names layer 'nope'"),
    ("name: x\nyears: [2026]\nquota: 3\n", "quota: unknown key"),
])
def test_bad_programme_files_name_file_and_key(catalog, tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=message) as err:
        load_programme(path, catalog)
    assert str(path) in str(err.value)


def _expected(store, year: int, by: str) -> dict[tuple[str, str], dict[str, int]]:
    """Counted here, plan by plan, from the stored features."""
    plans = store.frame("renovation_plans")
    compounds = store.frame("compounds")
    out: dict[tuple[str, str], dict[str, int]] = {}
    for _, plan in plans.iterrows():
        if plan["year"] != year or plan["status"] == "cancelled":
            continue
        street = "district" if by == "district" else compounds.loc[int(plan["compound"]), "street"]
        for cat in plan["categories"] or []:
            row = out.setdefault((street, cat), {"planned": 0, **dict.fromkeys(STAGES, 0)})
            row["planned"] += 1
            if plan["status"] in STAGES:
                row[plan["status"]] += 1
    return out


@pytest.mark.parametrize("by", ["street", "district"])
def test_progress_equals_independent_counts(backend, by):
    with TestClient(create_app(backend.settings())) as client:
        for year in (2026, 2027):
            r = client.get("/programme/progress", params={"year": year, "by": by})
            assert r.status_code == 200, r.text
            body = r.json()
            got = {(row["street"], row["category"]): {k: row[k] for k in ("planned", *STAGES)}
                   for row in body["progress"]}
            store = backend.open_store()
            try:
                expected = _expected(store, year, by)
                plans = store.frame("renovation_plans")
                live = plans[(plans["year"] == year) & (plans["status"] != "cancelled")]
                compounds = store.frame("compounds")
            finally:
                store.close()
            assert expected  # the demo ships a programme
            assert {k: v for k, v in got.items() if v["planned"]} == expected
            total = sum(b["budget"] for b in body["budget"])
            assert total == pytest.approx(live["budget"].sum(), abs=0.05 * len(body["budget"]))
            without = sum(w["without_plan"] for w in body["without_plan"])
            assert without == len(compounds) - live["compound"].nunique()
            csv = client.get("/programme/progress", params={"year": year, "by": by, "f": "csv"})
            table = pd.read_csv(io.StringIO(csv.text))
            assert table["planned"].sum() == sum(v["planned"] for v in expected.values())
        assert client.get("/programme/progress", params={"year": 1999}).status_code == 400


def test_targets_appear_beside_the_counts(backend):
    with TestClient(create_app(backend.settings())) as client:
        rows = client.get("/programme/progress", params={"year": 2026, "by": "district"}).json()["progress"]
    by_cat = {r["category"]: r for r in rows}
    assert by_cat["ebike_charging"]["target"] == 12
    assert by_cat["ebike_charging"]["category_zh"] == "电瓶车集中充电设施改造"


sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")
def test_dashboard_in_chromium(demo_gpkg, tmp_path):
    from .servers import running_server

    gpkg = tmp_path / "demo.gpkg"
    shutil.copy(demo_gpkg, gpkg)
    env = {"GEO_SERVICE_GPKG": str(gpkg), "GEO_SERVICE_STATIC_MAPS_DIR": str(tmp_path / "maps"),
           "NO_PROXY": "127.0.0.1,localhost"}
    with running_server(env, log=tmp_path / "server.log") as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(locale="zh-CN")
            page.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                                 "e => window.__csp.push(e.violatedDirective));")
            page.goto(f"{base}/programme?year=2026")
            assert "年度进展" in page.title() or "年度进展" in page.inner_text("h1")
            charts = page.locator("svg.chart")
            assert charts.count() >= 2
            box = charts.first.bounding_box()
            assert box["width"] > 100 and box["height"] > 20
            assert page.locator("svg.chart rect").count() > 5
            labels = page.locator("svg.chart text").all_text_contents()
            assert "电瓶车集中充电设施改造" in labels and "公共消防设施改造" in labels
            headers = page.locator("table.progress th").all_inner_texts()
            assert {"改造类别", "目标", "已列入方案", "已验收"} <= set(headers)
            assert "业主出资" in page.inner_text("table.budget")
            assert "尚无方案" in page.inner_text("table.without")
            assert page.evaluate("window.__csp") == []

            # the map's compound panel: suggestion and stored plan side by side; colouring by plan status
            year = dt.date.today().year
            plans = page.request.get(f"{base}/collections/renovation_plans/items?year={year}&limit=1").json()
            plan = plans["features"][0]["properties"]
            page.goto(f"{base}/map/compounds/{plan['compound']}")
            planned = page.locator(".cgis-panel .cgis-plan tr[data-plan=planned]")
            planned.wait_for(timeout=20_000)
            status_zh = {"proposed": "拟定", "consulting": "征询居民意见", "public_notice": "方案公示",
                         "approved": "已批准", "in_progress": "实施中", "completed": "已完工", "accepted": "已验收",
                         "cancelled": "已取消"}[plan["status"]]
            assert "计划版本" in planned.inner_text() and status_zh in planned.inner_text()
            assert "建议版本" in page.locator(".cgis-panel .cgis-plan tr[data-plan=suggested]").inner_text()
            page.goto(f"{base}/map?color_by=plan-status")
            page.locator(".cgis-legend-details").first.wait_for(timeout=20_000)
            assert "计划版本状态" in page.content()
        finally:
            browser.close()
