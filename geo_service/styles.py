"""Colour classes for the map: from a layer's ``style`` block, any of its fields, or an analysis result.

A :class:`Scheme` maps each feature to one class (key, colour, zh/en label); the legend lists the
classes, and the viewport responses carry each feature's class key, so the browser colours
features without knowing the rule. Categorical fields take their colours from ``style.colors``
(or a palette), numeric fields get "nice" breaks from the data, and the analyses the map can
colour compounds by have fixed classes chosen for what the numbers mean to a planner.

Both products use these classes (the web map's legend and the reports' maps agree), so the module
sits beside them rather than inside either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .analysis.registry import REGISTRY
from .catalog import FieldSpec, LayerSpec, Title

NO_DATA_COLOR = "#bdbdbd"
NO_DATA = "_none"
# Qualitative palette for categorical fields whose layer style names no colours (ColorBrewer Dark2 + Set1).
PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#377eb8", "#984ea3",
           "#ff7f00")
# Sequential palette for numeric classes, low to high (ColorBrewer YlOrRd).
SEQUENTIAL = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
YES_NO = {"true": Title("是", "Yes"), "false": Title("否", "No")}


@dataclass(frozen=True)
class ColorClass:
    key: str
    color: str
    label: Title


@dataclass(frozen=True)
class Scheme:
    """How one layer's features are coloured, and the legend that says so."""

    name: str
    title: Title
    column: str | None  # the field (or analysis column) read; None: one class for the whole layer
    classes: tuple[ColorClass, ...]
    edges: tuple[float, ...] | None = None  # numeric: class i holds edges[i-1] <= v < edges[i]
    analysis: str | None = None  # registry name when the values come from an analysis result
    part: str = "compounds"
    unit: str | None = None
    missing: Title = Title("无数据", "No data")  # what a feature without a value means here
    worst_first: tuple[str, ...] = ()  # class keys from worst to best: a cluster shows the worst it holds

    @property
    def no_data(self) -> ColorClass:
        return ColorClass(NO_DATA, NO_DATA_COLOR, self.missing)

    def keys(self) -> list[str]:
        return [c.key for c in self.classes] + [NO_DATA]

    def ranks(self) -> np.ndarray | None:
        """Rank of each class (and no data, last) for clusters, 0 = worst; None when the classes have no order."""
        if not self.worst_first:
            return None
        order = {k: i for i, k in enumerate(self.worst_first)}
        return np.array([order.get(k, len(order)) for k in self.keys()], dtype=np.int16)

    def classify(self, values: Any) -> np.ndarray:
        """Class index of each value (``len(classes)`` for missing or unknown values)."""
        values = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
        n = len(self.classes)
        if self.column is None:
            return np.zeros(len(values), dtype=np.int16)
        if self.edges is not None:
            nums = pd.to_numeric(values.astype(object).where(values.notna(), None), errors="coerce").to_numpy(float)
            out = np.searchsorted(np.asarray(self.edges, dtype=float), nums, side="right").astype(np.int16)
            out[np.isnan(nums)] = n
            return out
        index = {c.key: i for i, c in enumerate(self.classes)}
        codes, uniques = pd.factorize(values, use_na_sentinel=True)  # few distinct values: key each once
        lookup = np.array([index.get(category_key(u), n) for u in uniques] + [n], dtype=np.int16)
        return lookup[codes]  # code -1 (missing) picks the last entry, n

    def legend(self, lang: str, with_missing: bool = True) -> dict[str, Any]:
        """The legend as plain data for the page script (it builds the DOM with textContent)."""
        shown = (*self.classes, self.no_data) if with_missing else self.classes
        return {"name": self.name, "title": self.title.get(lang),
                "classes": [{"key": c.key, "color": c.color, "label": c.label.get(lang)} for c in shown]}


def category_key(v: Any) -> str | None:
    """The class key of a categorical value: booleans as "true"/"false", missing as None."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    return str(v)


# ------------------------------------------------------------------ from layer specs

def layer_scheme(spec: LayerSpec, values: Any = None) -> Scheme:
    """The layer's own colouring: ``style.by_field`` and ``style.colors``, else one colour."""
    by = spec.style.get("by_field")
    if by:
        return field_scheme(spec, by, values)
    color = spec.style.get("fill_color") or spec.style.get("color") or PALETTE[0]
    return Scheme(spec.id, spec.title, None, (ColorClass("_all", color, spec.title),))


def colorable_fields(spec: LayerSpec) -> list[FieldSpec]:
    """Fields a layer can be coloured by: categories (listed values, booleans) and numbers."""
    return [f for f in spec.fields if f.values or f.type in ("boolean", "integer", "number")]


def field_scheme(spec: LayerSpec, name: str, values: Any = None) -> Scheme:
    """Colour by one field: categories from the spec, or numeric breaks from ``values``."""
    fs = spec.field(name)
    colors = spec.style.get("colors", {}) if spec.style.get("by_field") == name else {}
    if fs.values or fs.type == "boolean":
        labels = fs.values or YES_NO
        classes = tuple(ColorClass(key, str(colors.get(key) or PALETTE[i % len(PALETTE)]), label)
                        for i, (key, label) in enumerate(labels.items()))
        worst = spec.style.get("worst_first", ()) if spec.style.get("by_field") == name else ()
        return Scheme(name, fs.title, name, classes, worst_first=tuple(str(k) for k in worst))
    if fs.type in ("integer", "number"):
        edges = nice_breaks(values if values is not None else [], integer=fs.type == "integer")
        return numeric_scheme(name, fs.title, name, edges, SEQUENTIAL, integer=fs.type == "integer", unit=fs.unit)
    raise ValueError(f"{spec.id}.{name}: a {fs.type} field without listed values cannot colour the map")


def numeric_scheme(name: str, title: Title, column: str, edges: tuple[float, ...], colors: tuple[str, ...],
                   integer: bool, unit: str | None = None, analysis: str | None = None,
                   labels: tuple[Title, ...] | None = None) -> Scheme:
    """Classes below, between and above ``edges``; labels like "< 1980", "1980–1989", "≥ 2010"."""
    k = len(edges) + 1
    palette = _spread(colors, k)
    made = labels or tuple(_range_label(edges, i, integer) for i in range(k))
    classes = tuple(ColorClass(f"c{i}", palette[i], made[i]) for i in range(k))
    return Scheme(name, title, column, classes, edges=tuple(float(e) for e in edges), analysis=analysis, unit=unit)


def _spread(colors: tuple[str, ...], k: int) -> tuple[str, ...]:
    if k >= len(colors):
        return tuple(colors[min(i, len(colors) - 1)] for i in range(k))
    picks = np.round(np.linspace(0, len(colors) - 1, k)).astype(int)
    return tuple(colors[i] for i in picks)


def _fmt(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.4g}"


def _range_label(edges: tuple[float, ...], i: int, integer: bool) -> Title:
    if not edges:
        return Title("全部", "All")
    if i == 0:
        text = f"< {_fmt(edges[0])}"
    elif i == len(edges):
        text = f"≥ {_fmt(edges[-1])}"
    else:
        lo, hi = edges[i - 1], edges[i]
        whole = integer and float(lo).is_integer() and float(hi).is_integer()
        if whole and hi - lo == 1:
            text = _fmt(lo)
        elif whole:
            text = f"{_fmt(lo)}–{_fmt(hi - 1)}"  # integers: the upper edge belongs to the next class
        else:
            text = f"{_fmt(lo)}–{_fmt(hi)}"
    return Title(text, text)


def nice_breaks(values: Any, classes: int = 5, integer: bool = True) -> tuple[float, ...]:
    """Quantile breaks rounded to a round step (decades for build years, hundreds for households).

    Round numbers read better in a legend than exact quantiles, and stay put when a few
    features change; duplicates after rounding are dropped, so skewed data get fewer classes.
    """
    nums = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").dropna().to_numpy(float)
    if len(nums) < 2 or nums.min() == nums.max():
        return ()
    qs = np.quantile(nums, np.linspace(0, 1, classes + 1)[1:-1])
    lo, hi = np.quantile(nums, [0.05, 0.95])
    span = (hi - lo) / classes if hi > lo else (nums.max() - nums.min()) / classes
    step = 10.0 ** math.floor(math.log10(span)) if span > 0 else 1.0
    if integer:
        step = max(step, 1.0)
    edges = sorted({round(float(q) / step) * step for q in qs})
    edges = [e for e in edges if nums.min() < e <= nums.max()]
    return tuple(float(round(e, 10)) for e in edges)


# ------------------------------------------------------------------ from analysis results

def _analysis_schemes() -> dict[str, Scheme]:
    """Compounds coloured by an analysis: the column read and classes that mean something."""
    good, fair, poor, bad = "#2e7d32", "#f9a825", "#ef6c00", "#c62828"
    # the same colours as the compounds' own tier field (layers/compounds.yaml): one meaning, one colour
    tiers = (ColorClass("demonstration", "#882255", Title("示范版", "Demonstration")),
             ColorClass("upgrade", "#cc6677", Title("提升版", "Upgrade")),
             ColorClass("basic", "#ddcc77", Title("基础版", "Basic")))
    return {
        "parking-gaps": numeric_scheme(
            "parking-gaps", Title("停车缺口(泊位)", "Parking gap (spaces)"), "gap_spaces", (1, 21, 51, 101),
            (good, "#fdd835", fair, poor, bad), integer=True, unit="spaces", analysis="parking-gaps",
            labels=(Title("无缺口", "No gap"), Title("1–20", "1–20"), Title("21–50", "21–50"),
                    Title("51–100", "51–100"), Title("> 100", "> 100"))),
        "hydrant-coverage": numeric_scheme(
            "hydrant-coverage", Title("消火栓覆盖比例", "Hydrant coverage"), "covered_share", (0.7, 0.9, 0.99995),
            (bad, poor, fair, good), integer=False, analysis="hydrant-coverage",
            labels=(Title("< 70%", "< 70%"), Title("70–90%", "70–90%"), Title("90–100%", "90–100%"),
                    Title("全覆盖", "Fully covered"))),
        "renovation-priorities": Scheme(
            "renovation-priorities", Title("建议改造版本", "Proposed renovation tier"), "tier", tiers,
            analysis="renovation-priorities", missing=Title("不符合改造条件", "Not eligible")),
        "plan-status": Scheme(
            "plan-status", Title("计划版本状态", "Plan status"), "plan_status",
            # one meaning, one ramp: the further along the process, the darker (cancelled: grey)
            tuple(ColorClass(k, c, Title(zh, en)) for k, c, zh, en in (
                ("proposed", "#deebf7", "拟定", "Proposed"), ("consulting", "#c6dbef", "征询居民意见", "Consulting"),
                ("public_notice", "#9ecae1", "方案公示", "Public notice"),
                ("approved", "#6baed6", "已批准", "Approved"),
                ("in_progress", "#4292c6", "实施中", "In progress"), ("completed", "#2171b5", "已完工", "Completed"),
                ("accepted", "#08306b", "已验收", "Accepted"), ("cancelled", "#969696", "已取消", "Cancelled"))),
            analysis="renovation-priorities", missing=Title("本年度尚无方案", "No plan this year")),
        "charging-coverage": Scheme(
            "charging-coverage", Title("充电设施达标", "E-bike charging target"), "meets_target",
            (ColorClass("true", good, Title("达标", "Meets target")),
             ColorClass("false", bad, Title("未达标", "Below target"))), analysis="charging-coverage"),
        "waterlogging": numeric_scheme(
            "waterlogging", Title("达标积水点数", "Waterlogging points"), "waterlogged_points", (1, 2, 4),
            (good, fair, poor, bad), integer=True, analysis="waterlogging",
            labels=(Title("无", "None"), Title("1", "1"), Title("2–3", "2–3"), Title("≥ 4", "≥ 4"))),
        "life-circle": numeric_scheme(
            "life-circle", Title("生活圈设施完整度", "Life-circle completeness"), "completeness", (0.5, 0.75, 0.99995),
            (bad, poor, fair, good), integer=False, analysis="life-circle",
            labels=(Title("< 50%", "< 50%"), Title("50–75%", "50–75%"), Title("75–100%", "75–100%"),
                    Title("全部达标", "Complete"))),
    }


ANALYSIS_SCHEMES = _analysis_schemes()


def analysis_scheme(name: str) -> Scheme | None:
    """The compound colouring of an analysis, when the analysis registry has it (None otherwise)."""
    scheme = ANALYSIS_SCHEMES.get(name)
    return scheme if scheme is not None and scheme.analysis in REGISTRY else None


def color_by_choices(spec: LayerSpec, lang: str) -> list[dict[str, str]]:
    """What the colour-by selector offers for a layer: its fields, then (compounds) the analyses."""
    out = [{"name": f.name, "title": f.title.get(lang)} for f in colorable_fields(spec)]
    if spec.id == "compounds":
        out += [{"name": n, "title": s.title.get(lang)} for n in ANALYSIS_SCHEMES
                if (s := analysis_scheme(n)) is not None]
    return out
