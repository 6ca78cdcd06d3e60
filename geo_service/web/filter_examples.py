"""Ready-made CQL2 filters for the map's filter box, made from a layer's catalog entry.

A planner rarely writes CQL2 from nothing; a few examples in the page's language that already name
the layer's fields and values (the same codes the API takes) show the syntax and are one click away
from the question most often asked ("faulty hydrants", "built before 2000", "never inspected").
"""

from __future__ import annotations

import datetime as dt

from ..catalog import FieldSpec, LayerSpec

MAX_EXAMPLES = 5
_WORDS = {
    "zh": {"in": "{t}为 {v}", "or": " 或 ", "missing": "{t}未填写", "before": "{t}早于 {d}",
           "year": "{t}早于 {y} 年", "like": "{t}含“{s}”", "and": "{a}，且{b}"},
    "en": {"in": "{t} is {v}", "or": " or ", "missing": "{t} missing", "before": "{t} before {d}",
           "year": "{t} before {y}", "like": "{t} contains “{s}”", "and": "{a}, and {b}"},
}
_NO = {"zh": "否", "en": "no"}
NAME_SAMPLE = {"compounds": "新村"}  # a word planners look for in names (old workers' villages, 工人新村)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _coded(spec: LayerSpec, fs: FieldSpec, lang: str) -> tuple[str, str] | None:
    """Values after the first (which is the normal state in this catalog's lists): `f IN (...)`."""
    codes = list(fs.values or {})[1:3]
    if not codes:
        return None
    words = _WORDS[lang]
    labels = words["or"].join(fs.values[c].get(lang) for c in codes)
    cql = f"{fs.name} = {_quote(codes[0])}" if len(codes) == 1 else \
        f"{fs.name} IN ({', '.join(_quote(c) for c in codes)})"
    return words["in"].format(t=fs.title.get(lang), v=labels), cql


def _one(spec: LayerSpec, fs: FieldSpec, lang: str) -> tuple[str, str] | None:
    words, title = _WORDS[lang], fs.title.get(lang)
    if fs.values:
        return _coded(spec, fs, lang)
    if fs.type == "date":
        day = dt.date(dt.date.today().year - 3, 1, 1).isoformat()
        return words["before"].format(t=title, d=day), f"{fs.name} < DATE('{day}')"
    if fs.type == "boolean":
        return words["in"].format(t=title, v=_NO[lang]), f"{fs.name} = false"
    if fs.type == "integer" and fs.minimum is not None and fs.minimum >= 1800:  # a year
        return words["year"].format(t=title, y=2000), f"{fs.name} < 2000"
    if fs.name == "name" and spec.id in NAME_SAMPLE:
        sample = NAME_SAMPLE[spec.id]
        return words["like"].format(t=title, s=sample), f"name LIKE {_quote('%' + sample + '%')}"
    return None


def examples(spec: LayerSpec, lang: str) -> list[dict[str, str]]:
    """Up to five {title, cql} pairs: single conditions, one combination, one data-quality check."""
    lang = lang if lang in _WORDS else "en"
    fields = sorted((fs for fs in spec.fields if fs.filterable and fs.name != "source_id"),
                    key=lambda fs: fs.name != "status")  # the state of an asset is what is asked first
    singles = [e for fs in fields if (e := _one(spec, fs, lang))]
    out = [{"title": t, "cql": c} for t, c in singles[:3]]
    if len(singles) >= 2:
        (ta, ca), (tb, cb) = singles[:2]
        out.append({"title": _WORDS[lang]["and"].format(a=ta, b=tb), "cql": f"{ca} AND {cb}"})
    optional = [fs for fs in spec.fields if not fs.required and fs.type in ("number", "integer", "date")]
    if optional:
        fs = optional[0]
        out.append({"title": _WORDS[lang]["missing"].format(t=fs.title.get(lang)), "cql": f"{fs.name} IS NULL"})
    return out[:MAX_EXAMPLES]
