"""An atlas's programme progress page: for the programme's current year, per renovation category the target
against the plans by stage (table and bar chart), budget totals by funding source, the compounds still
without a plan and, in a district atlas, the same per street. With no programme or no plan the page says
so. The figures come from :mod:`.programme` (counted as the ``/programme`` dashboard counts them)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from matplotlib.figure import Figure

from ..analysis.programme_progress import BUDGETS, STAGES
from ..catalog import Catalog
from . import layout as L
from .programme import AtlasProgress
from .static_map import tr

Frame = Callable[[Figure, str, str], None]  # draws a page's title, subtitle and footer
STAGE_LABELS = {"planned": ("已列入方案", "Planned"), "approved": ("已批准", "Approved"),
                "in_progress": ("实施中", "In progress"), "completed": ("已完工", "Completed"),
                "accepted": ("已验收", "Accepted")}
SHORT_EN = {"approved": "Appr.", "in_progress": "Works", "completed": "Done", "accepted": "Acc."}  # narrow columns
COLOURS = {"planned": "#88ccee", "approved": "#44aa99", "in_progress": "#ddcc77", "completed": "#117733",
           "accepted": "#332288", "target": "#cc6677"}
STREET_ROWS = 18  # per-street rows that fit beside the chart
DASH = "—"


def fmt_amount(v) -> str:
    """万元 for people: thousands separated, at most two decimals and none that say nothing (1,234.5, 80)."""
    value = round(float(v or 0), 2)
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _n(v) -> str:
    return DASH if v is None else f"{int(v):,}"


def progress_page(progress: AtlasProgress | None, place: str, catalog: Catalog, lang: str, frame: Frame) -> Figure:
    """The page of a street's or district's atlas (``place``: its name); ``frame`` draws the furniture."""
    fig = L.new_page()
    t = partial(tr, lang)
    if progress is None or progress.programme is None:
        frame(fig, t(f"{place} · 改造计划进度", f"{place}: programme progress"), "")
        L.text(fig, 10, 40, t("未声明改造计划（programmes/*.yaml），本页无进度可列。",
                              "No programme is declared (programmes/*.yaml): there is no progress to show."), 10)
        return fig
    p, year = progress.programme, progress.year
    frame(fig, t(f"{place} · {p.name.zh} · {year} 年度进度", f"{place}: {p.name.en}, progress in {year}"),
          t("目标与方案（按方案当前阶段计数；已取消的方案不计）",
            "Targets against plans (each plan counted in the stage it has reached; cancelled plans left out)"))
    scope = progress.scope
    rows = scope.rows if scope is not None else []
    if not progress.has_plans:
        L.text(fig, 10, 32, t(f"{year} 年度尚无改造方案。", f"No renovation plan for {year} yet."), 10, L.ACCENT)
    y = _category_table(fig, 10, 36 if not progress.has_plans else 25, rows, catalog, p.layer, p.category_field,
                        lang)
    if rows:
        _chart(fig, 10, y + 9, 150, min(198 - y - 15, 10 + 7 * len(rows)), rows, catalog, p.layer,
               p.category_field, lang)
    _side(fig, 168, 25, 119, progress, catalog, lang)
    return fig


def _label(catalog: Catalog, layer: str, field: str, code: str, lang: str) -> str:
    values = catalog.get(layer).field(field).values or {}
    return values[code].get(lang) if code in values else code


def _category_table(fig: Figure, x: float, y: float, rows: list[dict], catalog: Catalog, layer: str, field: str,
                    lang: str) -> float:
    t = partial(tr, lang)
    y = L.section(fig, x, y, t("各改造类别：目标与方案（小区数）", "Per category: target and plans (compounds)"), 150)
    columns = [L.Column(t("改造类别", "Category"), 52), L.Column(t("目标", "Target"), 14, "right")]
    columns += [L.Column(tr(lang, *STAGE_LABELS[s]), 16.8, "right") for s in ("planned", *STAGES)]
    cells = [[_label(catalog, layer, field, r["category"], lang), _n(r["target"]),
              *(_n(r[s]) for s in ("planned", *STAGES))] for r in rows]
    if not cells:
        cells = [[t("本年度无目标、无方案", "no target and no plan this year"), DASH, *[DASH] * 5]]
    return L.table(fig, x, y, columns, cells, size=6.6, row_h=4.4)


def _chart(fig: Figure, x: float, y: float, w: float, h: float, rows: list[dict], catalog: Catalog, layer: str,
           field: str, lang: str) -> None:
    """Per category: planned (light bar), the stages reached stacked inside it, the target as a red tick."""
    ax = fig.add_axes(L.box(x + 40, y, w - 44, h))
    n = len(rows)
    ys = list(range(n))[::-1]
    ax.barh(ys, [r["planned"] for r in rows], height=0.7, color=COLOURS["planned"],
            label=tr(lang, *STAGE_LABELS["planned"]))
    left = [0] * n
    for stage in STAGES:
        values = [r[stage] for r in rows]
        ax.barh(ys, values, left=left, height=0.36, color=COLOURS[stage], label=tr(lang, *STAGE_LABELS[stage]))
        left = [a + b for a, b in zip(left, values, strict=True)]
    targets = [(yy, r["target"]) for yy, r in zip(ys, rows, strict=True) if r["target"] is not None]
    if targets:
        ax.scatter([v for _, v in targets], [yy for yy, _ in targets], marker="|", s=120, color=COLOURS["target"],
                   linewidths=2, zorder=5, label=tr(lang, "目标", "Target"))
    ax.set_yticks(ys, [L.clip(_label(catalog, layer, field, r["category"], lang), 38, 6.0) for r in rows],
                  fontsize=6.0)
    ax.tick_params(axis="x", labelsize=6.0)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlim(0, max([1, *(r["planned"] for r in rows), *(v for _, v in targets)]) * 1.08)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(fontsize=5.5, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=6, frameon=False,
              handlelength=1.2, columnspacing=1.0)


def _side(fig: Figure, x: float, y: float, w: float, progress: AtlasProgress, catalog: Catalog, lang: str) -> None:
    t = partial(tr, lang)
    spec = catalog.get(progress.programme.layer)
    budget = progress.scope.budget[0] if progress.scope is not None and progress.scope.budget else {}
    without = progress.scope.without_plan[0] if progress.scope is not None and progress.scope.without_plan else {}
    y = L.section(fig, x, y, t("预算合计（万元，按资金来源）", "Budget totals (10,000 yuan, by funding source)"), w)
    pairs = [[spec.field(b).title.get(lang) if spec.has_field(b) else b, fmt_amount(budget.get(b))] for b in BUDGETS]
    y = L.table(fig, x, y, [L.Column(t("资金来源", "Source"), 80), L.Column(t("万元", "10,000 yuan"), w - 80, "right")],
                pairs, size=6.8, row_h=4.6) + 3
    y = L.section(fig, x, y, t("方案与小区", "Plans and compounds"), w)
    facts = [(t("本年度方案数", "Plans this year"), _n(budget.get("plans", 0))),
             (t("小区数", "Compounds"), _n(without.get("compounds", 0))),
             (t("尚无方案的小区", "Compounds still without a plan"), _n(without.get("without_plan", 0)))]
    y = L.key_values(fig, x, y, facts, 1, w, key_w=80) + 3
    if progress.streets is not None:
        _street_table(fig, x, y, w, progress, lang)


def _street_table(fig: Figure, x: float, y: float, w: float, progress: AtlasProgress, lang: str) -> None:
    t = partial(tr, lang)
    s = progress.streets
    y = L.section(fig, x, y, t("各街镇", "Per street"), w)
    columns = [L.Column(t("街镇", "Street"), 27), L.Column(t("小区", "Comp."), 11, "right"),
               L.Column(t("有方案", "Plans"), 11, "right"), L.Column(t("尚无方案", "Without"), 13, "right"),
               L.Column(t("预算", "Budget"), 17, "right")]
    columns += [L.Column(tr(lang, STAGE_LABELS[st][0], SHORT_EN[st]), 10, "right") for st in STAGES]
    rows = [[str(w_["street"]), _n(w_["compounds"]), _n(st["plans"]), _n(w_["without_plan"]), fmt_amount(b["budget"]),
             *(_n(st[k]) for k in STAGES)]
            for w_, st, b in zip(s.without_plan, s.statuses, s.budget, strict=True)]
    y = L.table(fig, x, y, columns, rows[:STREET_ROWS], size=6.0, row_h=4.2)
    if len(rows) > STREET_ROWS:
        L.text(fig, x, y + 3.5, t(f"另有 {len(rows) - STREET_ROWS} 个街镇未列出", f"{len(rows) - STREET_ROWS} more "
                                  "streets not shown"), 6.0, L.MUTED)
