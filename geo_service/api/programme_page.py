"""The ``/programme`` page: per street and category, targets against plans by stage, as tables and bar
charts drawn as inline SVG (no script, so the page's CSP needs no allowance), budgets by funding source
and the compounds still without a plan. Every text is escaped: street and compound names are data."""

from __future__ import annotations

from html import escape

from ..planning.progress import STAGES, Progress

STAGE_ZH = {"planned": "已列入方案", "approved": "已批准", "in_progress": "实施中", "completed": "已完工",
            "accepted": "已验收"}
COLOURS = {"planned": "#88ccee", "approved": "#44aa99", "in_progress": "#ddcc77", "completed": "#117733",
           "accepted": "#332288", "target": "#cc6677"}
STYLE = """body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:1.5rem;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child,td.l{text-align:left}h2{margin-top:2rem}.legend span{display:inline-block;
margin-right:1rem}.sw{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
.muted{color:#666}"""
BAR_H, GAP, LABEL_W, CHART_W = 14, 10, 200, 460


def _chart(rows: list[dict], title: str) -> str:
    """Horizontal bars per category: planned (light) under the stages reached, a red tick at the target."""
    if not rows:
        return ""
    top = max(max(r["planned"], r["target"] or 0) for r in rows) or 1
    scale = (CHART_W - LABEL_W - 40) / top
    height = len(rows) * (BAR_H + GAP) + GAP
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{CHART_W}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, r in enumerate(rows):
        y = GAP + i * (BAR_H + GAP)
        parts.append(f'<text x="{LABEL_W - 6}" y="{y + BAR_H - 3}" text-anchor="end" font-size="12">'
                     f'{escape(r["category_zh"])}</text>')
        parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{r["planned"] * scale:.1f}" height="{BAR_H}" '
                     f'fill="{COLOURS["planned"]}"><title>{escape(r["category_zh"])} 已列入方案 {r["planned"]}'
                     f'</title></rect>')
        x = LABEL_W
        for stage in STAGES:
            w = r[stage] * scale
            if w:
                parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{BAR_H - 6}" '
                             f'fill="{COLOURS[stage]}"><title>{STAGE_ZH[stage]} {r[stage]}</title></rect>')
                x += w
        if r["target"] is not None:
            tx = LABEL_W + r["target"] * scale
            parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y - 2}" y2="{y + BAR_H + 2}" '
                         f'stroke="{COLOURS["target"]}" stroke-width="2"><title>目标 {r["target"]}</title></line>')
        parts.append(f'<text x="{LABEL_W + r["planned"] * scale + 4:.1f}" y="{y + BAR_H - 3}" font-size="11">'
                     f'{r["planned"]}/{r["target"] if r["target"] is not None else "–"}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[dict]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("改造类别", "目标", *(STAGE_ZH[s] for s in ("planned", *STAGES))))
    body = "".join(
        f'<tr><td class="l">{escape(r["category_zh"])}</td><td>{r["target"] if r["target"] is not None else "–"}</td>'
        + "".join(f"<td>{r[s]}</td>" for s in ("planned", *STAGES)) + "</tr>" for r in rows)
    return f'<table class="progress"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _legend() -> str:
    items = [("target", "目标")] + [(s, STAGE_ZH[s]) for s in ("planned", *STAGES)]
    return '<p class="legend">' + "".join(f'<span><i class="sw" style="background:{COLOURS[k]}"></i>{v}</span>'
                                          for k, v in items) + "</p>"


def _budget(progress: Progress) -> str:
    rows = "".join(f'<tr><td class="l">{escape(_street(b["street"]))}</td><td>{b["plans"]}</td>'
                   f'<td>{b["budget"]:,.1f}</td><td>{b["budget_city"]:,.1f}</td><td>{b["budget_district"]:,.1f}</td>'
                   f'<td>{b["budget_owners"]:,.1f}</td></tr>' for b in progress.budget)
    return ('<h2>预算（万元）</h2><table class="budget"><thead><tr><th>街道/镇</th><th>方案数</th><th>预算合计</th>'
            f'<th>市级资金</th><th>区级资金</th><th>业主出资</th></tr></thead><tbody>{rows}</tbody></table>')


def _without(progress: Progress) -> str:
    rows = "".join(f'<tr><td class="l">{escape(_street(w["street"]))}</td><td>{w["compounds"]}</td>'
                   f'<td>{w["without_plan"]}</td><td class="l muted">{escape("、".join(w["names"]))}'
                   f'{"……" if w["without_plan"] > len(w["names"]) else ""}</td></tr>' for w in progress.without_plan)
    return ('<h2>尚无方案的小区</h2><table class="without"><thead><tr><th>街道/镇</th><th>小区数</th>'
            f'<th>尚无方案</th><th>小区</th></tr></thead><tbody>{rows}</tbody></table>')


def _street(name: str) -> str:
    return "全区" if name == "district" else name


def programme_page(progress: Progress, district: Progress, years: tuple[int, ...], base: str) -> str:
    """The district first, then each street; budgets and compounds without a plan per street."""
    p = progress.programme
    year_links = " ".join(f'<a href="{base}/programme?year={y}">{y}</a>' for y in years)
    sections = []
    all_rows = district.rows + progress.rows
    for street in dict.fromkeys(r["street"] for r in all_rows):
        rows = [r for r in all_rows if r["street"] == street]
        title = f"{_street(street)} · {progress.year}"
        sections.append(f'<section class="street"><h2>{escape(title)}</h2>{_chart(rows, title)}{_table(rows)}'
                        "</section>")
    return (f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{escape(p.name.zh)} {progress.year}'
            f'</title><style>{STYLE}</style></head><body><h1>{escape(p.name.zh)} · {progress.year} 年度进展</h1>'
            f'<p class="muted">{escape(p.name.en)} — 年度：{year_links} · '
            f'<a href="{base}/programme/progress?year={progress.year}&amp;f=csv">CSV</a> · '
            f'<a href="{base}/programme/progress?year={progress.year}">JSON</a></p>{_legend()}'
            + "".join(sections) + _budget(progress) + _without(progress) + "</body></html>")
