"""The planners' web map as a folium page: basemaps, one overlay per catalog layer, controls, config.

folium builds the Leaflet skeleton (map, tile layers, one empty FeatureGroup per layer and
overlay, the layer control, fullscreen and measure controls); ``static/webmap.js`` fills the
groups, from ``/map/data/{layer}`` by viewport on a served page or from data embedded in an
exported file, and draws the legend, popups and search box. The page itself holds no features,
so its size does not grow with the data.

Everything from data reaches the page as JSON inside one script element (``<``, ``>`` and ``&``
escaped, so no string can close it) and is put into the DOM by webmap.js as text. Layer names
are HTML-escaped because Leaflet's layer control inserts them as HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

import folium
import orjson
from branca.element import Element, MacroElement
from folium.plugins import Fullscreen, MeasureControl
from folium.template import Template

from .. import styles
from ..catalog import Catalog, LayerSpec
from . import assets, filter_examples
from .basemaps import Basemap
from .data import OVERLAYS
from .templating import render as render_template

TEXTS = {
    "zh": {"title": "住宅小区基础设施地图", "search": "搜索小区名称…", "no_results": "未找到小区",
           "loading": "加载中…", "report": "小区报告 (PDF)", "item": "API 条目", "summary": "小区概况",
           "zoom_in": "放大后显示", "too_many": "范围内要素过多，请放大", "cluster_hint": "圆中数字为聚合的要素数量",
           "color_by": "着色依据", "none_basemap": "无底图", "yes": "是", "no": "否", "error": "加载失败",
           "spaces": "个泊位", "radius": "半径", "legend": "图例", "value": "分析值",
           "filter": "筛选 (CQL2)", "filter_layer": "筛选图层", "filter_examples": "常用筛选…", "filter_apply": "应用",
           "filter_clear": "清除", "filter_placeholder": "例如 status = 'faulty'", "filter_none": "未筛选",
           "filter_on": "已筛选", "filter_matched": "共 {n} 个要素符合", "filter_list": "符合的要素列表",
           "suggested": "建议版本（分析）", "planned": "计划版本（方案）", "no_plan": "尚无方案",
           "not_eligible": "不符合条件",
           "isochrones": "步行 5/10/15 分钟范围与最近设施", "minutes": "分钟", "estimated": "估算"},
    "en": {"title": "Residential compound infrastructure", "search": "Search compound names…",
           "no_results": "No compound found", "loading": "Loading…", "report": "Compound report (PDF)",
           "item": "API item", "summary": "Compound summary", "zoom_in": "zoom in to see",
           "too_many": "too many features here; zoom in", "cluster_hint": "numbers count the features grouped",
           "color_by": "Colour by", "none_basemap": "No basemap", "yes": "Yes", "no": "No",
           "error": "failed to load", "spaces": "spaces", "radius": "radius", "legend": "Legend",
           "value": "analysis value",
           "filter": "Filter (CQL2)", "filter_layer": "Layer to filter", "filter_examples": "Examples…",
           "filter_apply": "Apply", "filter_clear": "Clear", "filter_placeholder": "e.g. status = 'faulty'",
           "filter_none": "no filter", "filter_on": "filtered", "filter_matched": "{n} features match",
           "filter_list": "matching features", "suggested": "Suggested tier (analysis)", "planned": "Plan (status)",
           "no_plan": "no plan yet", "not_eligible": "not eligible",
           "isochrones": "Walk 5/10/15 minutes, nearest facilities", "minutes": "min", "estimated": "estimated"},
}


@dataclass
class MapPage:
    """Everything one map page needs; ``api`` None means an exported file with ``data`` embedded."""

    catalog: Catalog
    lang: str
    schemes: dict[str, styles.Scheme]
    bounds: tuple[float, float, float, float] | None  # lon/lat view to open on
    basemaps: list[Basemap]
    api: str | None = None  # the service's base URL, for /map/data, /compounds/search and popups
    links_base: str | None = None  # where popup links point (the API base; given for exports too)
    color_by: str | None = None
    overlays: list[str] = field(default_factory=lambda: list(OVERLAYS))
    hydrant_radius_m: float = 150.0
    data: dict[str, bytes] | None = None  # layer id -> view JSON (exports)
    overlay_data: dict[str, bytes] | None = None  # overlay name -> overlay JSON (exports)
    focus: dict[str, Any] | None = None  # {"id": compound id} to open its popup when shown
    title: str | None = None
    visible: list[str] | None = None  # layers and overlays shown at start; None: layers by style.visible
    max_limit: int = 10000  # the API's largest page: the filter box's CSV link asks for it


def _layer_config(spec: LayerSpec, scheme: styles.Scheme, lang: str) -> dict[str, Any]:
    style = spec.style
    geoms = set(spec.geometry_types)
    kind = "point" if geoms <= {"Point", "MultiPoint"} else "polygon" if "Point" not in geoms else "mixed"
    fields = [{"name": f.name, "title": f.title.get(lang), "type": f.type, "unit": f.unit,
               "values": {k: t.get(lang) for k, t in f.values.items()} if f.values else None}
              for f in spec.fields]
    required = scheme.analysis is None and scheme.column is not None and spec.field(scheme.column).required
    return {
        "id": spec.id, "title": spec.title.get(lang), "kind": kind,
        "marker": style.get("marker", "circle"), "radius": style.get("radius", 5),
        "color": style.get("color", "#3388ff"), "fillColor": style.get("fill_color"),
        "fillOpacity": style.get("fill_opacity", 0.5), "weight": style.get("weight", 1.5),
        "label": "name" if spec.has_field("name") else None,
        "legend": scheme.legend(lang, with_missing=not required), "fields": fields,
        "colorBy": styles.color_by_choices(spec, lang) if spec.id == "compounds" else [],
        "filters": filter_examples.examples(spec, lang),
    }


def json_for_script(value: Any) -> str:
    """JSON that can sit inside a <script> element: no <, >, & or line separators left raw."""
    text = orjson.dumps(value).decode()
    for raw, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                     ("\u2029", "\\u2029")):
        text = text.replace(raw, esc)
    return text


class _Init(MacroElement):
    """The script that hands the folium-made map and groups to webmap.js (added last, so all exist)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        window.compoundMap = CompoundMap.init({{ this._parent.get_name() }}, {{ this.config }}, {
            groups: { {% for k, v in this.groups %}{{ k|tojson }}: {{ v }},{% endfor %} },
            overlays: { {% for k, v in this.overlays %}{{ k|tojson }}: {{ v }},{% endfor %} },
            basemaps: [ {% for v, gcj in this.basemaps %}[{{ v }}, {{ gcj|tojson }}],{% endfor %} ]
        });
        {% endmacro %}
    """)

    def __init__(self, config: str, groups: list, overlays: list, basemaps: list):
        super().__init__()
        self._name = "CompoundMapInit"
        self.config, self.groups, self.overlays, self.basemaps = config, groups, overlays, basemaps


def build(page: MapPage) -> folium.Map:
    """The folium map of ``page`` (render with :func:`render`)."""
    texts = TEXTS.get(page.lang, TEXTS["en"])
    # Our JS draws on its own canvas; the map's default (SVG) stays for plugins that style SVG paths.
    m = folium.Map(location=[31.2, 121.45], zoom_start=12, tiles=None, control_scale=False, prefer_canvas=False,
                   zoom_snap=0.25, max_zoom=20)  # quarter levels: the data fill the window
    m.default_js, m.default_css = [], []  # instance lists: folium's class lists point at CDNs

    base_refs = []
    for i, bm in enumerate(page.basemaps):
        layer = bm.folium_layer(page.lang, show=i == 0)
        layer.add_to(m)
        base_refs.append((layer.get_name(), bm.gcj02))
        for extra in bm.annotation_layers(show=i == 0):
            extra.add_to(m)

    groups = []
    for spec in (s for s in page.catalog if s.has_geometry):  # a table without geometry has nothing to draw
        show = spec.id in page.visible if page.visible is not None else bool(spec.style.get("visible", True))
        fg = folium.FeatureGroup(name=escape(spec.title.get(page.lang)), show=show).add_to(m)
        groups.append((spec.id, fg.get_name()))
    overlays = []
    for name in page.overlays:
        ov = OVERLAYS[name]
        show = page.visible is not None and name in page.visible
        fg = folium.FeatureGroup(name=escape(ov.title.get(page.lang)), show=show).add_to(m)
        overlays.append((name, fg.get_name()))

    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    full = Fullscreen(position="topleft", title="全屏" if page.lang == "zh" else "Full screen",
                      title_cancel="退出全屏" if page.lang == "zh" else "Exit full screen")
    measure = MeasureControl(position="topleft", primary_length_unit="meters", secondary_length_unit="kilometers",
                             primary_area_unit="sqmeters", secondary_area_unit="hectares",
                             localization="cn" if page.lang == "zh" else "en")
    for control in (full, measure):
        control.default_js, control.default_css = [], []
        control.add_to(m)

    config = {
        "lang": page.lang, "texts": texts, "api": page.api, "links": page.links_base,
        "colorBy": page.color_by,
        "layers": [_layer_config(spec, page.schemes[spec.id], page.lang) for spec in page.catalog
                   if spec.has_geometry],
        "overlays": [{"name": n, "title": OVERLAYS[n].title.get(page.lang), "kind": OVERLAYS[n].kind,
                      "minZoom": OVERLAYS[n].min_zoom, "color": OVERLAYS[n].color} for n in page.overlays],
        "hydrantRadius": page.hydrant_radius_m, "focus": page.focus, "maxLimit": page.max_limit,
        "bounds": [round(float(v), 7) for v in page.bounds] if page.bounds is not None else None,
        "data": {k: orjson.Fragment(v) for k, v in page.data.items()} if page.data is not None else None,
        "overlayData": {k: orjson.Fragment(v) for k, v in page.overlay_data.items()}
        if page.overlay_data is not None else None,
    }
    _Init(json_for_script(config), groups, overlays, base_refs).add_to(m)
    root = m.get_root()
    root.title = escape(page.title or texts["title"])
    root.html.add_child(Element(render_template("map/title.html", title=page.title or texts["title"])))
    return m


def render(page: MapPage, asset_prefix: str | None) -> str:
    """The page's HTML: assets linked from ``asset_prefix`` (e.g. http://host/static), or inlined when None."""
    m = build(page)
    tags = assets.link_tags(asset_prefix) if asset_prefix is not None else assets.inline_tags()
    m.get_root().header.add_child(Element(tags), name="compound_gis_assets", index=0)
    html = m.get_root().render()
    lang = "zh-CN" if page.lang == "zh" else "en"
    return html.replace("<html>", f'<html lang="{lang}">', 1).replace(
        "<head>", '<head>\n<meta charset="utf-8">', 1)
