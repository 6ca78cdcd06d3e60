"""OGC API - Features Part 1 (Core) and Part 2 (CRS): landing page, conformance, collections, items."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from ..catalog import LayerSpec
from ..store.base import Filter, QueryResult, feature_etag
from ..store.base import Query as StoreQuery
from . import html
from .crs_support import CRS84, bbox_to_crs84, from_crs84, parse_crs_uri, supported_crs
from .geojson import collection_bytes, encode_features, geometry_dict

router = APIRouter()

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]

# Parameters the items endpoint understands besides attribute filters (OGC: others get 400).
ITEMS_PARAMS = {"f", "bbox", "bbox-crs", "crs", "limit", "offset", "sortby", "properties", "datetime"}

LayerId = Path(..., description="collection id (a layer of the catalog)", pattern=r"^[a-z][a-z0-9_]*$")


# ------------------------------------------------------------------ helpers

def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def wants_html(request: Request, f: str | None) -> bool:
    if f is not None:
        if f not in ("json", "geojson", "html"):
            raise _bad(f"f={f!r}: use json or html")
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def _bad(msg: str, status: int = 400, code: str = "InvalidParameterValue"):
    from .app import ApiError

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


def conditional(request: Request, etag: str, last_modified: str | None) -> dict[str, str] | None:
    """Headers for a cacheable response; None when the client's copy is current (-> 304)."""
    headers = {"ETag": etag}
    if last_modified:
        try:
            t = dt.datetime.fromisoformat(last_modified.replace("Z", "+00:00"))
            headers["Last-Modified"] = t.strftime("%a, %d %b %Y %H:%M:%S GMT")
        except ValueError:
            pass
    inm = request.headers.get("if-none-match")
    if inm and (inm.strip() == "*" or etag in [t.strip() for t in inm.split(",")]):
        return None
    return headers


def not_modified(etag: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag})


# ------------------------------------------------------------------ landing, conformance

@router.get("/", summary="Landing page", tags=["Capabilities"])
def landing(request: Request, f: str | None = Query(None, description="json or html")):
    base = base_url(request)
    s = request.app.state.settings
    body = {
        "title": "compound-gis" if s.lang == "en" else "compound-gis 住宅小区基础设施地图服务",
        "description": "Residential-compound infrastructure as OGC API - Features: compounds, waterlogging "
                       "points, parking, e-bike charging, fire hydrants.",
        "links": [
            {"rel": "self", "type": JSON, "title": "this document", "href": f"{base}/?f=json"},
            {"rel": "alternate", "type": "text/html", "title": "this document as HTML", "href": f"{base}/?f=html"},
            {"rel": "service-desc", "type": OPENAPI, "title": "the API definition", "href": f"{base}/api"},
            {"rel": "service-doc", "type": "text/html", "title": "the API documentation", "href": f"{base}/api.html"},
            {"rel": "conformance", "type": JSON, "title": "conformance classes", "href": f"{base}/conformance"},
            {"rel": "data", "type": JSON, "title": "the collections", "href": f"{base}/collections"},
        ],
    }
    if wants_html(request, f):
        return HTMLResponse(html.landing(body))
    return json_response(body)


@router.get("/conformance", summary="Conformance classes", tags=["Capabilities"])
def conformance(request: Request, f: str | None = Query(None, description="json or html")):
    body = {"conformsTo": request.app.state.conformance}
    if wants_html(request, f):
        return HTMLResponse(html.conformance(body))
    return json_response(body)


# ------------------------------------------------------------------ collections

def collection_doc(request: Request, spec: LayerSpec) -> dict[str, Any]:
    base = base_url(request)
    store = request.app.state.store
    extent = store.extent(spec.id)
    cid = spec.id
    doc: dict[str, Any] = {
        "id": cid,
        "title": spec.title.get(lang(request)),
        "description": spec.description,
        "itemType": "feature",
        "crs": supported_crs(request.app.state.settings.metric_crs),
        "storageCrs": CRS84,
        "links": [
            {"rel": "self", "type": JSON, "href": f"{base}/collections/{cid}"},
            {"rel": "alternate", "type": "text/html", "href": f"{base}/collections/{cid}?f=html"},
            {"rel": "items", "type": GEOJSON, "title": "the features", "href": f"{base}/collections/{cid}/items"},
            {"rel": "items", "type": "text/html", "href": f"{base}/collections/{cid}/items?f=html"},
            {"rel": "describedby", "type": "application/schema+json", "title": "schema of the features",
             "href": f"{base}/collections/{cid}/schema"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "type": "application/schema+json",
             "title": "queryable properties", "href": f"{base}/collections/{cid}/queryables"},
        ],
    }
    if extent is not None:
        doc["extent"] = {"spatial": {"bbox": [list(extent)], "crs": CRS84}}
    return doc


@router.get("/collections", summary="The collections (layers)", tags=["Collections"])
def collections(request: Request, f: str | None = Query(None, description="json or html")):
    base = base_url(request)
    store = request.app.state.store
    body = {
        "links": [
            {"rel": "self", "type": JSON, "href": f"{base}/collections"},
            {"rel": "alternate", "type": "text/html", "href": f"{base}/collections?f=html"},
        ],
        "collections": [collection_doc(request, spec) for spec in store.catalog],
    }
    if wants_html(request, f):
        return HTMLResponse(html.collections(body))
    return json_response(body)


@router.get("/collections/{collection_id}", summary="One collection", tags=["Collections"])
def collection(request: Request, collection_id: str = LayerId,
               f: str | None = Query(None, description="json or html")):
    spec = spec_of(request, collection_id)
    body = collection_doc(request, spec)
    if wants_html(request, f):
        return HTMLResponse(html.collection(body))
    return json_response(body)


_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
               "date": "string", "datetime": "string"}


def schema_doc(request: Request, spec: LayerSpec, queryables: bool) -> dict[str, Any]:
    base = base_url(request)
    props: dict[str, Any] = {}
    if not queryables:
        props["geometry"] = {"format": "geometry-any" if len(spec.geometry_types) > 1
                             else "geometry-" + spec.geometry_types[0].lower(), "x-ogc-role": "primary-geometry"}
    else:
        props["geometry"] = {"format": "geometry-any", "x-ogc-role": "primary-geometry"}
    for fs in spec.fields:
        p: dict[str, Any] = {"title": fs.title.get(lang(request)), "type": _JSON_TYPES[fs.type]}
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
        props[fs.name] = p
    kind = "queryables" if queryables else "schema"
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{spec.id}/{kind}",
        "type": "object",
        "title": spec.title.get(lang(request)),
        "properties": props,
    }
    if not queryables:
        doc["required"] = [fs.name for fs in spec.fields if fs.required]
    return doc


@router.get("/collections/{collection_id}/schema", summary="JSON schema of the features", tags=["Collections"])
def schema(request: Request, collection_id: str = LayerId):
    spec = spec_of(request, collection_id)
    return json_response(schema_doc(request, spec, queryables=False), media_type="application/schema+json")


@router.get("/collections/{collection_id}/queryables", summary="Queryable properties", tags=["Collections"])
def queryables(request: Request, collection_id: str = LayerId):
    spec = spec_of(request, collection_id)
    return json_response(schema_doc(request, spec, queryables=True), media_type="application/schema+json")


# ------------------------------------------------------------------ items

def parse_bbox(text: str) -> tuple[float, float, float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise _bad(f"bbox={text!r}: needs 4 (or 6) comma-separated numbers") from None
    if len(values) == 6:  # 3D bbox: drop the heights
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise _bad(f"bbox={text!r}: needs 4 (or 6) comma-separated finite numbers")
    minx, miny, maxx, maxy = values
    if miny > maxy:
        raise _bad(f"bbox={text!r}: the lower corner is above the upper corner")
    return minx, miny, maxx, maxy


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


def items_query(request: Request, spec: LayerSpec, bbox: str | None, bbox_crs: str | None, limit: int,
                offset: int, sortby: str | None, properties: str | None) -> StoreQuery:
    settings = request.app.state.settings
    supported = supported_crs(settings.metric_crs)
    unknown = [k for k in request.query_params if k not in ITEMS_PARAMS and not spec.has_field(k) and k != "id"]
    if unknown:
        raise _bad(f"unknown query parameter(s) {', '.join(map(repr, unknown))}; filterable properties are: "
                   f"{', '.join(spec.field_names)}")
    if limit < 1:
        raise _bad(f"limit={limit}: must be at least 1")
    if limit > settings.max_limit:
        raise _bad(f"limit={limit}: the maximum is {settings.max_limit}")
    if offset < 0:
        raise _bad(f"offset={offset}: must not be negative")
    q = StoreQuery(limit=limit, offset=offset, sort=parse_sortby(sortby, spec))
    if bbox is not None:
        box = parse_bbox(bbox)
        crs_uri = parse_crs_uri(bbox_crs, supported) if bbox_crs else CRS84
        q.bbox = bbox_to_crs84(box, crs_uri)
    elif bbox_crs is not None:
        raise _bad("bbox-crs is given without bbox")
    for name in spec.field_names + ["id"]:
        values = request.query_params.getlist(name)
        if values:
            q.filters.append(Filter(name, "eq", values[0]) if len(values) == 1 else Filter(name, "in", values))
    if properties is not None:
        names = [p.strip() for p in properties.split(",") if p.strip()]
        bad = [n for n in names if not spec.has_field(n)]
        if bad:
            raise _bad(f"properties: {', '.join(map(repr, bad))} not in {spec.id}; use: {', '.join(spec.field_names)}")
        q.properties = names
    return q


def page_links(request: Request, cid: str, q: StoreQuery, matched: int, returned: int) -> list[dict[str, str]]:
    url = request.url
    base = f"{base_url(request)}/collections/{cid}/items"
    params = dict(request.query_params)
    params.pop("f", None)

    def href(extra: dict[str, Any], fmt: str | None = None) -> str:
        p = {**params, **{k: str(v) for k, v in extra.items()}}
        if fmt:
            p["f"] = fmt
        from urllib.parse import urlencode

        return base + ("?" + urlencode(p) if p else "")

    links = [
        {"rel": "self", "type": GEOJSON, "title": "this page", "href": str(url)},
        {"rel": "alternate", "type": "text/html", "title": "this page as HTML", "href": href({}, "html")},
        {"rel": "collection", "type": JSON, "href": f"{base_url(request)}/collections/{cid}"},
    ]
    if q.offset + returned < matched:
        links.append({"rel": "next", "type": GEOJSON, "title": "next page",
                      "href": href({"offset": q.offset + (q.limit or returned), "limit": q.limit})})
    if q.offset > 0:
        links.append({"rel": "prev", "type": GEOJSON, "title": "previous page",
                      "href": href({"offset": max(0, q.offset - (q.limit or 0)), "limit": q.limit})})
    return links


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@router.get("/collections/{collection_id}/items", summary="Features of a collection", tags=["Features"],
            response_class=Response,
            responses={200: {"content": {GEOJSON: {}, "text/html": {}}, "description": "a FeatureCollection"},
                       304: {"description": "not modified"}})
def items(
    request: Request,
    collection_id: str = LayerId,
    bbox: str | None = Query(None, description="minx,miny,maxx,maxy (in bbox-crs; default CRS84 lon/lat)"),
    bbox_crs: str | None = Query(None, alias="bbox-crs", description="CRS of bbox (a URI from the collection's crs)"),
    crs: str | None = Query(None, description="CRS of the response geometries (a URI from the collection's crs)"),
    limit: int = Query(None, description="features per page (default 100, maximum 10,000 by default)"),
    offset: int = Query(0, description="features to skip"),
    sortby: str | None = Query(None, description="e.g. -households,name"),
    properties: str | None = Query(None, description="comma-separated property names to return"),
    datetime: str | None = Query(None, description="accepted for client compatibility; no temporal extent"),
    f: str | None = Query(None, description="json or html"),
):
    settings = request.app.state.settings
    store = request.app.state.store
    spec = spec_of(request, collection_id)
    limit = settings.default_limit if limit is None else limit
    q = items_query(request, spec, bbox, bbox_crs, limit, offset, sortby, properties)
    out_crs = parse_crs_uri(crs, supported_crs(settings.metric_crs)) if crs else CRS84
    as_html = wants_html(request, f)
    version = store.version(collection_id)
    key = hashlib.blake2b(f"{request.url.query}|{as_html}".encode(), digest_size=8).hexdigest()
    etag = f'W/"{collection_id}-{version}-{key}"'
    headers = conditional(request, etag, store.last_modified(collection_id))
    if headers is None:
        return not_modified(etag)
    result = store.query(collection_id, q)
    links = page_links(request, collection_id, q, result.number_matched, result.number_returned)
    if as_html:
        return HTMLResponse(html.items(spec, result, links, lang(request), base_url(request)), headers=headers)
    features = _encode(request, collection_id, version, result, out_crs, q.properties is None)
    body = collection_bytes(features, {
        "numberMatched": result.number_matched,
        "numberReturned": result.number_returned,
        "timeStamp": _now(),
        "links": links,
    })
    headers["Content-Crs"] = f"<{out_crs}>"
    return Response(body, media_type=GEOJSON, headers=headers)


def _encode(request: Request, cid: str, version: int, result: QueryResult, out_crs: str, full: bool) -> list[bytes]:
    if out_crs == CRS84 and full:
        return request.app.state.cache.features(cid, version, result)
    return encode_features(result.features, transform=from_crs84(out_crs))


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature", tags=["Features"],
            response_class=Response,
            responses={200: {"content": {GEOJSON: {}, "text/html": {}}, "description": "a Feature"},
                       304: {"description": "not modified"}, 404: {"description": "no such feature"}})
def item(request: Request, collection_id: str = LayerId,
         feature_id: int = Path(..., ge=1, le=2**53, description="feature id"),
         crs: str | None = Query(None, description="CRS of the response geometry"),
         f: str | None = Query(None, description="json or html")):
    settings = request.app.state.settings
    store = request.app.state.store
    spec = spec_of(request, collection_id)
    out_crs = parse_crs_uri(crs, supported_crs(settings.metric_crs)) if crs else CRS84
    feat = store.get(collection_id, feature_id)
    etag = feature_etag(feat["properties"], feat["geometry"])
    as_html = wants_html(request, f)
    if as_html:
        etag = etag[:-1] + '-html"'
    headers = conditional(request, etag, None)
    if headers is None:
        return not_modified(etag)
    base = base_url(request)
    geom = feat["geometry"]
    conv = from_crs84(out_crs)
    if conv is not None:
        import numpy as np

        geom = conv(np.array([geom], dtype=object))[0]
    body = {
        "type": "Feature", "id": feat["id"], "geometry": geometry_dict(geom), "properties": feat["properties"],
        "links": [
            {"rel": "self", "type": GEOJSON, "href": f"{base}/collections/{collection_id}/items/{feature_id}"},
            {"rel": "alternate", "type": "text/html",
             "href": f"{base}/collections/{collection_id}/items/{feature_id}?f=html"},
            {"rel": "collection", "type": JSON, "href": f"{base}/collections/{collection_id}"},
        ],
    }
    if as_html:
        return HTMLResponse(html.feature(spec, body, lang(request)), headers=headers)
    headers["Content-Crs"] = f"<{out_crs}>"
    return json_response(body, media_type=GEOJSON, headers=headers)
