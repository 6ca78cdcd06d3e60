"""OGC API - Features items (Part 1 Core, Part 2 CRS): a page of features, and one feature.

Routes are made per collection, each with its OpenAPI fragment (the collection's filterable
properties as typed query parameters, sortby and properties patterns from its fields). The router
parses (dependencies.items_request), asks the store for the page of encoded GeoJSON, adds links.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any
from urllib.parse import urlencode

import numpy as np
import shapely
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ..catalog import LayerSpec
from ..crs import CRS84, from_crs84
from ..store.base import Query as StoreQuery
from ..store.base import feature_etag
from ..store.geojson import GeoJSONPage, collection_bytes, encode_features, geometry_dict
from ..web import feature_table
from . import html
from .dependencies import (
    ItemsRequest,
    check_params,
    feature_id,
    filterable,
    format_param,
    items_request,
    lang,
    output_crs,
    parse_properties,
    skip_geometry,
    wants_html,
)
from .openapi import CONTENT_CRS, NOT_FOUND, ok, operation, ref, value_schema
from .responses import CSV, GEOJSON, HTML, JSON, base_url, conditional, json_response, not_modified


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


def _wkt(geoms: np.ndarray, width: int = 160) -> list[str]:
    texts = shapely.to_wkt(geoms, rounding_precision=7, trim=True)
    return ["" if t is None else (t if len(t) <= width else t[: width - 1] + "…") for t in texts]


def _names_pattern(names: list[str], signed: bool) -> str:
    one = ("[+-]?" if signed else "") + "(" + "|".join(map(re.escape, names)) + ")"
    return f"^{one}(,{one})*$"


class ItemEndpoints:
    """/items and /items/{featureId} of one collection."""

    def __init__(self, spec: LayerSpec, read_requires_key: bool):
        self.spec, self.auth = spec, read_requires_key

    async def items(self, request: Request) -> Response:
        """A page of an in-memory store is built on the event loop (cheaper than the threadpool hop);
        a store that waits on a database answers in the threadpool, so the loop never blocks on it."""
        if request.app.state.store.reads_in_memory:
            return self._items(request)
        return await run_in_threadpool(self._items, request)

    def _items(self, request: Request) -> Response:
        ask = items_request(request, self.spec)
        store, cid = request.app.state.store, self.spec.id
        version, modified = store.layer_state(cid)
        key = hashlib.blake2b(f"{request.url.query}|{ask.as_html}|{ask.as_csv}".encode(), digest_size=8).hexdigest()
        etag = f'W/"{cid}-{version}-{key}"'
        headers = conditional(request, etag, modified)
        if headers is None:
            return not_modified({"ETag": etag, "Vary": "Accept"})
        headers["Content-Crs"] = f"<{ask.crs}>"
        if ask.as_csv:
            return self._items_csv(request, ask, headers)
        if ask.as_html:
            return Response(self._items_html(request, ask), media_type=HTML, headers=headers)
        page = self._page(store, ask)
        body = collection_bytes(page.features, {
            "numberMatched": page.number_matched,
            "numberReturned": page.number_returned,
            "timeStamp": _now(),
            "links": page_links(request, cid, ask.query, page.number_matched, page.number_returned, False),
        })
        return Response(body, media_type=GEOJSON, headers=headers)

    def _page(self, store, ask: ItemsRequest) -> GeoJSONPage:
        if not ask.skip_geometry:
            return store.geojson_page(self.spec.id, ask.query, ask.crs)
        result = store.query(self.spec.id, ask.query)
        frame = result.features.set_geometry(np.full(len(result.features), None, dtype=object))
        return GeoJSONPage(encode_features(frame), result.number_matched)

    def _items_html(self, request: Request, ask: ItemsRequest) -> str:
        result = request.app.state.store.query(self.spec.id, ask.query)
        links = page_links(request, self.spec.id, ask.query, result.number_matched, result.number_returned, True)
        geoms = np.asarray(result.features.geometry.values, dtype=object)
        conv = from_crs84(ask.crs)
        return html.items(self.spec, result, links, conv(geoms) if conv else geoms, lang(request), base_url(request),
                          _now())

    def _items_csv(self, request: Request, ask: ItemsRequest, headers: dict[str, str]) -> Response:
        result = request.app.state.store.query(self.spec.id, ask.query)
        frame = result.features
        conv = from_crs84(ask.crs)
        if conv is not None and len(frame):
            frame = frame.set_geometry(conv(np.asarray(frame.geometry.values, dtype=object)))
        headers = {**headers, "Content-Disposition": f'inline; filename="{self.spec.id}.csv"',
                   "OGC-NumberMatched": str(result.number_matched)}
        return Response(feature_table.csv_bytes(self.spec, frame, lang(request), not ask.skip_geometry),
                        media_type=CSV, headers=headers)

    def item(self, request: Request) -> Response:
        cid, store = self.spec.id, request.app.state.store
        check_params(request, ["f", "crs", "properties", "skipGeometry"])
        # Read as text from the path (documented by the fragment): a non-number is a 404, not a 400.
        fid = feature_id(request.path_params["featureId"], cid)
        crs = request.query_params.get("crs")
        out_crs = output_crs(crs, request.app.state.settings)
        as_html = wants_html(request, format_param(request, ("json", "geojson", "html")))
        feat = store.get(cid, fid)
        # The strong ETag of the stored feature is what If-Match of an edit compares with; other
        # representations (HTML, another CRS) get their own tags derived from it.
        etag = feature_etag(feat["properties"], feat["geometry"])
        trimmed = [request.query_params.get(p) for p in ("properties", "skipGeometry")]
        if as_html or out_crs != CRS84 or any(trimmed):
            suffix = hashlib.blake2b(f"{out_crs}|{as_html}|{trimmed}".encode(), digest_size=4).hexdigest()
            etag = f'{etag[:-1]}-{suffix}"'
        headers = conditional(request, etag, store.last_modified(cid))
        if headers is None:
            return not_modified({"ETag": etag, "Vary": "Accept"})
        geom = feat["geometry"]
        conv = from_crs84(out_crs)
        if conv is not None and geom is not None:
            geom = conv(np.array([geom], dtype=object))[0]
        wanted = parse_properties(request.query_params.get("properties"), self.spec)
        if wanted is not None:
            feat = {**feat, "properties": {k: v for k, v in feat["properties"].items() if k in wanted}}
        if skip_geometry(request):
            geom = None
        body = self._feature_doc(request, feat, geom, fid, crs, as_html)
        headers["Content-Crs"] = f"<{out_crs}>"
        if as_html:
            wkt = _wkt(np.array([geom], dtype=object))[0]
            return Response(html.feature(self.spec, body, wkt, lang(request)), media_type=HTML, headers=headers)
        return json_response(body, media_type=GEOJSON, headers=headers)

    def _feature_doc(self, request: Request, feat: dict, geom, fid: int, crs: str | None,
                     as_html: bool) -> dict[str, Any]:
        base = f"{base_url(request)}/collections/{self.spec.id}"

        def href(in_html: bool) -> str:
            params = ([("crs", crs)] if crs else []) + ([("f", "html")] if in_html else [])
            return f"{base}/items/{fid}" + ("?" + urlencode(params) if params else "")

        return {
            "type": "Feature", "id": feat["id"], "geometry": geometry_dict(geom), "properties": feat["properties"],
            "links": [
                {"rel": "self", "type": HTML if as_html else GEOJSON, "title": "this feature", "href": href(as_html)},
                {"rel": "alternate", "type": GEOJSON if as_html else HTML,
                 "title": "this feature as " + ("GeoJSON" if as_html else "HTML"), "href": href(not as_html)},
                {"rel": "collection", "type": JSON, "title": "the collection", "href": base},
            ],
        }

    # -------------------------------------------------------------- registration with OpenAPI fragments

    def _items_parameters(self) -> list[dict[str, Any]]:
        spec = self.spec
        filters = [{"name": fs.name, "in": "query", "required": False, "schema": value_schema(fs),
                    "description": f"only features whose {fs.name} equals this (repeat it for any of several)"}
                   for fs in filterable(spec)]
        sortby = {"name": "sortby", "in": "query", "required": False, "style": "form", "explode": False,
                  "description": "sort keys, comma-separated; a leading - sorts descending",
                  "schema": {"type": "string", "pattern": _names_pattern(["id", *spec.field_names], signed=True)}}
        props = self._properties_parameter()
        shared = [ref(n) for n in ("f-items", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "filter",
                                   "filter-lang", "filter-crs", "skipGeometry")]
        return shared + [sortby, props] + filters

    def _properties_parameter(self) -> dict[str, Any]:
        return {"name": "properties", "in": "query", "required": False, "style": "form", "explode": False,
                "description": "the properties to return, comma-separated",
                "schema": {"type": "string", "pattern": _names_pattern(self.spec.field_names, signed=False)}}

    def register(self, router: APIRouter) -> None:
        cid, title = self.spec.id, self.spec.title.en
        items_extra = operation(
            f"items.{cid}", "Features", f"{title}: features", self._items_parameters(),
            _with_csv(ok(f"a page of {title} features", GEOJSON,
                         {"$ref": f"#/components/schemas/{cid}.featureCollection"}, CONTENT_CRS)), self.auth)
        item_responses = ok(f"a {title} feature", GEOJSON, {"$ref": f"#/components/schemas/{cid}.feature"},
                            CONTENT_CRS)
        item_responses["404"] = dict(NOT_FOUND)
        item_extra = operation(f"item.{cid}", "Features", f"{title}: one feature",
                               [ref("featureId"), ref("crs"), ref("f-features"), ref("skipGeometry"),
                                self._properties_parameter()],
                               item_responses, self.auth)
        router.add_api_route(f"/collections/{cid}/items", self.items, methods=["GET"], response_class=Response,
                             openapi_extra=items_extra, name=items_extra["operationId"])
        router.add_api_route(f"/collections/{cid}/items/{{featureId}}", self.item, methods=["GET"],
                             response_class=Response, openapi_extra=item_extra, name=item_extra["operationId"])


def _with_csv(responses: dict[str, Any]) -> dict[str, Any]:
    responses["200"]["content"]["text/csv"] = {"schema": {"type": "string"}}
    return responses


def build_router(catalog, read_requires_key: bool) -> APIRouter:
    router = APIRouter()
    for spec in catalog:
        ItemEndpoints(spec, read_requires_key).register(router)
    return router
