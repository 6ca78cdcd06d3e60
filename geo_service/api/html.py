"""Plain HTML views of the API resources (f=html), for browsing without a GIS client.

OGC's html class asks for every piece of information of the JSON and every link, as <a>
elements, in the body. Every value that comes from data or from the request is escaped here:
names, titles and properties are user data and may hold markup.
"""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from ..catalog import LayerSpec
from ..store.base import QueryResult

_STYLE = ("body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:2em;max-width:80em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;"
          "vertical-align:top}code{background:#f3f3f3}small{color:#555}")


def _e(v: Any) -> str:
    return escape(str(v), quote=True)


def page(title: str, body: str, lang: str = "zh") -> str:
    return (f'<!doctype html><html lang="{_e(lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{_e(title)}</h1>{body}</body></html>")


def links(items: list[dict[str, Any]]) -> str:
    rows = "".join(f'<li><a href="{_e(link["href"])}" rel="{_e(link["rel"])}" type="{_e(link.get("type", ""))}">'
                   f'{_e(link.get("title") or link["rel"])}</a> '
                   f'<small>({_e(link["rel"])}, {_e(link.get("type", ""))})</small></li>' for link in items)
    return f"<ul>{rows}</ul>"


def cell(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    return _e(v)


def landing(doc: dict[str, Any], lang: str = "zh") -> str:
    return page(doc["title"], f"<p>{_e(doc['description'])}</p>{links(doc['links'])}", lang)


def conformance(doc: dict[str, Any], lang: str = "zh") -> str:
    items = "".join(f'<li><a href="{_e(c)}">{_e(c)}</a></li>' for c in doc["conformsTo"])
    return page("Conformance", f"<ul>{items}</ul>", lang)


def _extent(c: dict[str, Any]) -> str:
    spatial = c.get("extent", {}).get("spatial", {})
    boxes = spatial.get("bbox") or []
    if not boxes:
        return "<tr><th>extent</th><td>(empty)</td></tr>"
    text = "; ".join(", ".join(f"{v:.6f}" for v in box) for box in boxes)
    return f"<tr><th>extent</th><td>{_e(text)} <small>({_e(spatial.get('crs', ''))})</small></td></tr>"


def collection_block(c: dict[str, Any]) -> str:
    crs = "".join(f"<li>{_e(u)}</li>" for u in c.get("crs", []))
    return (f"<h2>{_e(c['title'])} <code>{_e(c['id'])}</code></h2><p>{_e(c.get('description', ''))}</p>"
            f"<table><tr><th>id</th><td>{_e(c['id'])}</td></tr>"
            f"<tr><th>itemType</th><td>{_e(c.get('itemType', ''))}</td></tr>{_extent(c)}"
            f"<tr><th>storageCrs</th><td>{_e(c.get('storageCrs', ''))}</td></tr>"
            f"<tr><th>crs</th><td><ul>{crs}</ul></td></tr></table>{links(c['links'])}")


def collections(doc: dict[str, Any], lang: str = "zh") -> str:
    return page("Collections", links(doc["links"]) + "".join(collection_block(c) for c in doc["collections"]), lang)


def collection(doc: dict[str, Any], lang: str = "zh") -> str:
    return page(doc["title"], collection_block(doc), lang)


def schema(doc: dict[str, Any], lang: str = "zh") -> str:
    """A JSON Schema (describedby or queryables) as a table of its properties."""
    keys = ("title", "type", "format", "enum", "minimum", "maximum", "x-ogc-unit", "x-ogc-role", "description")
    head = "<tr><th>name</th>" + "".join(f"<th>{_e(k)}</th>" for k in keys) + "</tr>"
    rows = "".join("<tr><th>" + _e(name) + "</th>" + "".join(
        f"<td>{cell(', '.join(map(str, p[k])) if isinstance(p.get(k), list) else p.get(k))}</td>" for k in keys)
        + "</tr>" for name, p in doc["properties"].items())
    required = ", ".join(doc.get("required", []))
    meta = (f'<p>$id: <a href="{_e(doc["$id"])}">{_e(doc["$id"])}</a><br>$schema: {_e(doc["$schema"])}<br>'
            f"required: {_e(required or '-')}"
            + ("<br>additionalProperties: false" if doc.get("additionalProperties") is False else "") + "</p>")
    return page(doc["title"], meta + f"<table>{head}{rows}</table>", lang)


def items(spec: LayerSpec, result: QueryResult, page_links: list[dict[str, Any]], wkts: list[str], lang: str,
          base: str, time_stamp: str) -> str:
    frame = result.features
    cols = [c for c in frame.columns if c != frame.geometry.name]
    head = "<tr><th>id</th>" + "".join(f"<th>{_e(spec.field(c).title.get(lang))} <small>{_e(c)}</small></th>"
                                       for c in cols) + "<th>geometry</th></tr>"
    rows = []
    values = [frame[c].tolist() for c in cols]
    for i, fid in enumerate(frame.index.tolist()):
        href = f"{base}/collections/{spec.id}/items/{int(fid)}?f=html"
        rows.append(f'<tr><td><a href="{_e(href)}">{int(fid)}</a></td>'
                    + "".join(f"<td>{cell(v[i])}</td>" for v in values) + f"<td><code>{_e(wkts[i])}</code></td></tr>")
    summary = (f"<p>numberReturned: {result.number_returned}, numberMatched: {result.number_matched}, "
               f"timeStamp: {_e(time_stamp)}</p>")
    return page(spec.title.get(lang), summary + links(page_links) + f"<table>{head}{''.join(rows)}</table>", lang)


def feature(spec: LayerSpec, doc: dict[str, Any], wkt: str, lang: str) -> str:
    rows = "".join(f"<tr><th>{_e(spec.field(k).title.get(lang))} <small>{_e(k)}</small></th><td>{cell(v)}</td></tr>"
                   for k, v in doc["properties"].items())
    return page(f"{spec.title.get(lang)} {doc['id']}",
                f"<table><tr><th>id</th><td>{_e(doc['id'])}</td></tr>{rows}"
                f"<tr><th>geometry</th><td><code>{_e(wkt)}</code></td></tr></table>{links(doc['links'])}", lang)
