"""Plain, escaped HTML views of the API resources (f=html), for browsing without a GIS client."""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from ..catalog import LayerSpec
from ..store.base import QueryResult

_STYLE = ("body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:2em;max-width:70em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
          "code{background:#f3f3f3}")


def page(title: str, body: str) -> str:
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>")


def links(items: list[dict[str, Any]]) -> str:
    rows = "".join(f'<li><a href="{escape(link["href"])}">{escape(link.get("title") or link["rel"])}</a> '
                   f'<small>({escape(link["rel"])}, {escape(link.get("type", ""))})</small></li>' for link in items)
    return f"<ul>{rows}</ul>"


def landing(doc: dict[str, Any]) -> str:
    return page(doc["title"], f"<p>{escape(doc['description'])}</p>{links(doc['links'])}")


def conformance(doc: dict[str, Any]) -> str:
    return page("Conformance", "<ul>" + "".join(f"<li>{escape(c)}</li>" for c in doc["conformsTo"]) + "</ul>")


def collection_block(c: dict[str, Any]) -> str:
    bbox = c.get("extent", {}).get("spatial", {}).get("bbox", [[]])[0]
    return (f"<h2>{escape(c['title'])} <code>{escape(c['id'])}</code></h2><p>{escape(c.get('description', ''))}</p>"
            f"<p>extent: {escape(', '.join(f'{v:.5f}' for v in bbox))}</p>{links(c['links'])}")


def collections(doc: dict[str, Any]) -> str:
    return page("Collections", "".join(collection_block(c) for c in doc["collections"]))


def collection(doc: dict[str, Any]) -> str:
    return page(doc["title"], collection_block(doc))


def _cell(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    return escape(str(v))


def items(spec: LayerSpec, result: QueryResult, page_links: list[dict[str, Any]], lang: str, base: str) -> str:
    frame = result.features
    cols = [c for c in frame.columns if c != frame.geometry.name]
    head = "<tr><th>id</th>" + "".join(
        f"<th>{escape(spec.field(c).title.get(lang))}</th>" for c in cols) + "</tr>"
    rows = []
    for fid, row in frame.iterrows():
        href = f"{base}/collections/{spec.id}/items/{int(fid)}?f=html"
        rows.append(f'<tr><td><a href="{escape(href)}">{int(fid)}</a></td>'
                    + "".join(f"<td>{_cell(row[c])}</td>" for c in cols) + "</tr>")
    summary = f"<p>{result.number_returned} of {result.number_matched} features</p>"
    return page(spec.title.get(lang), summary + links(page_links) + f"<table>{head}{''.join(rows)}</table>")


def feature(spec: LayerSpec, doc: dict[str, Any], lang: str) -> str:
    rows = "".join(f"<tr><th>{escape(spec.field(k).title.get(lang))}</th><td>{_cell(v)}</td></tr>"
                   for k, v in doc["properties"].items())
    geom = doc["geometry"] or {}
    return page(f"{spec.title.get(lang)} {doc['id']}",
                f"<table>{rows}</table><p>geometry: {escape(str(geom.get('type')))}</p>{links(doc['links'])}")
