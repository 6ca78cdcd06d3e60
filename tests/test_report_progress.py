"""The street and district atlases end with a programme progress page for the programme's current year.

Its figures are read back from the PDF (pdftotext, page by page) and compared with counts made here from
the stored renovation_plans features and the programme YAML read directly: per category the target and
the plans by stage, budget totals by funding source, the compounds still without a plan and, for a
district, the per-street table. The street atlas is built on both stores, the rest on the GeoPackage
(as the other report tests are).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from geo_service.reports.data import Scope
from geo_service.reports.pdf import build_report
from geo_service.settings import default_programmes_dir
from geo_service.store.base import Filter, Query
from tests.test_reports import ink_share, move, settings, store  # noqa: F401 - fixtures

STAGES = ("approved", "in_progress", "completed", "accepted")
SOURCES = {"budget": "预算", "budget_city": "市级资金", "budget_district": "区级资金", "budget_owners": "业主出资"}
PROGRAMME = default_programmes_dir() / "minhang_meili_jiayuan.yaml"
AMOUNT = re.compile(r"\d{1,3}(,\d{3})*(\.\d?[1-9])?")  # 1,234.5 — thousands separated, no trailing zeros


def page_texts(path: Path, pages: int) -> list[str]:
    return [subprocess.run(["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(path), "-"], check=True,
                           capture_output=True, text=True).stdout for n in range(1, pages + 1)]


def after(text: str, label: str, n: int) -> list[str]:
    """The ``n`` words following the word ``label`` on its line of the page."""
    for line in text.splitlines():
        words = line.split()
        if label in words:
            i = words.index(label)
            return words[i + 1:i + 1 + n]
    raise AssertionError(f"{label!r} is not on the page:\n{text}")


def after_phrase(text: str, phrase: str, n: int) -> list[str]:
    """The ``n`` words following ``phrase`` (which may hold spaces) on the first line holding it."""
    for line in text.splitlines():
        if phrase in line:
            return line.split(phrase, 1)[1].split()[:n]
    raise AssertionError(f"{phrase!r} is not on the page:\n{text}")


def progress_page(path: Path, pages: int) -> str:
    """The one page whose title says 年度进度; it is the last one."""
    texts = page_texts(path, pages)
    found = [i for i, t in enumerate(texts) if "年度进度" in t]
    assert found == [pages - 1], f"progress page(s) at {found}, expected only the last page {pages}"
    return texts[-1]


def programme_targets(street: str | None) -> tuple[int, dict[str, int]]:
    """(current year, category -> target) read from the YAML itself: the dashboard's year is the last."""
    raw = yaml.safe_load(PROGRAMME.read_text(encoding="utf-8"))
    year = raw["years"][-1]
    block = raw["targets"].get(year, {})
    return year, (block.get("district") or {}) if street is None else (block.get("streets") or {}).get(street, {})


def live_plans(store, year: int, ids: set[int]) -> list[dict]:  # noqa: F811
    plans = store.frame("renovation_plans")
    return [row for _, row in plans.iterrows()
            if int(row["year"]) == year and row["status"] != "cancelled" and int(row["compound"]) in ids]


def expected_rows(plans: list[dict], targets: dict[str, int]) -> dict[str, list[str]]:
    """category -> [target, planned, approved, in progress, completed, accepted] as the table prints them."""
    counts: dict[str, dict[str, int]] = {}
    for plan in plans:
        for cat in plan["categories"] or []:
            c = counts.setdefault(cat, dict.fromkeys(("planned", *STAGES), 0))
            c["planned"] += 1
            if plan["status"] in STAGES:
                c[plan["status"]] += 1
    out = {}
    for cat in {*counts, *targets}:
        c = counts.get(cat, dict.fromkeys(("planned", *STAGES), 0))
        out[cat] = [f"{targets[cat]:,}" if cat in targets else "—", *(f"{c[k]:,}" for k in ("planned", *STAGES))]
    return out


def check_amount(word: str, value: float) -> None:
    assert AMOUNT.fullmatch(word), f"{word!r} is not formatted for people"
    assert float(word.replace(",", "")) == pytest.approx(value, abs=0.006)


def check_scope_figures(text: str, catalog, plans: list[dict], targets: dict[str, int], compounds: int) -> None:
    labels = catalog.get("renovation_plans").field("categories").values
    rows = expected_rows(plans, targets)
    assert rows, "the demo programme has targets or plans here"
    for cat, want in rows.items():
        assert after(text, labels[cat].zh, 6) == want, cat
    for cat in set(labels) - set(rows):
        assert labels[cat].zh not in text, f"{cat}: neither target nor plan, yet listed"
    for field, label in SOURCES.items():
        check_amount(after(text, label, 1)[0], sum(float(p[field] or 0) for p in plans))
    assert after(text, "本年度方案数", 1) == [f"{len(plans):,}"]
    assert after(text, "小区数", 1) == [f"{compounds:,}"]
    planned = {int(p["compound"]) for p in plans}
    assert after(text, "尚无方案的小区", 1) == [f"{compounds - len(planned):,}"]


def street_ids(store, street: str) -> set[int]:  # noqa: F811
    return {int(i) for i in store.query("compounds", Query(filters=Query.equals(street=street))).features.index}


def test_street_atlas_ends_with_the_streets_progress(backend, catalog, tmp_path):
    """On both stores: the plans reach the page through the report's own reads (list fields included)."""
    settings = backend.settings(static_maps_dir=tmp_path / "static_maps", lang="zh")  # noqa: F811
    store = backend.open_store()  # noqa: F811
    out = build_report(store, settings, Scope("street", "梅陇镇"))
    text = progress_page(out.path, out.pages)
    year, targets = programme_targets("梅陇镇")
    assert f"梅陇镇 · 闵行区美丽家园建设 · {year} 年度进度" in text
    heads = ("改造类别", "目标", "已列入方案", "已批准", "实施中", "已完工", "已验收", "预算合计（万元，按资金来源）")
    assert all(head in text for head in heads)
    ids = street_ids(store, "梅陇镇")
    plans = live_plans(store, year, ids)
    assert plans, "the demo street has plans in the programme's current year"
    check_scope_figures(text, catalog, plans, targets, len(ids))
    assert "各街镇" not in text  # the per-street table is the district's
    assert ink_share(out.path, tmp_path, page=out.pages) > 0.04  # the bar chart is drawn


def test_district_atlas_has_district_figures_and_a_row_per_street(store, settings, catalog):  # noqa: F811
    year, targets = programme_targets(None)
    planned = sorted({int(p["compound"]) for p in live_plans(store, year, street_ids(store, "梅陇镇"))})
    moved = planned[:3] + [i for i in sorted(street_ids(store, "梅陇镇")) if i not in planned][:2]
    move(store, moved, street="测试街道")  # a second street, with plans and without
    ids = {int(i) for i in store.query("compounds", Query(filters=Query.equals(district="闵行区"))).features.index}

    out = build_report(store, settings, Scope("district", "闵行区"))
    text = progress_page(out.path, out.pages)
    assert f"闵行区 · 闵行区美丽家园建设 · {year} 年度进度" in text and "各街镇" in text
    plans = live_plans(store, year, ids)
    check_scope_figures(text, catalog, plans, targets, len(ids))
    for street in ("梅陇镇", "测试街道"):
        members = street_ids(store, street)
        mine = [p for p in plans if int(p["compound"]) in members]
        with_plan = {int(p["compound"]) for p in mine}
        row = after(text, street, 8)  # compounds, plans, without a plan, budget, then plans by stage
        assert row[:3] == [f"{len(members):,}", f"{len(mine):,}", f"{len(members) - len(with_plan):,}"], street
        check_amount(row[3], sum(float(p["budget"] or 0) for p in mine))
        assert row[4:] == [f"{sum(p['status'] == s for p in mine):,}" for s in STAGES], street
    assert len(moved) == 5 and len(street_ids(store, "测试街道")) == 5


def _tiny_district(store) -> list[int]:  # noqa: F811
    """Two compounds moved into a district of their own, their plans removed."""
    a, b = (int(i) for i in store.query("compounds", Query(limit=2, sort=[("id", False)])).features.index)
    move(store, [a, b], district="测试区")
    for fid in store.query("renovation_plans", Query(filters=[Filter("compound", "in", [a, b])])).features.index:
        store.delete("renovation_plans", int(fid))
    return [a, b]


def test_english_page_and_a_district_without_plans(store, settings, catalog):  # noqa: F811
    _tiny_district(store)
    year, targets = programme_targets(None)
    out = build_report(store, settings, Scope("district", "测试区"), lang="en")
    texts = page_texts(out.path, out.pages)
    text = texts[-1]
    assert f"测试区: Minhang Beautiful Homes programme, progress in {year}" in text
    assert f"No renovation plan for {year} yet." in text
    for head in ("Per category: target and plans (compounds)", "Budget totals", "Compounds still without a plan",
                 "Per street", "E-bike charging"):
        assert head in text
    assert not re.search(r"[已预市区改]", text.replace("测试区", "").replace("测试街道", "").replace("梅陇镇", ""))
    assert after_phrase(text, "Compounds still without a plan", 1) == ["2"]
    labels = catalog.get("renovation_plans").field("categories").values
    for cat, target in targets.items():  # every district target, nothing planned against it here
        words = after_phrase(text, labels[cat].en[:18], 12)  # a long label ends in an ellipsis in its column
        first = next(i for i, w in enumerate(words) if w[0].isdigit())
        assert words[first:first + 6] == [f"{target:,}", "0", "0", "0", "0", "0"], cat


def test_no_programme_says_so_and_redraws(store, settings, tmp_path):  # noqa: F811
    _tiny_district(store)
    first = build_report(store, settings, Scope("district", "测试区"))
    assert "年度进度" in page_texts(first.path, first.pages)[-1]
    empty = tmp_path / "no-programmes"
    empty.mkdir()
    again = build_report(store, settings.model_copy(update={"programmes": empty}), Scope("district", "测试区"))
    assert not again.cached, "a change of the programme files redraws the atlas"
    text = page_texts(again.path, again.pages)[-1]
    assert "测试区 · 改造计划进度" in text and "未声明改造计划（programmes/*.yaml）" in text
