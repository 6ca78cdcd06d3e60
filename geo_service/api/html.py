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


def landing(doc: dict[str, Any], lang: str = "zh") -> str:
    return render("ogc/landing.html", title=doc["title"], doc=doc, lang=lang)


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
