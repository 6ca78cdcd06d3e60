"""Plain HTML views of the API resources (f=html), for browsing without a GIS client.

OGC's html class asks for every piece of information of the JSON and every link, as <a>
elements, in the body. The pages are Jinja2 templates (``web/templates/ogc``) with autoescaping:
names, titles and properties are user data and may hold markup, and they reach the page as text.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from ..catalog import LayerSpec, Title
from ..store.base import QueryResult
from ..web.templating import Markup, blank, macro, render

SCHEMA_KEYS = ("title", "type", "format", "enum", "minimum", "maximum", "x-ogc-unit", "x-ogc-role", "description")
PARTS = "ogc/parts.html"


def page(title: str, body: str, lang: str = "zh") -> str:
    """A page around ``body``, HTML made by the functions here (so it is inserted as it is)."""
    return render("ogc/base.html", title=title, body=Markup(body), lang=lang)


def links(items: list[dict[str, Any]]) -> str:
    return str(macro(PARTS, "links")(items))


def cell(v: Any) -> str:
    return str(render("ogc/cell.html", value=v))


LANDING_TEXTS = {
    "zh": {"intro": "本服务汇集住宅小区及其基础设施（消火栓、停车设施、电动自行车充电点、积水点）的数据，"
                    "提供地图、分析、改造方案报告和开放接口。",
           "map": "打开地图", "map_hint": "小区与设施分布、分析着色、小区概况", "data": "浏览数据",
           "data_hint": "各图层的要素表格", "api": "接口文档", "api_hint": "OGC API - Features（本地 Swagger UI）",
           "holds": "数据内容", "layer": "图层", "count": "要素数", "updated": "最后更新", "on_map": "在地图上查看",
           "reports": "报告 (PDF)", "reports_hint": "单个小区的报告在地图上点击小区后打开；街镇和区的图集在后台生成，"
                                                "链接先返回任务状态。",
           "district_atlas": "区图集", "street_atlas": "街镇图集", "for_clients": "客户端链接（OGC API）"},
    "en": {"intro": "Residential compounds and their infrastructure (fire hydrants, parking, e-bike charging, "
                    "waterlogging points): a web map, analyses, renovation reports and an open API.",
           "map": "Open the map", "map_hint": "compounds and facilities, analysis colours, compound summaries",
           "data": "Browse the data", "data_hint": "each layer's features as tables", "api": "API documentation",
           "api_hint": "OGC API - Features (Swagger UI, served locally)", "holds": "What the service holds",
           "layer": "Layer", "count": "Features", "updated": "Last update", "on_map": "show on the map",
           "reports": "Reports (PDF)", "reports_hint": "A compound's report opens from the compound on the map; "
                                                       "street and district atlases are made in the background "
                                                       "(the link answers with the job first).",
           "district_atlas": "District atlas", "street_atlas": "Street atlas", "for_clients": "Links for clients "
                                                                                              "(OGC API)"},
}


def landing(doc: dict[str, Any], lang: str = "zh", layers: list[dict[str, Any]] | None = None,
            streets: list[dict[str, str]] | None = None, districts: list[dict[str, str]] | None = None,
            base: str = "") -> str:
    """The landing page for people: layers with counts and last update, the map, reports, API docs."""
    texts = LANDING_TEXTS.get(lang, LANDING_TEXTS["en"])
    return render("ogc/landing.html", title=doc["title"], doc=doc, lang=lang, t=texts, layers=layers or [],
                  streets=streets or [], districts=districts or [], base=base)


def conformance(doc: dict[str, Any], lang: str = "zh") -> str:
    return render("ogc/conformance.html", title="Conformance", doc=doc, lang=lang)


def collection_block(c: dict[str, Any]) -> str:
    return str(macro(PARTS, "collection_block")(c))


def collections(doc: dict[str, Any], lang: str = "zh") -> str:
    return render("ogc/collections.html", title="Collections", doc=doc, lang=lang)


def collection(doc: dict[str, Any], lang: str = "zh") -> str:
    return render("ogc/collection.html", title=doc["title"], doc=doc, lang=lang)


def schema(doc: dict[str, Any], lang: str = "zh") -> str:
    """A JSON Schema (describedby or queryables) as a table of its properties."""
    rows = [(name, [", ".join(map(str, p[k])) if isinstance(p.get(k), list) else p.get(k) for k in SCHEMA_KEYS])
            for name, p in doc["properties"].items()]
    return render("ogc/schema.html", title=doc["title"], doc=doc, keys=SCHEMA_KEYS, rows=rows, lang=lang)


YES_NO = {True: Title("是", "Yes"), False: Title("否", "No")}
GEOMETRY_WORDS = {"zh": ("{n} 个顶点", "中心"), "en": ("{n} vertices", "centre")}


def label(spec: LayerSpec, name: str, value: Any, lang: str) -> Any:
    """A stored value as people read it: a coded value by its label, a boolean as yes/no."""
    if not spec.has_field(name) or value is None:
        return value
    fs = spec.field(name)
    if fs.values and isinstance(value, str) and value in fs.values:
        return fs.values[value].get(lang)
    if isinstance(value, bool | np.bool_):
        return YES_NO[bool(value)].get(lang)
    return value


def geometry_summary(geom: Any, lang: str) -> str:
    """A line instead of the WKT: type, vertex count, centroid (rows stay one line high)."""
    if geom is None or shapely.is_empty(geom):
        return "—"
    vertices, centre = GEOMETRY_WORDS.get(lang, GEOMETRY_WORDS["en"])
    c = shapely.centroid(geom)
    fmt = (lambda v: f"{v:.5f}") if max(abs(c.x), abs(c.y)) < 1000 else (lambda v: f"{v:.1f}")
    count = vertices.format(n=shapely.get_num_coordinates(geom))
    return f"{geom.geom_type} · {count} · {centre} {fmt(c.x)}, {fmt(c.y)}"


def items(spec: LayerSpec, result: QueryResult, page_links: list[dict[str, Any]], geoms: Any, lang: str,
          base: str, time_stamp: str) -> str:
    """The items page: labels for coded values, a one-line geometry summary (in the response CRS)."""
    frame = result.features
    cols = [c for c in frame.columns if c != frame.geometry.name]
    values = [[label(spec, c, v, lang) for v in frame[c].tolist()] for c in cols]
    rows = [{"id": int(fid), "href": f"{base}/collections/{spec.id}/items/{int(fid)}?f=html",
             "values": [v[i] for v in values], "geometry": geometry_summary(geoms[i], lang)}
            for i, fid in enumerate(frame.index.tolist())]
    return render("ogc/items.html", title=spec.title.get(lang), lang=lang, page_links=page_links,
                  columns=[(spec.field(c).title.get(lang), c) for c in cols], rows=rows,
                  number_returned=result.number_returned, number_matched=result.number_matched,
                  time_stamp=time_stamp)


def feature(spec: LayerSpec, doc: dict[str, Any], wkt: str, lang: str) -> str:
    rows = [(spec.field(k).title.get(lang), k, label(spec, k, v, lang)) for k, v in doc["properties"].items()]
    return render("ogc/feature.html", title=f"{spec.title.get(lang)} {doc['id']}", doc=doc, rows=rows, wkt=wkt,
                  lang=lang)


__all__ = ["blank", "cell", "collection", "collection_block", "collections", "conformance", "feature", "items",
           "landing", "links", "page", "schema"]
