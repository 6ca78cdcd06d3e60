"""The pages of a report: the compound page ("一小区一方案"), and the atlas cover, ranked table and contents.

Every figure printed comes from the analysis results gathered once in :mod:`.data`; pages only
look rows up and format them, so a number on paper is the number the API and CLI return. Labels of
fields and values come from the layer catalog, so a page speaks the catalog's Chinese or English.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from matplotlib import patheffects
from matplotlib.figure import Figure

from ..analysis import compound_assets
from ..analysis.tiers import TIERS
from ..catalog import Catalog
from ..styles import ANALYSIS_SCHEMES, NO_DATA_COLOR
from ..text import drawable
from . import layout as L
from .data import COMPOUNDS, ReportData
from .placement import label_spot
from .progress_page import progress_page
from .static_map import (
    add_basemap,
    add_north_arrow,
    add_scale_bar,
    crs_note,
    draw_layer,
    draw_lines,
    draw_polygons,
    fit_extent,
    hatch_entry,
    line_entry,
    outline_entry,
    setup_map_axes,
    to_map_crs,
    tr,
)

PNG_DPI = 150
SUMMARY_ROWS = 28  # ranked-table rows per page
HEALTH_ROWS = 20  # streets on the health-check page (a district's total row follows)
LABEL_CHARS = 16  # a compound's name on a map: longer ones end in an ellipsis (the tables keep them whole)
TOC_ROWS, TOC_COLUMNS = 38, 3  # contents entries per column, columns per page
UNCOVERED = "#c62828"
SHARED_LINE = "#0d47a1"
HALO = [patheffects.withStroke(linewidth=2.0, foreground="white")]
DASH = "—"


# ------------------------------------------------------------------ formatting

def missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def fmt_int(v) -> str:
    return DASH if missing(v) else f"{int(round(float(v))):,}"


def fmt_num(v, digits: int = 1) -> str:
    return DASH if missing(v) else f"{float(v):,.{digits}f}"


def fmt_count(v, digits: int = 1) -> str:
    """A count that may be fractional (parking demand = households × ratio): whole ones without
    decimals (需求 340, not 340.0), thousands separated."""
    if missing(v):
        return DASH
    value = round(float(v), digits)
    return f"{int(value):,}" if value.is_integer() else f"{value:,.{digits}f}"


def fmt_pct(share) -> str:
    """A 0-1 share as a percentage with one decimal (how coverage is printed everywhere in a report)."""
    return DASH if missing(share) else f"{float(share) * 100:.1f}%"


def value_label(catalog: Catalog, layer: str, field: str, value, lang: str) -> str:
    """A coded value's catalog label (e.g. housing_type public_sold -> 售后公房)."""
    if missing(value):
        return DASH
    try:
        spec = catalog.get(layer).field(field)
    except KeyError:
        return str(value)
    if spec.values and str(value) in spec.values:
        return spec.values[str(value)].get(lang)
    if isinstance(value, bool | np.bool_):
        return tr(lang, "是", "yes") if value else tr(lang, "否", "no")
    return str(value)


def tier_label(tier, lang: str) -> str:
    scheme = ANALYSIS_SCHEMES["renovation-priorities"]
    for c in scheme.classes:
        if c.key == tier:
            return c.label.get(lang)
    return tr(lang, "不符合条件", "not eligible")


def snapshot(versions: dict[str, int]) -> str:
    """A short stamp of the data versions a report was made from (printed in every footer)."""
    return hashlib.blake2b(orjson.dumps(versions, option=orjson.OPT_SORT_KEYS), digest_size=4).hexdigest()


# ------------------------------------------------------------------ page plan

@dataclass(frozen=True)
class Page:
    kind: str  # cover, summary, toc, compound, health or progress
    number: int  # 1-based
    index: int = 0  # n-th page of its kind (summary/toc), or the compound id (compound)


def plan_pages(data: ReportData) -> list[Page]:
    """All pages in order, numbered: an atlas is cover, ranked table, contents, one page per compound, then
    the city health-check table and the programme's progress (last, so the compound pages keep their numbers)."""
    if not data.scope.atlas:
        return [Page("compound", 1, data.pages[0])]
    n = len(data.pages)
    kinds = [("cover", 0)]
    kinds += [("summary", i) for i in range(math.ceil(n / SUMMARY_ROWS))]
    kinds += [("toc", i) for i in range(math.ceil(len(toc_entries(data, {})) / (TOC_ROWS * TOC_COLUMNS)))]
    kinds += [("compound", cid) for cid in data.pages]
    if data.part("health-check") is not None:  # the streets' 城市体检 table
        kinds.append(("health", 0))
    kinds += [("progress", 0)]
    return [Page(kind, i + 1, index) for i, (kind, index) in enumerate(kinds)]


def toc_entries(data: ReportData, page_of: dict[int, int]) -> list[tuple[str, str, bool]]:
    """(label, page, is_heading) in page order; a district's contents are headed by street."""
    out, street = [], object()
    names = data.compounds["name"] if "name" in data.compounds.columns else pd.Series(dtype=object)
    streets = data.compounds["street"] if "street" in data.compounds.columns else pd.Series(dtype=object)
    for cid in data.pages:
        if data.scope.kind == "district" and streets.get(cid) != street:
            street = streets.get(cid)
            out.append((str(street) if not missing(street) else DASH, "", True))
        name = names.get(cid)
        out.append((str(name) if not missing(name) else f"#{cid}", str(page_of.get(cid, "")), False))
    return out


# ------------------------------------------------------------------ the renderer

class ReportRenderer:
    """Draws the pages of one report from its gathered data (projected once, drawn many times)."""

    def __init__(self, data: ReportData, catalog: Catalog, lang: str = "zh", basemap_dir=None,
                 generated: str | None = None):
        self.data, self.catalog, self.lang = data, catalog, lang
        self.basemap_dir = basemap_dir
        self.generated = generated or dt.date.today().isoformat()
        self.pages = plan_pages(data)
        self.total = len(self.pages)
        self.page_of = {p.index: p.number for p in self.pages if p.kind == "compound"}
        self.layers = {layer: to_map_crs(_slim(frame, catalog, layer)) for layer, frame in data.context.items()
                       if len(frame)}
        self.scope_map = to_map_crs(data.compounds)
        uncovered = data.part("hydrant-coverage")
        self.uncovered = to_map_crs(uncovered[[uncovered.geometry.name]]) if uncovered is not None else None
        arrangements = data.part("shared-parking", "arrangements")
        self.arrangements = {int(cid): group for cid, group in to_map_crs(arrangements).groupby("compound_id")} \
            if arrangements is not None and len(arrangements) else {}
        self.stamp = snapshot(data.versions)

    def t(self, zh: str, en: str) -> str:
        return tr(self.lang, zh, en)

    def render(self, page: Page) -> Figure:
        if page.kind == "compound":
            return self.compound_page(page.index, page.number)
        if page.kind == "cover":
            return self.cover_page(page.number)
        if page.kind == "summary":
            return self.summary_page(page.index, page.number)
        if page.kind == "health":
            return self.health_page(page.number)
        if page.kind == "progress":
            return progress_page(self.data.progress, self.data.title, self.catalog, self.lang,
                                 lambda fig, title, sub: self._frame(fig, title, sub, page.number))
        return self.toc_page(page.index, page.number)

    # ---------------------------------------------------------- shared furniture

    def _frame(self, fig: Figure, title: str, subtitle: str, number: int, note: str | None = None) -> None:
        L.text(fig, 10, 14, title, 16, L.INK, width=200)
        L.text(fig, 10, 20, subtitle, 7.5, L.MUTED, width=220)
        L.text(fig, 287, 14, self.t("制图日期 ", "Made ") + self.generated, 7, L.MUTED, ha="right")
        L.text(fig, 287, 20, self.t("一小区一方案 · 住宅小区综合改造", "One plan per compound · compound renovation"),
               7, L.MUTED, ha="right")
        L.hline(fig, 10, 287, 22.5, L.ACCENT, 0.8)
        L.hline(fig, 10, 287, 199.5, L.RULE, 0.4)
        if note:
            L.text(fig, 10, 203.5, note, 5.5, L.MUTED, width=215)
        L.text(fig, 10, 207, f"compound-gis · {self.t('数据快照', 'data snapshot')} {self.stamp}", 5.5, L.MUTED)
        L.text(fig, 287, 205, self.t(f"第 {number} 页 / 共 {self.total} 页", f"Page {number} of {self.total}"), 7,
               L.INK, ha="right")

    def _place(self) -> str:
        c = self.data.compounds
        district = next((d for d in c.get("district", pd.Series(dtype=object)).dropna()), None)
        return str(district) if district else ""

    # ---------------------------------------------------------- compound page

    def compound_page(self, cid: int, number: int) -> Figure:
        fig = L.new_page()
        props = self.data.compounds.loc[cid]
        name = props.get("name") if not missing(props.get("name")) else f"#{cid}"
        where = " · ".join(str(v) for v in (props.get("district"), props.get("street")) if not missing(v))
        subtitle = f"{where} · {self.t('小区编号', 'compound id')} {cid}"
        if not missing(props.get("source_id")):  # the id the office's own list gives it
            subtitle += f" · {self.t('来源编号', 'source id')} {props.get('source_id')}"
        basemap = self._compound_map(fig, cid)
        self._frame(fig, str(name), subtitle, number, crs_note(self.lang, self.data.metric_crs, basemap))
        x, w = 168.0, 119.0
        y = L.section(fig, x, 25, self.t("基本信息", "Basics"), w)
        y = L.key_values(fig, x, y, self._basics(props), 2, w / 2, size=7.2, row_h=4.6) + 1.5
        y = L.section(fig, x, y, self.t("设施统计（小区范围内）", "Assets inside the compound"), w)
        y = L.table(fig, x, y, [L.Column(self.t("图层", "Layer"), 34), L.Column(self.t("数量", "Count"), 12, "right"),
                                L.Column(self.t("按状态/类型", "By status / kind"), w - 46)],
                    self._asset_rows(cid), size=6.8, row_h=4.6) + 2.0
        y = L.section(fig, x, y, self.t("分析结论", "Findings"), w)
        for head, lines in self._findings(cid):
            L.text(fig, x, y + 3.1, head, 7.2, L.ACCENT)
            for line in lines:
                for part in L.wrap(line, w - 15, 7.0, 2):
                    L.text(fig, x + 15, y + 3.1, part, 7.0)
                    y += 3.9
            y += 0.9
        y = L.section(fig, x, y + 0.5, self.t("改造建议（美丽家园）", "Renovation proposal"), w)
        lines, components = self._proposal(cid)
        for i, line in enumerate(lines):
            size = 8.0 if i == 0 else 7.0
            for part in L.wrap(line, w, size, 2):
                L.text(fig, x, y + 3.3, part, size, L.INK)
                y += 4.3 if i == 0 else 3.9
        if components:
            self._component_bars(fig, x, y + 1.0, w, components)
        return fig

    def _component_bars(self, fig: Figure, x: float, y: float, w: float, components: list[tuple[str, float]]) -> None:
        """The score's components (0-1) as bars: which needs drive the priority."""
        title = self.t("优先得分分项（0–1，越大越需改造）", "Score components (0-1, higher = more need)")
        L.text(fig, x, y + 3.0, title, 6.4, L.MUTED)
        bar_x, bar_w = x + 30, w - 44
        for i, (label, value) in enumerate(components):
            row = y + 4.6 + i * 4.2
            L.text(fig, x, row + 2.9, label, 6.8, width=29)
            L.rect(fig, bar_x, row + 0.6, bar_w, 2.8, L.BAND)
            if value > 0:
                L.rect(fig, bar_x, row + 0.6, bar_w * min(float(value), 1.0), 2.8, L.ACCENT)
            L.text(fig, x + w, row + 2.9, f"{value:.2f}", 6.8, ha="right")

    def _basics(self, props: pd.Series) -> list[tuple[str, str]]:
        spec = self.catalog.get(COMPOUNDS)
        out = []
        for f in ("build_year", "households", "buildings", "housing_type", "avg_flat_m2", "parking_spaces",
                  "registered_vehicles", "renovation_status"):
            if not spec.has_field(f):
                continue
            v = props.get(f)
            if spec.field(f).values:
                shown = value_label(self.catalog, COMPOUNDS, f, v, self.lang)
            elif f == "build_year":
                shown = DASH if missing(v) else str(int(v))
            elif spec.field(f).type == "number":
                shown = fmt_num(v)
            else:
                shown = fmt_int(v)
            out.append((spec.field(f).title.get(self.lang), shown))
        return out

    def _asset_rows(self, cid: int) -> list[list[str]]:
        """Per asset layer: features inside the compound, and their split by status (or the styled field)."""
        polygon = self.data.compounds.geometry.loc[cid]
        rows = []
        for spec in self.catalog:
            if spec.id == COMPOUNDS or not spec.is_asset:
                continue
            frame = self.data.context.get(spec.id)
            inside = frame[frame.intersects(polygon)] if frame is not None and len(frame) else None
            n = 0 if inside is None else len(inside)
            field = "status" if spec.has_field("status") else spec.style.get("by_field")
            split = ""
            if n and field and spec.has_field(field) and field in inside.columns:
                fs = spec.field(field)
                counts = compound_assets.status_counts(inside[field], fs.allowed if fs.values else None)
                split = " · ".join(f"{self._label(spec.id, field, k)} {v}" for k, v in counts.items() if v)
            rows.append([spec.title.get(self.lang), str(n), split or (DASH if not n else "")])
        return rows

    def _label(self, layer: str, field: str, key: str) -> str:
        if key == compound_assets.UNSET:
            return self.t("未填", "unset")
        if key in ("True", "False"):
            return self.t("是", "yes") if key == "True" else self.t("否", "no")
        return value_label(self.catalog, layer, field, key, self.lang)

    def _findings(self, cid: int) -> list[tuple[str, list[str]]]:
        d, t = self.data, self.t
        out = []
        gap = d.row("parking-gaps", cid)
        if gap is not None:
            demand, supply, spaces = fmt_count(gap["demand"]), fmt_int(gap["supply"]), fmt_int(gap["gap_spaces"])
            per_100 = fmt_num(gap["gap_per_100_households"])
            if gap["gap_spaces"] > 0:
                line = t(f"需求 {demand} 个 · 供给 {supply} 个 · 缺口 {spaces} 个泊位（每百户 {per_100} 个）",
                         f"demand {demand} · supply {supply} · gap {spaces} spaces ({per_100} per 100 households)")
            else:
                line = t(f"需求 {demand} 个 · 供给 {supply} 个 · 缺口 0 个泊位（供给充足）",
                         f"demand {demand} · supply {supply} · gap 0 spaces")
            basis = t("按登记车辆数", "registered vehicles") if gap["demand_source"] == "registered_vehicles" \
                else t(f"按户数 × {gap['ratio']:g}", f"households × {gap['ratio']:g}")
            lines = [line + t(f"；需求{basis}", f"; demand from {basis}")]
            lines += self._sharing(cid, int(gap["gap_spaces"]))
            out.append((t("停车", "Parking"), lines))
        fire = d.row("hydrant-coverage", cid)
        if fire is not None:
            radius = d.params.get("hydrant-coverage", {}).get("radius_m", 150)
            out.append((t("消防", "Fire"), [
                t(f"消火栓覆盖 {fmt_pct(fire['covered_share'])}（保护半径 {radius:g} 米，正常消火栓 "
                  f"{fmt_int(fire['working_hydrants'])} 个）；未覆盖 {fmt_int(fire['uncovered_m2'])} 平方米",
                  f"hydrant coverage {fmt_pct(fire['covered_share'])} (radius {radius:g} m, "
                  f"{fmt_int(fire['working_hydrants'])} working); uncovered {fmt_int(fire['uncovered_m2'])} m²"),
                t(f"待修消火栓 {fmt_int(fire['broken_hydrants'])} 个（小区内 {fmt_int(fire['broken_inside'])} 个）",
                  f"hydrants to repair {fmt_int(fire['broken_hydrants'])} ({fmt_int(fire['broken_inside'])} inside)")]))
        ch = d.row("charging-coverage", cid)
        if ch is not None:
            status = t("已达标", "meets the target") if ch["meets_target"] else \
                t(f"端口缺口 {fmt_int(ch['port_shortfall'])} 个", f"short of {fmt_int(ch['port_shortfall'])} ports")
            out.append((t("充电", "Charging"), [
                t(f"充电点 {fmt_int(ch['sites'])} 处，端口 {fmt_int(ch['ports'])} 个，每百户 "
                  f"{fmt_num(ch['ports_per_100_households'])} 个（目标 {ch['target_per_100_households']:g}），{status}",
                  f"{fmt_int(ch['sites'])} sites, {fmt_int(ch['ports'])} ports, "
                  f"{fmt_num(ch['ports_per_100_households'])} per 100 households (target "
                  f"{ch['target_per_100_households']:g}), {status}"),
                t(f"无简易喷淋充电点 {fmt_int(ch['sites_without_sprinkler'])} 处",
                  f"sites without sprinkler {fmt_int(ch['sites_without_sprinkler'])}")]))
        wl = d.row("waterlogging", cid)
        if wl is not None:
            cause = value_label(self.catalog, "waterlogging_points", "cause", wl["dominant_cause"], self.lang)
            lines = [t(f"积水点 {fmt_int(wl['points'])} 个（小区内 {fmt_int(wl['points_inside'])} 个），达标积水点 "
                       f"{fmt_int(wl['waterlogged_points'])} 个，内部原因 {fmt_int(wl['waterlogged_internal'])} 个",
                       f"{fmt_int(wl['points'])} points ({fmt_int(wl['points_inside'])} inside), "
                       f"{fmt_int(wl['waterlogged_points'])} over thresholds, "
                       f"{fmt_int(wl['waterlogged_internal'])} internal")]
            if wl["points"]:
                lines.append(t(f"主要成因：{cause}；严重度 {fmt_num(wl['severity'], 2)}",
                               f"main cause: {cause}; severity {fmt_num(wl['severity'], 2)}"))
            if wl["cause_external_backflow"]:
                lines.append(t(f"外围倒灌 {fmt_int(wl['cause_external_backflow'])} 个：转交水务、交通部门",
                               f"{fmt_int(wl['cause_external_backflow'])} external backflow: refer to the water and "
                               "transport departments"))
            out.append((t("积水", "Flooding"), lines))
        return out

    def _sharing(self, cid: int, gap: int) -> list[str]:
        t = self.t
        if gap <= 0:
            return []
        row = self.data.row("shared-parking", cid, "unserved")
        arr = self.data.part("shared-parking", "arrangements")
        if row is None or arr is None:
            return []
        mine = arr[arr["compound_id"] == cid]
        walk = self.data.params.get("shared-parking", {}).get("walk_m", 500)
        served, left = fmt_int(row["served"]), fmt_int(row["unserved"])
        if not len(mine):
            return [t(f"错时共享：{walk:g} 米内无可共享停车场，缺口 {left} 个需另行解决",
                      f"shared parking: no shareable lot within {walk:g} m; {left} spaces unsolved")]
        lines = [t(f"错时共享：{len(mine)} 处停车场提供 {served} 个泊位，仍缺 {left} 个",
                   f"shared parking: {len(mine)} lot{'s' if len(mine) > 1 else ''} offer{'' if len(mine) > 1 else 's'} "
                   f"{served} spaces, {left} left")]
        for _, a in mine.head(3).iterrows():
            kind = value_label(self.catalog, "parking_facilities", "kind", a["lot_kind"], self.lang)
            lot = a["lot_name"] if not missing(a["lot_name"]) else f"#{a['lot_id']}"
            lines.append(t(f"→ {lot}（{kind}）{fmt_int(a['spaces'])} 个，步行 {fmt_int(a['distance_m'])} 米",
                           f"→ {lot} ({kind}) {fmt_int(a['spaces'])} spaces, {fmt_int(a['distance_m'])} m walk"))
        if len(mine) > 3:
            lines.append(t(f"…另 {len(mine) - 3} 处", f"… {len(mine) - 3} more"))
        return lines

    def _proposal(self, cid: int) -> tuple[list[str], list[tuple[str, float]]]:
        """The proposal lines (tier, rank, score, categories) and the score's components for the bars."""
        t = self.t
        plan = self.data.row("renovation-priorities", cid)
        if plan is None:
            return [t("改造优先级分析未运行（缺少图层）", "renovation priorities not run (layers missing)")], []
        street = plan["street"] if not missing(plan["street"]) else ""
        year = self.data.params.get("renovation-priorities", {}).get("eligible_before_year", 2001)
        if plan["eligible"]:
            head = t(f"建议版本：{tier_label(plan['tier'], 'zh')}（{street}第 {int(plan['street_rank'])} 名）"
                     f"    优先得分 {fmt_num(plan['score'], 2)}",
                     f"proposed tier: {tier_label(plan['tier'], 'en')} (#{int(plan['street_rank'])} in {street})"
                     f"    priority score {fmt_num(plan['score'], 2)}")
        else:
            head = t(f"不符合改造条件（{year} 年及以后建成）    优先得分 {fmt_num(plan['score'], 2)}",
                     f"not eligible (built {year} or later)    priority score {fmt_num(plan['score'], 2)}")
        head += "    " + self._stored_plan(plan)
        cats = plan["categories"] if self.lang == "zh" else plan["categories_en"]
        components = [(t("4 停车", "4 parking"), plan["c_parking"]), (t("6 排水", "6 drainage"), plan["c_drainage"]),
                      (t("11 消防", "11 fire"), plan["c_fire"]), (t("12 电瓶车充电", "12 e-bike charging"),
                                                                  plan["c_charging"])]
        return [head, t(f"改造项目：{cats or '无'}", f"categories: {cats or 'none'}")], \
            [(label, 0.0 if missing(v) else float(v)) for label, v in components]

    def _stored_plan(self, plan) -> str:
        """"计划版本 (plan, status)" beside "建议版本 (analysis)": what the street office recorded for the year."""
        year = self.data.results["renovation-priorities"].summary.get("plan_year", "")
        if missing(plan.get("plan_status")):
            return self.t(f"计划版本：{year} 年度尚无方案", f"plan {year}: none recorded")
        tier = tier_label(plan["plan_tier"], self.lang) if not missing(plan["plan_tier"]) else DASH
        status = plan["plan_status_zh"] if self.lang == "zh" else str(plan["plan_status"]).replace("_", " ")
        return self.t(f"计划版本：{tier}（{status}，{year} 年度）", f"plan {year}: {tier} ({status})")

    def _compound_map(self, fig: Figure, cid: int) -> bool:
        """The compound, its neighbours, every asset layer, uncovered area and shared-parking lines."""
        ax = fig.add_axes(L.box(10, 25, 152, 140))
        focus = self.scope_map.geometry.loc[cid]
        bounds = np.array(focus.bounds)
        lines = self.arrangements.get(cid)
        if lines is not None:
            lb = lines.total_bounds
            bounds = np.r_[np.minimum(bounds[:2], lb[:2]), np.maximum(bounds[2:], lb[2:])]
        extent = fit_extent(bounds, 152 / 140, pad_m=120)
        setup_map_axes(ax, extent)
        basemap = add_basemap(ax, extent, self.basemap_dir, 152 / L.MM_PER_INCH * PNG_DPI)
        color = self.catalog.get(COMPOUNDS).style.get("color", "#5c6bc0")
        entries = [outline_entry(self.t("本小区", "This compound"), color, 1.8),
                   outline_entry(self.t("周边小区", "Neighbouring compounds"), color, 0.6)]
        neighbours = _in_view(self.layers.get(COMPOUNDS), extent)
        if neighbours is not None:
            others = neighbours[neighbours.index != cid]
            draw_polygons(ax, others.geometry.values, facecolor=color, edgecolor=color, linewidth=0.5, alpha=0.12,
                          zorder=1)
            self._labels(ax, others, 4.5, L.MUTED, extent)
        draw_polygons(ax, [focus], facecolor=color, edgecolor="none", alpha=0.16, zorder=1.5)
        draw_polygons(ax, [focus], facecolor="none", edgecolor=color, linewidth=1.8, zorder=6)
        if self.uncovered is not None and cid in self.uncovered.index:
            hole = self.uncovered.geometry.loc[cid]
            if hole is not None and not hole.is_empty:
                draw_polygons(ax, [hole], facecolor=UNCOVERED, edgecolor=UNCOVERED, linewidth=0.5, alpha=0.3,
                              hatch="////", zorder=2)
                entries.append(hatch_entry(self.t("消火栓未覆盖区域", "Not covered by a working hydrant"), UNCOVERED,
                                           "////"))
        for spec in self.catalog:
            if spec.id == COMPOUNDS:
                continue
            frame = _in_view(self.layers.get(spec.id), extent)
            if frame is not None:
                entries += draw_layer(ax, spec, frame, self.lang, zorder=7)
        if lines is not None:
            draw_lines(ax, lines.geometry.values, SHARED_LINE, 1.3, "--", zorder=8)
            for geom, spaces in zip(lines.geometry.values, lines["spaces"], strict=True):
                x, y = geom.coords[-1]
                ax.text(x, y, f" {int(spaces)}", fontsize=6, color=SHARED_LINE, va="bottom", zorder=9,
                        path_effects=HALO)
            entries.append(line_entry(self.t("错时共享安排（泊位数）", "Shared parking (spaces)"), SHARED_LINE))
        name = drawable(self.data.compounds.loc[cid].get("name") or cid, LABEL_CHARS)
        drawn = list(lines.geometry.values) if lines is not None else []
        half_w, half_h = _text_half_size(ax, extent, name, 8.5)
        x, y = label_spot(focus, half_w, half_h, avoid=drawn)
        ax.text(x, y, name, fontsize=8.5, ha="center", va="center", color=L.INK, zorder=10, path_effects=HALO,
                gid="compound-label")
        around = list(neighbours.geometry.values) if neighbours is not None else []
        add_scale_bar(ax, extent, self.lang, avoid=[focus, *around, *drawn])
        add_north_arrow(ax, self.lang)
        L.legend(fig, 10, 167, entries, columns=3, col_w=152 / 3)
        return basemap

    def _labels(self, ax, frame: gpd.GeoDataFrame, size: float, color: str, extent, texts=None) -> None:
        if "name" not in frame.columns and texts is None:
            return
        points = shapely.point_on_surface(np.asarray(frame.geometry.values, dtype=object))
        x0, x1, y0, y1 = extent
        mx, my = (x1 - x0) * 0.06, (y1 - y0) * 0.03  # labels near the frame would be cut
        values = texts if texts is not None else frame["name"].tolist()
        for pt, label in zip(points, values, strict=True):
            if label is None or missing(label) or not (x0 + mx < pt.x < x1 - mx and y0 + my < pt.y < y1 - my):
                continue
            ax.text(pt.x, pt.y, drawable(label, LABEL_CHARS), fontsize=size, ha="center", va="center", color=color,
                    zorder=5, clip_on=True)

    # ---------------------------------------------------------- atlas front pages

    def _atlas_title(self) -> tuple[str, str]:
        d = self.data
        if d.scope.kind == "street":
            place = self._place()
            sub = f"{place} · " if place else ""
        else:
            sub = ""
        title = self.t(f"{d.title} 住宅小区综合改造地图集", f"{d.title}: compound renovation atlas")
        return title, sub + self.t(f"共 {len(d.pages)} 个小区", f"{len(d.pages)} compounds")

    def cover_page(self, number: int) -> Figure:
        fig = L.new_page()
        title, sub = self._atlas_title()
        basemap = self._overview_map(fig)
        self._frame(fig, title, sub, number, crs_note(self.lang, self.data.metric_crs, basemap))
        x, w = 186.0, 101.0
        y = L.section(fig, x, 25, self.t("主要指标", "Key figures"), w)
        y = L.table(fig, x, y, [L.Column(self.t("指标", "Figure"), 70), L.Column(self.t("数值", "Value"), 31, "right")],
                    self._key_figures(), size=6.8, row_h=4.6) + 3
        plan = self.data.part("renovation-priorities", "streets")
        if plan is not None and len(plan):
            y = L.section(fig, x, y, self.t("各街镇建议版本（符合条件小区）", "Proposed tiers per street"), w)
            rows = [[str(s), fmt_int(r["eligible"]), fmt_int(r["demonstration"]), fmt_int(r["upgrade"]),
                     fmt_int(r["basic"])] for s, r in plan.iterrows()]
            L.table(fig, x, y, [L.Column(self.t("街镇", "Street"), 33),
                                L.Column(self.t("符合", "Eligible"), 17, "right"),
                                L.Column(tier_label("demonstration", self.lang), 17, "right"),
                                L.Column(tier_label("upgrade", self.lang), 17, "right"),
                                L.Column(tier_label("basic", self.lang), 17, "right")],
                    rows[:20], size=6.5, row_h=4.4)
        return fig

    def _key_figures(self) -> list[list[str]]:
        d, t = self.data, self.t
        rows = [[t("小区数", "Compounds"), fmt_int(len(d.pages))]]
        plan = d.results.get("renovation-priorities")
        if plan is not None:
            s = plan.summary
            rows += [[t("符合改造条件", "Eligible for renovation"), fmt_int(s.get("eligible"))]]
            rows += [[t(f"建议{tier_label(k, 'zh')}", f"Proposed {tier_label(k, 'en').lower()}"), fmt_int(s.get(k))]
                     for k in TIERS]
        if "parking-gaps" in d.results:
            s = d.results["parking-gaps"].summary
            rows += [[t("有停车缺口的小区", "Compounds short of parking"), fmt_int(s.get("compounds_with_gap"))],
                     [t("停车缺口合计（泊位）", "Total parking gap (spaces)"), fmt_int(s.get("total_gap_spaces"))]]
        if "shared-parking" in d.results:
            s = d.results["shared-parking"].summary
            rows += [[t("错时共享可解决（泊位）", "Solved by shared parking (spaces)"), fmt_int(s.get("served"))]]
        if "hydrant-coverage" in d.results:
            s = d.results["hydrant-coverage"].summary
            rows += [[t("消火栓覆盖（面积）", "Hydrant coverage (area)"), fmt_pct(s.get("covered_share"))],
                     [t("消火栓全覆盖小区", "Compounds fully covered"), fmt_int(s.get("fully_covered"))]]
        if "charging-coverage" in d.results:
            s = d.results["charging-coverage"].summary
            rows += [[t("充电达标小区", "Compounds meeting the charging target"),
                      fmt_int(s.get("compounds_meeting_target"))],
                     [t("无充电设施小区", "Compounds without charging"), fmt_int(s.get("compounds_without_charging"))]]
        if "waterlogging" in d.results:
            s = d.results["waterlogging"].summary
            rows += [[t("达标积水点", "Waterlogged points"), fmt_int(s.get("waterlogged_points"))],
                     [t("积水片区", "Waterlogging hotspots"), fmt_int(s.get("hotspots"))]]
        return rows

    def _overview_map(self, fig: Figure) -> bool:
        ax = fig.add_axes(L.box(10, 25, 170, 152))
        scope = self.scope_map
        extent = fit_extent(scope.total_bounds, 170 / 152, pad_m=150)
        setup_map_axes(ax, extent)
        basemap = add_basemap(ax, extent, self.basemap_dir, 170 / L.MM_PER_INCH * PNG_DPI)
        around = _in_view(self.layers.get(COMPOUNDS), extent)
        if around is not None:
            outside = around[~around.index.isin(scope.index)]
            draw_polygons(ax, outside.geometry.values, facecolor="white", edgecolor="#9e9e9e", linewidth=0.4,
                          zorder=1)
        scheme = ANALYSIS_SCHEMES["renovation-priorities"]
        plan = self.data.part("renovation-priorities")
        tiers = plan["tier"].reindex(scope.index) if plan is not None else pd.Series(None, index=scope.index)
        index = scheme.classify(tiers)
        palette = np.array([c.color for c in scheme.classes] + [NO_DATA_COLOR], dtype=object)
        draw_polygons(ax, scope.geometry.values, facecolor=palette[index].tolist(), edgecolor="#424242",
                      linewidth=0.4, alpha=0.85, zorder=2)
        if len(scope) <= 400:
            self._labels(ax, scope, 4.2 if len(scope) > 60 else 5.5, L.INK, extent,
                         texts=[str(self.page_of.get(int(i), "")) for i in scope.index])
        entries = [outline_entry(c.label.get(self.lang), "#424242", 0.4, c.color) for c in scheme.classes]
        entries.append(outline_entry(self.t("不符合条件 / 无数据", "Not eligible / no data"), "#424242", 0.4,
                                     NO_DATA_COLOR))
        entries.append(outline_entry(self.t("范围外小区", "Compounds outside the report"), "#9e9e9e", 0.4, "white"))
        add_scale_bar(ax, extent, self.lang, avoid=list(scope.geometry.values))
        add_north_arrow(ax, self.lang)
        title = self.t("建议改造版本（图中数字为页码）", "Proposed tier (numbers: page)")
        L.legend(fig, 10, 179, entries, columns=3, col_w=170 / 3, size=6.5, title=title)
        return basemap

    def summary_rows(self) -> list[list[str]]:
        """The ranked table: compounds in page order with the figures of every analysis."""
        d = self.data
        rows = []
        district = d.scope.kind == "district"
        for i, cid in enumerate(d.pages, start=1):
            c = d.compounds.loc[cid]
            plan, gap = d.row("renovation-priorities", cid), d.row("parking-gaps", cid)
            fire, ch = d.row("hydrant-coverage", cid), d.row("charging-coverage", cid)
            wl, share = d.row("waterlogging", cid), d.row("shared-parking", cid, "unserved")
            row = [str(i), str(c.get("name") or f"#{cid}")]
            if district:
                row.append(str(c.get("street") or DASH))
            row += [tier_label(plan["tier"], self.lang) if plan is not None else DASH,
                    str(int(plan["street_rank"])) if plan is not None and plan["street_rank"] else DASH,
                    fmt_num(plan["score"], 2) if plan is not None else DASH,
                    fmt_int(gap["gap_spaces"]) if gap is not None else DASH,
                    fmt_int(share["served"]) if share is not None else (fmt_int(0) if gap is not None else DASH),
                    fmt_pct(fire["covered_share"]) if fire is not None else DASH,
                    fmt_num(ch["ports_per_100_households"]) if ch is not None else DASH,
                    fmt_int(wl["waterlogged_points"]) if wl is not None else DASH,
                    str(self.page_of.get(cid, ""))]
            rows.append(row)
        return rows

    def summary_columns(self) -> list[L.Column]:
        t = self.t
        cols = [L.Column(t("序号", "No."), 11, "right"), L.Column(t("小区名称", "Compound"), 48)]
        if self.data.scope.kind == "district":
            cols.append(L.Column(t("街镇", "Street"), 30))
        cols += [L.Column(t("建议版本", "Tier"), 20), L.Column(t("街镇内排名", "Rank in street"), 19, "right"),
                 L.Column(t("优先得分", "Score"), 18, "right"), L.Column(t("停车缺口", "Parking gap"), 19, "right"),
                 L.Column(t("共享泊位", "Shared spaces"), 19, "right"),
                 L.Column(t("消火栓覆盖", "Hydrant cover"), 21, "right"),
                 L.Column(t("每百户充电端口", "Ports /100 hh"), 24, "right"),
                 L.Column(t("达标积水点", "Flood points"), 19, "right"), L.Column(t("页码", "Page"), 13, "right")]
        return cols

    def summary_page(self, index: int, number: int) -> Figure:
        fig = L.new_page()
        title, sub = self._atlas_title()
        pages = math.ceil(len(self.data.pages) / SUMMARY_ROWS)
        head = self.t("优先级排序总表", "Ranked summary") + (f" ({index + 1}/{pages})" if pages > 1 else "")
        self._frame(fig, title, sub, number, self.t(
            "排序：街镇、建议版本、街镇内排名（改造优先级分析）；消火栓覆盖为小区面积中正常消火栓保护半径内的比例",
            "Order: street, proposed tier, rank in street (renovation priorities); hydrant cover: share of the "
            "compound's area within reach of a working hydrant"))
        y = L.section(fig, 10, 25, head, 277)
        rows = self.summary_rows()[index * SUMMARY_ROWS:(index + 1) * SUMMARY_ROWS]
        L.table(fig, 10, y, self.summary_columns(), rows, size=6.6, row_h=5.4)
        return fig

    def health_rows(self) -> list[list[str]]:
        """城市体检 figures per street of the scope, then the scope's total (a district: its row)."""
        streets = self.data.part("health-check", "streets")
        districts = self.data.part("health-check", "districts")
        total = districts[districts["district"] == "(all)"].assign(street=self.t("合计", "Total"))
        rows = []
        for _, r in pd.concat([streets.iloc[:HEALTH_ROWS], total]).iterrows():
            rows.append([str(r["street"] or DASH), fmt_int(r["compounds"]), fmt_int(r["households"]),
                         fmt_int(r["parking_gap_spaces"]), fmt_int(r["compounds_without_ebike_charging"]),
                         fmt_int(r["compounds_waterlogged"]), fmt_int(r["old_compounds"]),
                         fmt_pct(r["share_old_renovated_or_planned"]), fmt_pct(r["hydrant_covered_share"]),
                         fmt_pct(r["share_households_15min"]), fmt_pct(r["share_households_complete"])])
        return rows

    def health_page(self, number: int) -> Figure:
        """The city health check (城市体检) table of the atlas' streets, with each indicator's definition and source."""
        t = self.t
        fig = L.new_page()
        title, sub = self._atlas_title()
        note = t("指标口径：住房和城乡建设部城市体检基础指标体系（建科〔2023〕75号）中本数据可回答的住房与小区指标",
                 "Indicators: the housing and compound items of the 2023 national city health-check list that this "
                 "data answers")
        self._frame(fig, title, sub, number, note)
        y = L.section(fig, 10, 25, t("城市体检（住房与小区）", "City health check (housing and compounds)"), 277)
        cols = [L.Column(t("街镇", "Street"), 36), L.Column(t("小区数", "Compounds"), 16, "right"),
                L.Column(t("户数", "Households"), 20, "right"), L.Column(t("停车泊位缺口", "Parking gap"), 22, "right"),
                L.Column(t("无充电设施小区", "No e-bike charging"), 26, "right"),
                L.Column(t("积水小区", "Waterlogged"), 20, "right"), L.Column(t("老旧小区", "Old"), 16, "right"),
                L.Column(t("改造(含计划)比例", "Renovated or planned"), 28, "right"),
                L.Column(t("消火栓覆盖", "Hydrant cover"), 22, "right"),
                L.Column(t("15分钟生活圈(户)", "15-min circle (hh)"), 28, "right"),
                L.Column(t("完整社区(户)", "Complete community (hh)"), 32, "right")]
        y = L.table(fig, 10, y, cols, self.health_rows(), size=6.6, row_h=5.2) + 6
        indicators = self.data.part("health-check", "indicators")
        y = L.section(fig, 10, y, t("指标定义与来源", "Definitions and sources"), 277)
        for _, r in indicators.iloc[2:].iterrows():
            name = r["title_zh"] if self.lang == "zh" else r["title_en"]
            for line in L.wrap(f"{name}: {r['definition']} — {r['source']}", 270, 5.8, max_lines=2):
                L.text(fig, 12, y + 3, line, 5.8, L.MUTED)
                y += 3.2
        return fig

    def toc_page(self, index: int, number: int) -> Figure:
        fig = L.new_page()
        title, sub = self._atlas_title()
        self._frame(fig, title, sub, number)
        y0 = L.section(fig, 10, 25, self.t("目录", "Contents"), 277)
        per_page = TOC_ROWS * TOC_COLUMNS
        entries = toc_entries(self.data, self.page_of)[index * per_page:(index + 1) * per_page]
        if index == 0:
            front = [p for p in self.pages if p.kind != "compound"]
            summary = _span([p.number for p in front if p.kind == "summary"])
            toc = _span([p.number for p in front if p.kind == "toc"])
            line = self.t(f"封面 1 · 优先级排序总表 {summary} · 目录 {toc}",
                          f"Cover 1 · ranked summary {summary} · contents {toc}")
            L.text(fig, 10, y0 + 3, line, 7, L.MUTED)
        y0 += 6
        col_w = 277 / TOC_COLUMNS
        for i, (label, page, heading) in enumerate(entries):
            c, r = divmod(i, TOC_ROWS)
            x, y = 10 + c * col_w, y0 + r * 4.0 + 3
            if heading:
                L.text(fig, x, y, label, 7, L.ACCENT, width=col_w - 6)
                continue
            L.text(fig, x + 2, y, label, 6.8, width=col_w - 20)
            L.text(fig, x + col_w - 6, y, page, 6.8, ha="right")
            L.hline(fig, x + 2 + min(L.width_mm(label, 6.8), col_w - 20) + 1, x + col_w - 14, y, "#d0d0d0", 0.3)
        return fig


def _text_half_size(ax, extent, text: str, fontsize: float) -> tuple[float, float]:
    """Half the width and height of a one-line label in map units (CJK characters are one em wide,
    others about half), from the axes' size on the page; a little padding for the halo."""
    x0, x1, y0, y1 = extent
    pos = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    em_x = fontsize / 72 / (pos.width * fig_w) * (x1 - x0)
    em_y = fontsize / 72 / (pos.height * fig_h) * (y1 - y0)
    ems = sum(1.0 if ord(c) > 0x2E80 else 0.55 for c in str(text))
    return (ems * em_x) / 2 + em_x * 0.3, em_y * 0.65


def _span(numbers: Sequence[int]) -> str:
    if not numbers:
        return DASH
    return str(numbers[0]) if len(numbers) == 1 else f"{numbers[0]}–{numbers[-1]}"


def _slim(frame: gpd.GeoDataFrame, catalog: Catalog, layer: str) -> gpd.GeoDataFrame:
    """Only what maps draw (geometry, name, the styled field), so per-page selections copy little."""
    keep = ["name"]
    if layer in catalog:
        keep.append(catalog.get(layer).style.get("by_field"))
    return frame[[c for c in keep if c and c in frame.columns] + [frame.geometry.name]]


def _in_view(frame: gpd.GeoDataFrame | None, extent) -> gpd.GeoDataFrame | None:
    if frame is None or not len(frame):
        return None
    x0, x1, y0, y1 = extent
    view = frame.cx[x0:x1, y0:y1]
    return view if len(view) else None
