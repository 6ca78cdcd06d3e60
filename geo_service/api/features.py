"""OGC API - Features Part 1 (Core) and Part 2 (CRS): landing page, conformance, collections, items.

Every resource answers GeoJSON/JSON or HTML (``f=html`` or a browser's ``Accept``), carries an
ETag (304 on ``If-None-Match``) and rejects unknown query parameters with 400, as Part 1 asks.

The API definition at ``/api`` is generated here as well (see ``install``), in the shape the real
clients read it: OpenAPI 3.0, one path per collection (GDAL looks up ``/collections/<id>/items``
literally), ``limit`` as the shared parameter ``#/components/parameters/limit`` whose
minimum/maximum/default come from the settings (GDAL sizes its pages from them), and each
collection's filterable properties as query parameters with their types and allowed values.
"""

from __future__ import annotations

import copy
import datetime as dt
import email.utils
import hashlib
import math
import re
from collections.abc import Iterable
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import urlencode

import numpy as np
import orjson
import shapely
from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.routing import Route

from ..catalog import FieldSpec, LayerSpec
from ..crs import CRS84, InvalidBbox, bbox_to_crs84, from_crs84, parse_crs_uri, supported_crs, warm_up
from ..store.base import Filter, feature_etag
from ..store.base import Query as StoreQuery
from ..store.filtering import coerce_value
from ..store.geojson import collection_bytes, geometry_dict
from . import html
from .errors import ApiError

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
SCHEMA_JSON = "application/schema+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]

# Query parameters of the items operation besides the collection's filterable properties.
ITEMS_PARAMS = ("f", "bbox", "bbox-crs", "crs", "limit", "offset", "sortby", "properties", "datetime")
MAX_FEATURE_ID = 2**63 - 1

LayerId = Path(..., description="collection id (a layer of the catalog)", pattern=r"^[a-z][a-z0-9_]*$")
Format = Literal["json", "html"]
FeatureFormat = Literal["json", "geojson", "html"]
F = Query(None, description="json or html (default: from the Accept header, else json)")


@asynccontextmanager
async def _lifespan(app: FastAPI):
    install(app)  # idempotent; create_app may already have called it
    warm_up(app.state.settings.metric_crs)
    yield


# create_app includes it with auth.require_reader as a dependency when settings.read_requires_key.
router = APIRouter(lifespan=_lifespan)


# ------------------------------------------------------------------ request helpers

def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _bad(msg: str, status: int = 400, code: str = "InvalidParameterValue"):

    return ApiError(status, code, msg)


def json_response(body: Any, media_type: str = JSON, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), media_type=media_type, status_code=status, headers=headers)


def spec_of(request: Request, collection_id: str) -> LayerSpec:
    store = request.app.state.store
    if collection_id not in store.catalog:
        raise _bad(f"collection {collection_id!r} not found; see /collections", 404, "NotFound")
    return store.catalog.get(collection_id)


def lang(request: Request) -> str:
    return request.app.state.settings.lang


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
        raise _bad(f"unknown query parameter(s) {', '.join(map(repr, unknown))}; this resource takes: "
                   f"{', '.join(sorted(allowed))}{hint}")


def _http_date(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        t = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return email.utils.format_datetime(t.astimezone(dt.UTC), usegmt=True)


def _not_modified_since(request: Request, last_modified: str | None) -> bool:
    ims = request.headers.get("if-modified-since")
    if not ims or not last_modified:
        return False
    try:
        since = email.utils.parsedate_to_datetime(ims)
        changed = email.utils.parsedate_to_datetime(last_modified)
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and changed <= since


def conditional(request: Request, etag: str, last_modified: str | None) -> dict[str, str] | None:
    """Headers for a cacheable response; None when the client's copy is current (-> 304).

    If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2); weak comparison, as for GET."""
    headers = {"ETag": etag, "Vary": "Accept"}
    http_date = _http_date(last_modified)
    if http_date:
        headers["Last-Modified"] = http_date
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return None if "*" in tags or etag.removeprefix("W/") in tags else headers
    return None if _not_modified_since(request, http_date) else headers


def not_modified(headers: dict[str, str]) -> Response:
    return Response(status_code=304, headers={k: v for k, v in headers.items() if k != "Content-Length"})


def send(request: Request, body: bytes | str, media_type: str, last_modified: str | None = None,
         extra: dict[str, str] | None = None) -> Response:
    """A 200 with an ETag from the body, or a 304 when the client already has it."""
    data = body.encode() if isinstance(body, str) else body
    etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    headers = conditional(request, etag, last_modified)
    if headers is None:
        return not_modified({"ETag": etag, "Vary": "Accept"})
    return Response(data, media_type=media_type, headers={**headers, **(extra or {})})


def _layers_modified(request: Request) -> str | None:
    store = request.app.state.store
    stamps = [store.last_modified(spec.id) or "" for spec in store.catalog]
    return max(stamps, default="") or None


# ------------------------------------------------------------------ landing, conformance

def landing_doc(request: Request) -> dict[str, Any]:
    base = base_url(request)
    s = request.app.state.settings
    return {
        "title": "compound-gis" if s.lang == "en" else "compound-gis 住宅小区基础设施地图服务",
        "description": "Residential-compound infrastructure as OGC API - Features: compounds, waterlogging "
                       "points, parking, e-bike charging, fire hydrants.",
        "links": [
            {"rel": "self", "type": JSON, "title": "this document", "href": f"{base}/"},
            {"rel": "alternate", "type": HTML, "title": "this document as HTML", "href": f"{base}/?f=html"},
            {"rel": "service-desc", "type": OPENAPI, "title": "the API definition (OpenAPI 3.0)",
             "href": f"{base}/api"},
            {"rel": "service-doc", "type": HTML, "title": "the API documentation", "href": f"{base}/api.html"},
            {"rel": "conformance", "type": JSON, "title": "conformance classes", "href": f"{base}/conformance"},
            {"rel": "data", "type": JSON, "title": "the collections", "href": f"{base}/collections"},
        ],
    }


@router.get("/", include_in_schema=False)
def landing(request: Request, f: Format | None = F):
    check_params(request, ["f"])
    body = landing_doc(request)
    if wants_html(request, f):
        return send(request, html.landing(body, lang(request)), HTML)
    return send(request, orjson.dumps(body), JSON)


@router.get("/conformance", include_in_schema=False)
def conformance(request: Request, f: Format | None = F):
    check_params(request, ["f"])
    body = {"conformsTo": request.app.state.conformance}
    if wants_html(request, f):
        return send(request, html.conformance(body, lang(request)), HTML)
    return send(request, orjson.dumps(body), JSON)


# ------------------------------------------------------------------ collections

def collection_doc(request: Request, spec: LayerSpec) -> dict[str, Any]:
    base = base_url(request)
    extent = request.app.state.store.extent(spec.id)
    href = f"{base}/collections/{spec.id}"
    doc: dict[str, Any] = {
        "id": spec.id,
        "title": spec.title.get(lang(request)),
        "description": spec.description,
        "itemType": "feature",
        "crs": supported_crs(request.app.state.settings.metric_crs),
        "storageCrs": CRS84,
        "links": [
            {"rel": "self", "type": JSON, "title": "this collection", "href": href},
            {"rel": "alternate", "type": HTML, "title": "this collection as HTML", "href": f"{href}?f=html"},
            {"rel": "items", "type": GEOJSON, "title": "the features", "href": f"{href}/items"},
            {"rel": "items", "type": HTML, "title": "the features as HTML", "href": f"{href}/items?f=html"},
            {"rel": "describedby", "type": SCHEMA_JSON, "title": "schema of the features", "href": f"{href}/schema"},
            {"rel": QUERYABLES_REL, "type": SCHEMA_JSON, "title": "queryable properties",
             "href": f"{href}/queryables"},
        ],
    }
    if extent is not None:
        doc["extent"] = {"spatial": {"bbox": [list(extent)], "crs": CRS84}}
    return doc


@router.get("/collections", include_in_schema=False)
def collections(request: Request, f: Format | None = F):
    check_params(request, ["f"])
    base = base_url(request)
    body = {
        "links": [
            {"rel": "self", "type": JSON, "title": "the collections", "href": f"{base}/collections"},
            {"rel": "alternate", "type": HTML, "title": "the collections as HTML",
             "href": f"{base}/collections?f=html"},
        ],
        "collections": [collection_doc(request, spec) for spec in request.app.state.store.catalog],
    }
    if wants_html(request, f):
        return send(request, html.collections(body, lang(request)), HTML, _layers_modified(request))
    return send(request, orjson.dumps(body), JSON, _layers_modified(request))


@router.get("/collections/{collection_id}", include_in_schema=False)
def collection(request: Request, collection_id: str = LayerId, f: Format | None = F):
    spec = spec_of(request, collection_id)
    check_params(request, ["f"])
    body = collection_doc(request, spec)
    modified = request.app.state.store.last_modified(collection_id)
    if wants_html(request, f):
        return send(request, html.collection(body, lang(request)), HTML, modified)
    return send(request, orjson.dumps(body), JSON, modified)


_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
               "date": "string", "datetime": "string"}


def _geometry_format(spec: LayerSpec) -> str:
    """The geometry's `format` as OGC API - Features Part 5 names it (GDAL types the layer from it)."""
    kinds = {t.removeprefix("Multi").lower() for t in spec.geometry_types}
    if len(spec.geometry_types) == 1:
        return "geometry-" + spec.geometry_types[0].lower()
    if len(kinds) == 1:
        kind = kinds.pop()
        return f"geometry-{kind}-or-multi{kind}"
    return "geometry-any"


def property_schema(fs: FieldSpec, lang_: str) -> dict[str, Any]:
    """JSON Schema of one property, as /schema and /queryables publish it."""
    p: dict[str, Any] = {"title": fs.title.get(lang_), "type": _JSON_TYPES[fs.type]}
    if fs.description:
        p["description"] = fs.description
    if fs.type in ("date", "datetime"):
        p["format"] = "date" if fs.type == "date" else "date-time"
    if fs.values:
        p["enum"] = fs.allowed
    if fs.minimum is not None:
        p["minimum"] = fs.minimum
    if fs.maximum is not None:
        p["maximum"] = fs.maximum
    if fs.unit:
        p["x-ogc-unit"] = fs.unit
    return p


def schema_doc(request: Request, spec: LayerSpec, queryables: bool) -> dict[str, Any]:
    """Part 5 style schema (describedby) or Part 3 queryables: what GDAL and QGIS read to type the fields.

    Queryables list exactly what works as a query parameter (the filterable properties), so they
    carry no geometry: bbox, not a geometry property, filters space here."""
    kind = "queryables" if queryables else "schema"
    props: dict[str, Any] = {}
    if not queryables:
        props["geometry"] = {"format": _geometry_format(spec), "x-ogc-role": "primary-geometry"}
    fields = [fs for fs in spec.fields if fs.filterable] if queryables else list(spec.fields)
    for fs in fields:
        props[fs.name] = property_schema(fs, lang(request))
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base_url(request)}/collections/{spec.id}/{kind}",
        "type": "object",
        "title": spec.title.get(lang(request)),
        "properties": props,
    }
    if queryables:
        doc["additionalProperties"] = False
    else:
        doc["required"] = [fs.name for fs in spec.fields if fs.required]
    return doc


def _schema_response(request: Request, collection_id: str, f: str | None, queryables: bool) -> Response:
    spec = spec_of(request, collection_id)
    check_params(request, ["f"])
    doc = schema_doc(request, spec, queryables)
    if wants_html(request, f):
        return send(request, html.schema(doc, lang(request)), HTML)
    return send(request, orjson.dumps(doc), SCHEMA_JSON)


@router.get("/collections/{collection_id}/schema", include_in_schema=False)
def schema(request: Request, collection_id: str = LayerId, f: Format | None = F):
    return _schema_response(request, collection_id, f, queryables=False)


@router.get("/collections/{collection_id}/queryables", include_in_schema=False)
def queryables(request: Request, collection_id: str = LayerId, f: Format | None = F):
    return _schema_response(request, collection_id, f, queryables=True)


# ------------------------------------------------------------------ items: parsing

def parse_bbox(text: str) -> tuple[float, float, float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise _bad(f"bbox={text!r}: needs 4 (or 6) comma-separated numbers") from None
    if len(values) == 6:  # 3D bbox: drop the heights
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise _bad(f"bbox={text!r}: needs 4 (or 6) comma-separated finite numbers")
    return values[0], values[1], values[2], values[3]


def parse_sortby(text: str | None, spec: LayerSpec) -> list[tuple[str, bool]]:
    if not text:
        return []
    out = []
    for part in text.split(","):
        part = part.strip()
        asc = not part.startswith("-")
        name = part.lstrip("+-").strip()
        if name != "id" and not spec.has_field(name):
            raise _bad(f"sortby: {name!r} is not a property of {spec.id}; use one of: id, "
                       f"{', '.join(spec.field_names)}")
        out.append((name, asc))
    return out


_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?$")


def check_datetime(text: str) -> None:
    """Validate an RFC 3339 instant or interval (``a/b``, ``../b``, ``a/..``).

    The layers have no temporal geometry, so a valid value selects nothing away: it is accepted
    for clients that always send one, and only a malformed value is an error."""
    parts = text.split("/")
    if len(parts) > 2 or not all(p in ("", "..") or _INSTANT.match(p) for p in parts) or parts == ["", ""]:
        raise _bad(f"datetime={text!r}: use an RFC 3339 date-time or an interval start/end ('..' for open)")
    for p in parts:
        if p not in ("", ".."):
            try:
                dt.datetime.fromisoformat(p.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                raise _bad(f"datetime={text!r}: {p!r} is not a valid date-time") from None


def filterable(spec: LayerSpec) -> list[FieldSpec]:
    return [fs for fs in spec.fields if fs.filterable]


def attribute_filters(request: Request, spec: LayerSpec) -> list[Filter]:
    """Equality filters from query parameters named after properties; a repeated one means any-of."""
    out = []
    for fs in filterable(spec):
        raw = request.query_params.getlist(fs.name)
        if not raw:
            continue
        values = [coerce_value(fs, v) for v in raw]  # InvalidQuery -> 400
        bad = [v for v in values if fs.allowed is not None and v not in fs.allowed]
        if bad:
            raise _bad(f"{fs.name}={bad[0]!r}: not one of {', '.join(fs.allowed or [])}")
        out.append(Filter(fs.name, "eq", values[0]) if len(values) == 1 else Filter(fs.name, "in", values))
    return out


def items_query(request: Request, spec: LayerSpec, bbox: str | None, bbox_crs: str | None, limit: int,
                offset: int, sortby: str | None, properties: str | None) -> StoreQuery:
    settings = request.app.state.settings
    check_params(request, [*ITEMS_PARAMS, *(fs.name for fs in filterable(spec))],
                 f" (filterable properties of {spec.id}: see its queryables)")
    if limit < 1:
        raise _bad(f"limit={limit}: must be at least 1")
    if offset < 0:
        raise _bad(f"offset={offset}: must not be negative")
    # Part 1 /req/core/fc-limit-response-1: above the maximum, serve the maximum (and a next link).
    q = StoreQuery(limit=min(limit, settings.max_limit), offset=min(offset, MAX_FEATURE_ID),
                   sort=parse_sortby(sortby, spec), filters=attribute_filters(request, spec))
    if bbox is not None:
        crs_uri = parse_crs_uri(bbox_crs, supported_crs(settings.metric_crs)) if bbox_crs else CRS84
        try:
            region = bbox_to_crs84(parse_bbox(bbox), crs_uri)
        except InvalidBbox as e:
            raise _bad(f"bbox={bbox!r}: {e}") from None
        if isinstance(region, tuple):
            q.bbox = region
        else:
            q.geometry, q.predicate = region, "intersects"
    elif bbox_crs is not None:
        raise _bad("bbox-crs is given without bbox")
    if properties is not None:
        names = list(dict.fromkeys(p.strip() for p in properties.split(",") if p.strip()))
        bad = [n for n in names if not spec.has_field(n)]
        if bad:
            raise _bad(f"properties: {', '.join(map(repr, bad))} not in {spec.id}; use: {', '.join(spec.field_names)}")
        q.properties = names
    return q


# ------------------------------------------------------------------ items: links and encoding

def page_links(request: Request, cid: str, q: StoreQuery, matched: int, returned: int,
               as_html: bool) -> list[dict[str, str]]:
    """self/alternate for this page, and next/prev pages typed like self (GDAL follows `next`)."""
    base = f"{base_url(request)}/collections/{cid}/items"
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("f", "offset", "limit")]

    def href(offset: int, fmt: str | None) -> str:
        params = [*kept, ("limit", str(q.limit))] + ([("offset", str(offset))] if offset else [])
        return base + "?" + urlencode(params + ([("f", fmt)] if fmt else []))

    mine, other = (HTML, GEOJSON) if as_html else (GEOJSON, HTML)
    fmt = "html" if as_html else None
    links = [
        {"rel": "self", "type": mine, "title": "this page", "href": href(q.offset, fmt)},
        {"rel": "alternate", "type": other, "title": "this page as " + ("GeoJSON" if as_html else "HTML"),
         "href": href(q.offset, None if as_html else "html")},
        {"rel": "collection", "type": JSON, "title": "the collection",
         "href": f"{base_url(request)}/collections/{cid}"},
    ]
    if q.offset + returned < matched:
        links.append({"rel": "next", "type": mine, "title": "next page", "href": href(q.offset + q.limit, fmt)})
    if q.offset > 0:
        links.append({"rel": "prev", "type": mine, "title": "previous page",
                      "href": href(max(0, min(q.offset, matched) - q.limit), fmt)})
    return links


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _page(request: Request, cid: str, version: int, q: StoreQuery, out_crs: str
          ) -> tuple[list[bytes], int]:
    """The page's features as GeoJSON bytes, and numberMatched: the store encodes them."""
    return request.app.state.store.geojson_page(cid, q, out_crs)


def _wkt(geoms: np.ndarray, width: int = 160) -> list[str]:
    texts = shapely.to_wkt(geoms, rounding_precision=7, trim=True)
    return ["" if t is None else (t if len(t) <= width else t[: width - 1] + "…") for t in texts]


# ------------------------------------------------------------------ items, item

@router.get("/collections/{collection_id}/items", include_in_schema=False)
def items(
    request: Request,
    collection_id: str = LayerId,
    bbox: str | None = Query(None),
    bbox_crs: str | None = Query(None, alias="bbox-crs"),
    crs: str | None = Query(None),
    limit: int | None = Query(None),
    offset: int = Query(0),
    sortby: str | None = Query(None),
    properties: str | None = Query(None),
    datetime: str | None = Query(None),
    f: FeatureFormat | None = F,
):
    settings = request.app.state.settings
    store = request.app.state.store
    spec = spec_of(request, collection_id)
    q = items_query(request, spec, bbox, bbox_crs, settings.default_limit if limit is None else limit, offset,
                    sortby, properties)
    if datetime is not None:
        check_datetime(datetime)
    out_crs = parse_crs_uri(crs, supported_crs(settings.metric_crs)) if crs else CRS84
    as_html = wants_html(request, f)
    version, modified = store.layer_state(collection_id)
    key = hashlib.blake2b(f"{request.url.query}|{as_html}".encode(), digest_size=8).hexdigest()
    etag = f'W/"{collection_id}-{version}-{key}"'
    headers = conditional(request, etag, modified)
    if headers is None:
        return not_modified({"ETag": etag, "Vary": "Accept"})
    headers["Content-Crs"] = f"<{out_crs}>"
    if as_html:
        result = store.query(collection_id, q)
        links = page_links(request, collection_id, q, result.number_matched, result.number_returned, True)
        geoms = np.asarray(result.features.geometry.values, dtype=object)
        conv = from_crs84(out_crs)
        wkts = _wkt(conv(geoms) if conv else geoms)
        page = html.items(spec, result, links, wkts, lang(request), base_url(request), _now())
        return Response(page, media_type=HTML, headers=headers)
    features, matched = _page(request, collection_id, version, q, out_crs)
    body = collection_bytes(features, {
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": _now(),
        "links": page_links(request, collection_id, q, matched, len(features), False),
    })
    return Response(body, media_type=GEOJSON, headers=headers)


def _feature_id(text: str, collection_id: str) -> int:
    """Feature ids are positive integers; anything else names no feature (404, not 400)."""
    if not re.fullmatch(r"\d{1,19}", text) or not 1 <= int(text) <= MAX_FEATURE_ID:
        raise _bad(f"{collection_id}: no feature with id {text!r}", 404, "NotFound")
    return int(text)


@router.get("/collections/{collection_id}/items/{feature_id}", include_in_schema=False)
def item(request: Request, collection_id: str = LayerId, feature_id: str = Path(...),
         crs: str | None = Query(None), f: FeatureFormat | None = F):
    settings = request.app.state.settings
    store = request.app.state.store
    spec = spec_of(request, collection_id)
    check_params(request, ["f", "crs"])
    fid = _feature_id(feature_id, collection_id)
    out_crs = parse_crs_uri(crs, supported_crs(settings.metric_crs)) if crs else CRS84
    feat = store.get(collection_id, fid)
    as_html = wants_html(request, f)
    # The strong ETag of the stored feature is what If-Match of an edit compares with; other
    # representations (HTML, another CRS) get their own tags derived from it.
    etag = feature_etag(feat["properties"], feat["geometry"])
    if as_html or out_crs != CRS84:
        suffix = hashlib.blake2b(f"{out_crs}|{as_html}".encode(), digest_size=4).hexdigest()
        etag = f'{etag[:-1]}-{suffix}"'
    headers = conditional(request, etag, store.last_modified(collection_id))
    if headers is None:
        return not_modified({"ETag": etag, "Vary": "Accept"})
    base = f"{base_url(request)}/collections/{collection_id}"
    geom = feat["geometry"]
    conv = from_crs84(out_crs)
    if conv is not None and geom is not None:
        geom = conv(np.array([geom], dtype=object))[0]
    def href(in_html: bool) -> str:
        params = ([("crs", crs)] if crs else []) + ([("f", "html")] if in_html else [])
        return f"{base}/items/{fid}" + ("?" + urlencode(params) if params else "")

    body = {
        "type": "Feature", "id": feat["id"], "geometry": geometry_dict(geom), "properties": feat["properties"],
        "links": [
            {"rel": "self", "type": HTML if as_html else GEOJSON, "title": "this feature", "href": href(as_html)},
            {"rel": "alternate", "type": GEOJSON if as_html else HTML,
             "title": "this feature as " + ("GeoJSON" if as_html else "HTML"), "href": href(not as_html)},
            {"rel": "collection", "type": JSON, "title": "the collection", "href": base},
        ],
    }
    headers["Content-Crs"] = f"<{out_crs}>"
    if as_html:
        wkt = _wkt(np.array([geom], dtype=object))[0]
        return Response(html.feature(spec, body, wkt, lang(request)), media_type=HTML, headers=headers)
    return json_response(body, media_type=GEOJSON, headers=headers)


# ------------------------------------------------------------------ the API definition

def install(app: FastAPI) -> None:
    """Make /api the OGC API definition: OpenAPI 3.0 built from the catalog and the settings,
    served as application/vnd.oai.openapi+json;version=3.0. Idempotent.

    The router's lifespan calls this at startup; create_app may call it directly so that the
    definition is right even for an app that is never started (a TestClient without `with`)."""
    if getattr(app.state, "ogc_openapi_installed", False):
        return
    app.state.ogc_openapi_installed = True
    app.openapi = lambda: api_definition(app)
    if not app.openapi_url:
        return

    async def api_document(request: Request) -> Response:
        return Response(orjson.dumps(app.openapi()), media_type=OPENAPI)

    routes = app.router.routes
    for i, route in enumerate(routes):
        if isinstance(route, Route) and not isinstance(route, APIRoute) and route.path == app.openapi_url:
            routes[i] = Route(app.openapi_url, api_document, methods=["GET"], include_in_schema=False)


def api_definition(app: FastAPI) -> dict[str, Any]:
    """FastAPI's definition of the other routers, in OpenAPI 3.0, plus the OGC paths generated here."""
    cached = getattr(app.state, "api_definition", None)
    if cached is not None:
        return cached
    doc = to_oas30(copy.deepcopy(FastAPI.openapi(app)))
    settings, catalog = app.state.settings, app.state.store.catalog
    crs_list = supported_crs(settings.metric_crs)
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {}).update(_SCHEMAS)
    components.setdefault("parameters", {}).update(_shared_parameters(settings, crs_list))
    auth = _auth_parts(settings.read_requires_key)
    if auth:
        schemes = components.setdefault("securitySchemes", {})
        for name, scheme in _SECURITY_SCHEMES.items():
            schemes.setdefault(name, scheme)
    paths = _capability_paths(app, auth)  # create_app guards the whole router when reads need a key
    for spec in catalog:
        components["schemas"].update(_feature_schemas(spec))
        paths.update(_collection_paths(spec, auth))
    doc["paths"] = {**paths, **doc.get("paths", {})}
    doc.setdefault("tags", [])
    known = {t.get("name") for t in doc["tags"]}
    doc["tags"] += [t for t in _TAGS if t["name"] not in known]
    app.state.api_definition = doc
    return doc


_TAGS = [{"name": "Capabilities", "description": "landing page, conformance classes, the API definition"},
         {"name": "Collections", "description": "the layers and their schemas"},
         {"name": "Features", "description": "reading features (OGC API - Features Part 1 and 2)"}]

_LINK = {"type": "object", "required": ["href", "rel"], "properties": {
    "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
    "title": {"type": "string"}, "hreflang": {"type": "string"}}}
_LINKS = {"type": "array", "items": {"$ref": "#/components/schemas/link"}}
_GEOMETRY = {"type": "object", "nullable": True, "required": ["type"], "properties": {
    "type": {"type": "string", "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                                        "MultiPolygon", "GeometryCollection"]},
    "coordinates": {"type": "array"}, "geometries": {"type": "array"}}}

_SCHEMAS: dict[str, Any] = {
    "exception": {"type": "object", "required": ["code"], "description": "what went wrong", "properties": {
        "code": {"type": "string"}, "description": {"type": "string"}}},
    "link": _LINK,
    "landingPage": {"type": "object", "required": ["links"], "properties": {
        "title": {"type": "string"}, "description": {"type": "string"}, "links": _LINKS}},
    "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
        "conformsTo": {"type": "array", "items": {"type": "string"}}}},
    "extent": {"type": "object", "properties": {"spatial": {"type": "object", "properties": {
        "bbox": {"type": "array", "minItems": 1, "items": {
            "type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
        "crs": {"type": "string"}}}}},
    "collection": {"type": "object", "required": ["id", "links"], "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
        "links": _LINKS, "extent": {"$ref": "#/components/schemas/extent"},
        "itemType": {"type": "string", "enum": ["feature"]},
        "crs": {"type": "array", "items": {"type": "string"}}, "storageCrs": {"type": "string"}}},
    "collections": {"type": "object", "required": ["links", "collections"], "properties": {
        "links": _LINKS, "collections": {"type": "array", "items": {"$ref": "#/components/schemas/collection"}}}},
    "jsonSchema": {"type": "object", "required": ["type", "properties"], "properties": {
        "$schema": {"type": "string"}, "$id": {"type": "string"}, "type": {"type": "string", "enum": ["object"]},
        "title": {"type": "string"}, "properties": {"type": "object"}}},
    "apiDefinition": {"type": "object", "required": ["openapi", "paths"]},
}

_ERRORS = {
    "304": {"description": "not modified: the ETag in If-None-Match (or If-Modified-Since) is current"},
    "400": {"description": "an unknown query parameter or an invalid value",
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/exception"}}}},
    "500": {"description": "a server error (the log has the details)",
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/exception"}}}},
}
_NOT_FOUND = {"description": "no such feature",
              "content": {JSON: {"schema": {"$ref": "#/components/schemas/exception"}}}}
_HTML_CONTENT = {HTML: {"schema": {"type": "string"}}}


# The schemes auth.py declares (FastAPI lists them only when some route uses them).
_SECURITY_SCHEMES = {"bearerAuth": {"type": "http", "scheme": "bearer"},
                     "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}


def _auth_parts(read_requires_key: bool) -> dict[str, Any]:
    """Security and 401 of the data operations: open reads, or any valid key when the settings say so."""
    if not read_requires_key:
        return {}
    return {"security": [{"bearerAuth": []}, {"apiKeyHeader": []}],
            "responses": {"401": {"description": "no API key, or an unknown one",
                                  "content": {JSON: {"schema": {"$ref": "#/components/schemas/exception"}}}}}}


def _ok(description: str, media: str, schema: dict, headers: dict | None = None) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": description,
                          "content": {media: {"schema": schema}, **_HTML_CONTENT}}
    ok["headers"] = {"ETag": {"schema": {"type": "string"}, "description": "entity tag for If-None-Match"},
                     **(headers or {})}
    return {"200": ok, **copy.deepcopy(_ERRORS)}


def _op(op_id: str, tag: str, summary: str, params: list, responses: dict, auth: dict | None = None) -> dict:
    op = {"operationId": op_id, "tags": [tag], "summary": summary, "parameters": params, "responses": responses}
    if auth:
        op["security"] = auth["security"]
        op["responses"] = {**responses, **auth["responses"]}
    return {"get": op}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _shared_parameters(settings, crs_list: list[str]) -> dict[str, Any]:
    crs_schema = {"type": "string", "format": "uri", "enum": crs_list}
    return {
        "f": {"name": "f", "in": "query", "required": False, "description": "the representation: json or html "
              "(default: from the Accept header, else json)", "schema": {"type": "string", "enum": ["json", "html"]}},
        "f-features": {"name": "f", "in": "query", "required": False, "description": "json/geojson or html",
                       "schema": {"type": "string", "enum": ["json", "geojson", "html"]}},
        "limit": {"name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
                  "description": f"features per page; at most {settings.max_limit} are returned",
                  "schema": {"type": "integer", "minimum": 1, "maximum": settings.max_limit,
                             "default": settings.default_limit}},
        "offset": {"name": "offset", "in": "query", "required": False, "description": "features to skip "
                   "(the next/prev links carry it)", "schema": {"type": "integer", "minimum": 0, "default": 0}},
        "bbox": {"name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
                 "description": "lower-left and upper-right corner in bbox-crs (default CRS84 lon/lat), "
                                "4 numbers or 6 with heights",
                 "schema": {"type": "array", "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}],
                            "items": {"type": "number"}}},
        "bbox-crs": {"name": "bbox-crs", "in": "query", "required": False, "description": "CRS of bbox, in its axis "
                     "order (EPSG:4326 is lat,lon)", "schema": crs_schema},
        "crs": {"name": "crs", "in": "query", "required": False, "description": "CRS of the response geometries, "
                "in its axis order (EPSG:4326 is lat,lon); the Content-Crs header names it", "schema": crs_schema},
        "datetime": {"name": "datetime", "in": "query", "required": False, "description": "RFC 3339 instant or "
                     "interval; the layers have no temporal geometry, so it filters nothing",
                     "schema": {"type": "string"}},
        "featureId": {"name": "featureId", "in": "path", "required": True, "description": "the feature's id",
                      "schema": {"type": "integer", "minimum": 1, "format": "int64"}},
    }


def _capability_paths(app: FastAPI, auth: dict[str, Any]) -> dict[str, Any]:
    f = [_ref("f")]
    paths = {
        "/": _op("getLandingPage", "Capabilities", "Landing page", f, _ok(
            "links to the API definition, the conformance classes and the collections", JSON,
            {"$ref": "#/components/schemas/landingPage"}), auth),
        "/conformance": _op("getConformanceDeclaration", "Capabilities", "Conformance classes", f, _ok(
            "the conformance classes implemented", JSON, {"$ref": "#/components/schemas/confClasses"}), auth),
        "/collections": _op("getCollections", "Collections", "The collections (layers)", f, _ok(
            "all collections", JSON, {"$ref": "#/components/schemas/collections"}), auth),
    }
    if app.openapi_url:
        paths[app.openapi_url] = _op("getApiDefinition", "Capabilities", "This API definition (OpenAPI 3.0)", [], {
            "200": {"description": "the API definition",
                    "content": {OPENAPI: {"schema": {"$ref": "#/components/schemas/apiDefinition"}}}}})
    if app.openapi_url and app.docs_url:
        paths[app.docs_url] = _op("getApiDocumentation", "Capabilities", "The API documentation (HTML)", [], {
            "200": {"description": "interactive documentation", "content": _HTML_CONTENT}})
    return paths


def _value_schema(fs: FieldSpec) -> dict[str, Any]:
    """OpenAPI 3.0 schema of one property's value as a query parameter."""
    s: dict[str, Any] = {"type": _JSON_TYPES[fs.type]}
    if fs.type in ("date", "datetime"):
        s["format"] = "date" if fs.type == "date" else "date-time"
    if fs.values:
        s["enum"] = fs.allowed
    return s


def _names_pattern(names: list[str], signed: bool) -> str:
    one = ("[+-]?" if signed else "") + "(" + "|".join(map(re.escape, names)) + ")"
    return f"^{one}(,{one})*$"


def _collection_paths(spec: LayerSpec, auth: dict[str, Any]) -> dict[str, Any]:
    cid, title = spec.id, spec.title.en
    base = f"/collections/{cid}"
    filters = [{"name": fs.name, "in": "query", "required": False, "schema": _value_schema(fs),
                "description": f"only features whose {fs.name} equals this (repeat it for any of several)"}
               for fs in filterable(spec)]
    sortby = {"name": "sortby", "in": "query", "required": False, "style": "form", "explode": False,
              "description": "sort keys, comma-separated; a leading - sorts descending",
              "schema": {"type": "string", "pattern": _names_pattern(["id", *spec.field_names], signed=True)}}
    props = {"name": "properties", "in": "query", "required": False, "style": "form", "explode": False,
             "description": "the properties to return, comma-separated",
             "schema": {"type": "string", "pattern": _names_pattern(spec.field_names, signed=False)}}
    content_crs = {"Content-Crs": {"schema": {"type": "string"}, "description": "<URI> of the geometries' CRS"}}
    feature_ref = {"$ref": f"#/components/schemas/{cid}.feature"}
    schema_ok = _ok("a JSON Schema", SCHEMA_JSON, {"$ref": "#/components/schemas/jsonSchema"})
    item_responses = _ok(f"a {title} feature", GEOJSON, feature_ref, content_crs)
    item_responses["404"] = copy.deepcopy(_NOT_FOUND)
    return {
        base: _op(f"describe.{cid}", "Collections", f"The {title} collection", [_ref("f")],
                  _ok("the collection", JSON, {"$ref": "#/components/schemas/collection"}), auth),
        f"{base}/schema": _op(f"schema.{cid}", "Collections", f"Schema of the {title} features", [_ref("f")],
                              schema_ok, auth),
        f"{base}/queryables": _op(f"queryables.{cid}", "Collections", f"Queryable properties of {title}",
                                  [_ref("f")], copy.deepcopy(schema_ok), auth),
        f"{base}/items": _op(
            f"items.{cid}", "Features", f"{title}: features",
            [_ref(n) for n in ("f-features", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime")]
            + [sortby, props] + filters,
            _ok(f"a page of {title} features", GEOJSON, {"$ref": f"#/components/schemas/{cid}.featureCollection"},
                content_crs), auth),
        f"{base}/items/{{featureId}}": _op(
            f"item.{cid}", "Features", f"{title}: one feature",
            [_ref("featureId"), _ref("crs"), _ref("f-features")], item_responses, auth),
    }


def _feature_schemas(spec: LayerSpec) -> dict[str, Any]:
    """The GeoJSON a collection answers, property types included, so clients and tests can check it."""
    props = {}
    for fs in spec.fields:
        s = {**_value_schema(fs), "nullable": True}
        if "enum" in s:
            s["enum"] = [*s["enum"], None]  # OpenAPI 3.0.3: a nullable enum lists null
        props[fs.name] = s
    feature = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "integer"},
        "geometry": _GEOMETRY,
        "properties": {"type": "object", "nullable": True, "additionalProperties": False, "properties": props},
        "links": _LINKS}}
    collection_ = {"type": "object", "required": ["type", "features"], "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": {"$ref": f"#/components/schemas/{spec.id}.feature"}},
        "links": _LINKS, "timeStamp": {"type": "string", "format": "date-time"},
        "numberMatched": {"type": "integer", "minimum": 0}, "numberReturned": {"type": "integer", "minimum": 0}}}
    return {f"{spec.id}.feature": feature, f"{spec.id}.featureCollection": collection_}


def to_oas30(node: Any) -> Any:
    """Rewrite the OpenAPI 3.1 FastAPI generates as 3.0, which the landing page promises and
    OGC's oas30 class requires: null alternatives become `nullable`, `const` an enum, and so on."""
    if isinstance(node, list):
        return [to_oas30(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: to_oas30(v) for k, v in node.items()}
    if isinstance(node.get("openapi"), str):
        node["openapi"] = "3.0.3"
        node.pop("webhooks", None)
        node.pop("jsonSchemaDialect", None)
        node.get("info", {}).pop("summary", None)
        node.get("info", {}).get("license", {}).pop("identifier", None)
        return node
    for key in ("anyOf", "oneOf"):
        alts = node.get(key)
        if isinstance(alts, list) and {"type": "null"} in alts:
            rest = [a for a in alts if a != {"type": "null"}]
            del node[key]
            if len(rest) == 1 and "$ref" in rest[0]:
                node["allOf"] = rest
            elif len(rest) == 1:
                node = {**rest[0], **node}
            elif rest:
                node[key] = rest
            node["nullable"] = True
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) != len(kind):
            node["nullable"] = True
        if len(kinds) == 1:
            node["type"] = kinds[0]
        else:
            node.pop("type")
            node["anyOf"] = [{"type": k} for k in kinds]
    elif kind == "null":
        node.pop("type")
        node["nullable"] = True
        node["enum"] = [None]
    if "const" in node and not isinstance(node["const"], dict):
        node["enum"] = [node.pop("const")]
    if isinstance(node.get("examples"), list):
        examples = node.pop("examples")
        if examples:
            node["example"] = examples[0]
    for bound, plain_ in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            node[plain_], node[bound] = value, True
    if "contentMediaType" in node:
        node.pop("contentMediaType")
        node["format"] = "binary"
    if isinstance(node.get("prefixItems"), list):
        items_ = node.pop("prefixItems")
        node.setdefault("items", items_[0] if all(i == items_[0] for i in items_) else {})
        node.setdefault("minItems", len(items_))
        node.setdefault("maxItems", len(items_))
    return node

