"""Request parsing shared by every router, as FastAPI dependencies and the small parsers behind them.

A router declares what it takes (`Depends(layer_spec)`, `Depends(output_format)`, ...) and receives
checked values; every message about a bad parameter comes from here, so the same mistake reads the
same on /collections, /compounds, /map and /analysis.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from fastapi import Path, Query, Request
from shapely.geometry.base import BaseGeometry

from ..catalog import FieldSpec, LayerSpec
from ..crs import CRS84, InvalidBbox, bbox_to_crs84, parse_crs_uri, supported_crs
from ..settings import Settings
from ..store import cql
from ..store.base import Filter
from ..store.base import Query as StoreQuery
from ..store.filtering import coerce_value
from .errors import ApiError, bad, not_found
from .responses import HTML

Bbox = tuple[float, float, float, float]
MAX_FEATURE_ID = 2**63 - 1

LayerId = Path(..., description="collection id (a layer of the catalog)", pattern=r"^[a-z][a-z0-9_]*$")
Format = Literal["json", "html"]
FeatureFormat = Literal["json", "geojson", "html"]
F = Query(None, description="json or html (default: from the Accept header, else json)")


# ------------------------------------------------------------------ the app's parts

def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def lang(request: Request) -> str:
    return request.app.state.settings.lang


def spec_of(request: Request, collection_id: str) -> LayerSpec:
    catalog = request.app.state.store.catalog
    if collection_id not in catalog:
        raise not_found(f"collection {collection_id!r} not found; see /collections")
    return catalog.get(collection_id)


async def layer_spec(request: Request, collection_id: str = LayerId) -> LayerSpec:
    """The collection of the path, looked up once (404 when the catalog has no such layer). Async although it
    waits on nothing: FastAPI runs a sync dependency in the threadpool, a hop that costs more than the lookup."""
    return spec_of(request, collection_id)


# ------------------------------------------------------------------ negotiation and unknown parameters

def _accept_q(accept: str) -> tuple[float, float]:
    """The best quality the Accept header gives HTML and JSON (*/* counts for JSON, our default)."""
    q_html = q_json = 0.0
    for part in accept.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in (HTML, "application/xhtml+xml"):
            q_html = max(q_html, q)
        elif media.endswith("json") or media in ("*/*", "application/*"):
            q_json = max(q_json, q)
    return q_html, q_json


def wants_html(request: Request, f: str | None) -> bool:
    """f wins; else HTML only when the client prefers it to JSON (a browser does, GDAL and curl don't)."""
    if f is not None:
        return f == "html"
    q_html, q_json = _accept_q(request.headers.get("accept", ""))
    return q_html > q_json


def check_params(request: Request, allowed: Iterable[str], hint: str = "") -> None:
    """Part 1 /req/core/query-param-unknown: a parameter the API definition does not declare is a 400."""
    allowed = set(allowed)
    unknown = [k for k in dict.fromkeys(request.query_params.keys()) if k not in allowed]
    if unknown:
        raise bad(f"unknown query parameter(s) {', '.join(map(repr, unknown))}; this resource takes: "
                  f"{', '.join(sorted(allowed))}{hint}")


def format_param(request: Request, allowed: tuple[str, ...] = ("json", "html")) -> str | None:
    """`f`, read from the query: the OGC routes document it in their own fragment, not in a signature."""
    f = request.query_params.get("f")
    if f is not None and f not in allowed:
        raise bad(f"f={f!r}: use {' or '.join(allowed)}")
    return f


async def only_f(request: Request) -> bool:
    """For resources that take nothing but `f`: whether to answer HTML (async: no threadpool hop)."""
    check_params(request, ["f"])
    return wants_html(request, format_param(request))


# ------------------------------------------------------------------ bbox, CRS, paging, sorting, properties

def parse_bbox(text: str, lonlat: bool = False) -> Bbox:
    """4 numbers (or 6 with heights, which are dropped); with `lonlat`, in range and ordered."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise bad(f"bbox={text!r}: needs 4 (or 6) comma-separated numbers") from None
    if len(values) == 6:  # 3D bbox: drop the heights
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise bad(f"bbox={text!r}: needs 4 (or 6) comma-separated finite numbers")
    minx, miny, maxx, maxy = values
    if lonlat and not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise bad(f"bbox={text!r}: lon/lat in range, min before max")
    return minx, miny, maxx, maxy


def bbox_region(bbox: str, bbox_crs: str | None, settings: Settings) -> Bbox | BaseGeometry:
    """The bbox as a CRS84 box, or the CRS84 polygon it covers when bbox-crs is projected."""
    crs_uri = parse_crs_uri(bbox_crs, supported_crs(settings.metric_crs)) if bbox_crs else CRS84
    try:
        return bbox_to_crs84(parse_bbox(bbox), crs_uri)
    except InvalidBbox as e:
        raise bad(f"bbox={bbox!r}: {e}") from None


def output_crs(crs: str | None, settings: Settings) -> str:
    return parse_crs_uri(crs, supported_crs(settings.metric_crs)) if crs else CRS84


def parse_sortby(text: str | None, spec: LayerSpec) -> list[tuple[str, bool]]:
    if not text:
        return []
    out = []
    for part in text.split(","):
        part = part.strip()
        asc = not part.startswith("-")
        name = part.lstrip("+-").strip()
        if name != "id" and not spec.has_field(name):
            raise bad(f"sortby: {name!r} is not a property of {spec.id}; use one of: id, "
                      f"{', '.join(spec.field_names)}")
        out.append((name, asc))
    return out


def parse_properties(text: str | None, spec: LayerSpec) -> list[str] | None:
    if text is None:
        return None
    names = list(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    unknown = [n for n in names if not spec.has_field(n)]
    if unknown:
        raise bad(f"properties: {', '.join(map(repr, unknown))} not in {spec.id}; use: {', '.join(spec.field_names)}")
    return names


_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?$")


def check_datetime(text: str) -> None:
    """Validate an RFC 3339 instant or interval (``a/b``, ``../b``, ``a/..``).

    The layers have no temporal geometry, so a valid value selects nothing away: it is accepted
    for clients that always send one, and only a malformed value is an error."""
    parts = text.split("/")
    if len(parts) > 2 or not all(p in ("", "..") or _INSTANT.match(p) for p in parts) or parts == ["", ""]:
        raise bad(f"datetime={text!r}: use an RFC 3339 date-time or an interval start/end ('..' for open)")
    for p in parts:
        if p not in ("", ".."):
            try:
                dt.datetime.fromisoformat(p.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                raise bad(f"datetime={text!r}: {p!r} is not a valid date-time") from None


def feature_id(text: str, collection_id: str) -> int:
    """Feature ids are positive integers; anything else names no feature (404, not 400)."""
    if not re.fullmatch(r"\d{1,19}", text) or not 1 <= int(text) <= MAX_FEATURE_ID:
        raise not_found(f"{collection_id}: no feature with id {text!r}")
    return int(text)


# ------------------------------------------------------------------ attribute filters

def filterable(spec: LayerSpec) -> list[FieldSpec]:
    return [fs for fs in spec.fields if fs.filterable]


def attribute_filters(request: Request, spec: LayerSpec, fields: Iterable[FieldSpec] | None = None) -> list[Filter]:
    """Equality filters from query parameters named after properties; a repeated one means any-of.

    Values are coerced to the field's type and checked against its allowed values, for every
    route that filters (items, nearest, ...)."""
    out = []
    for fs in filterable(spec) if fields is None else fields:
        raw = request.query_params.getlist(fs.name)
        if not raw:
            continue
        values = [coerce_value(fs, v) for v in raw]  # InvalidQuery -> 400
        unknown = [v for v in values if fs.allowed is not None and v not in fs.allowed]
        if unknown:
            raise bad(f"{fs.name}={unknown[0]!r}: not one of {', '.join(fs.allowed or [])}")
        out.append(Filter(fs.name, "eq", values[0]) if len(values) == 1 else Filter(fs.name, "in", values))
    return out


def skip_geometry(request: Request) -> bool:
    """skipGeometry=true (OGC API - Features Part 6 style): features without their geometry."""
    raw = request.query_params.get("skipGeometry")
    if raw is None or raw.lower() == "false":
        return False
    if raw.lower() == "true":
        return True
    raise bad(f"skipGeometry={raw!r}: use true or false")


# ------------------------------------------------------------------ CQL2 filters (OGC API - Features Part 3)

FILTER_LANGS = ("cql2-text", "cql2-json", "cql-text")  # cql-text: the draft name GDAL sends, read as cql2-text


def cql_filter(request: Request, spec: LayerSpec):
    """The checked CQL2 filter of `filter` (with `filter-lang`, `filter-crs`), or None."""
    params = request.query_params
    text, lang_, crs = params.get("filter"), params.get("filter-lang"), params.get("filter-crs")
    if text is None:
        if lang_ is not None or crs is not None:
            raise bad("filter-lang and filter-crs go with filter")
        return None
    if lang_ is not None and lang_ not in FILTER_LANGS:
        raise bad(f"filter-lang={lang_!r}: use {' or '.join(FILTER_LANGS)}")
    filter_crs = parse_crs_uri(crs, supported_crs(request.app.state.settings.metric_crs)) if crs else CRS84
    return cql.parse(text, spec, lang_ or "cql2-text", filter_crs)  # CqlError is a 400 naming what and where


# ------------------------------------------------------------------ the items request

ITEMS_PARAMS = ("f", "bbox", "bbox-crs", "crs", "limit", "offset", "sortby", "properties", "datetime", "filter",
                "filter-lang", "filter-crs", "skipGeometry")


@dataclass
class ItemsRequest:
    """Everything /items was asked for, checked: the store query, the output CRS and format."""

    spec: LayerSpec
    query: StoreQuery
    crs: str
    as_html: bool
    skip_geometry: bool = False
    as_csv: bool = False  # f=csv: a table for people (labels, lon/lat or WKT), e.g. the map's filter box links it


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad(f"{name}={raw!r}: must be an integer") from None


def items_request(request: Request, spec: LayerSpec) -> ItemsRequest:
    """Parse /collections/{id}/items: paging, bbox (+bbox-crs), sorting, properties, filters, crs, f."""
    settings = request.app.state.settings
    params = request.query_params
    check_params(request, [*ITEMS_PARAMS, *(fs.name for fs in filterable(spec))],
                 f" (filterable properties of {spec.id}: see its queryables)")
    limit = _int_param(request, "limit", settings.default_limit)
    offset = _int_param(request, "offset", 0)
    if limit < 1:
        raise bad(f"limit={limit}: must be at least 1")
    if offset < 0:
        raise bad(f"offset={offset}: must not be negative")
    f = format_param(request, ("json", "geojson", "html", "csv"))
    # Part 1 /req/core/fc-limit-response-1: above the maximum, serve the maximum (and a next link).
    q = StoreQuery(limit=min(limit, settings.max_limit), offset=min(offset, MAX_FEATURE_ID),
                   sort=parse_sortby(params.get("sortby"), spec), filters=attribute_filters(request, spec),
                   properties=parse_properties(params.get("properties"), spec))
    bbox, bbox_crs = params.get("bbox"), params.get("bbox-crs")
    if bbox is not None:
        region = bbox_region(bbox, bbox_crs, settings)
        if isinstance(region, tuple):
            q.bbox = region
        else:
            q.geometry, q.predicate = region, "intersects"
    elif bbox_crs is not None:
        raise bad("bbox-crs is given without bbox")
    if params.get("datetime") is not None:
        check_datetime(params["datetime"])
    q.cql = cql_filter(request, spec)
    return ItemsRequest(spec, q, output_crs(params.get("crs"), settings), wants_html(request, f),
                        skip_geometry(request), as_csv=f == "csv")


# ------------------------------------------------------------------ request bodies

async def json_body(request: Request, accepted: tuple[str, ...]) -> Any:
    """The parsed JSON body, refused early when too large (declared or actually streamed)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in accepted:
        raise ApiError(415, "UnsupportedMediaType", f"Content-Type {media!r} is not accepted here; "
                                                    f"use {' or '.join(accepted)}")
    limit = request.app.state.settings.max_body_bytes
    too_large = ApiError(413, "PayloadTooLarge", f"the request body exceeds the limit of {limit:,d} bytes")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise bad(f"Content-Length {declared!r} is not a byte count")
        if int(declared) > limit:
            raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # a missing or lying Content-Length does not get past the limit
            raise too_large
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise bad("the request body is empty; send a GeoJSON Feature")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise bad(f"the request body is not valid JSON: {e}") from None
