"""OGC API - Features collections: the list, one collection, its schema and its queryables.

Routes are made per layer of the catalog (``/collections/fire_hydrants``, ...), each with its own
OpenAPI fragment, so the API definition names every collection the way GDAL and QGIS read it.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..catalog import FieldSpec, LayerSpec
from ..crs import CRS84, supported_crs
from . import html, openapi
from .dependencies import lang, only_f
from .errors import not_found
from .openapi import JSON_TYPES, ok, operation
from .responses import GEOJSON, HTML, JSON, SCHEMA_JSON, base_url, send

QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SORTABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/sortables"


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
            {"rel": SORTABLES_REL, "type": SCHEMA_JSON, "title": "properties sortby takes",
             "href": f"{href}/sortables"},
        ],
    }
    if extent is not None:
        doc["extent"] = {"spatial": {"bbox": [list(extent)], "crs": CRS84}}
    return doc


def _layers_modified(request: Request) -> str | None:
    store = request.app.state.store
    stamps = [store.last_modified(spec.id) or "" for spec in store.catalog]
    return max(stamps, default="") or None


def collections(request: Request, as_html: bool = Depends(only_f)):
    base = base_url(request)
    body = {
        "links": [
            {"rel": "self", "type": JSON, "title": "the collections", "href": f"{base}/collections"},
            {"rel": "alternate", "type": HTML, "title": "the collections as HTML",
             "href": f"{base}/collections?f=html"},
        ],
        "collections": [collection_doc(request, spec) for spec in request.app.state.store.catalog],
    }
    if as_html:
        return send(request, html.collections(body, lang(request)), HTML, _layers_modified(request))
    return send(request, orjson.dumps(body), JSON, _layers_modified(request))


# ------------------------------------------------------------------ schema and queryables

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
    p: dict[str, Any] = {"title": fs.title.get(lang_), "type": JSON_TYPES[fs.type]}
    if fs.description:
        p["description"] = fs.description
    if fs.type in ("date", "datetime"):
        p["format"] = "date" if fs.type == "date" else "date-time"
    if fs.values and fs.type == "list":
        p["items"] = {"type": "string", "enum": fs.allowed}
    elif fs.values:
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


# ------------------------------------------------------------------ per-collection endpoints

class CollectionEndpoints:
    """The description, schema and queryables of one collection."""

    def __init__(self, spec: LayerSpec, read_requires_key: bool):
        self.spec, self.auth = spec, read_requires_key

    def describe(self, request: Request, as_html: bool = Depends(only_f)) -> Response:
        body = collection_doc(request, self.spec)
        modified = request.app.state.store.last_modified(self.spec.id)
        if as_html:
            return send(request, html.collection(body, lang(request)), HTML, modified)
        return send(request, orjson.dumps(body), JSON, modified)

    def _schema(self, request: Request, as_html: bool, queryables: bool) -> Response:
        doc = schema_doc(request, self.spec, queryables)
        if as_html:
            return send(request, html.schema(doc, lang(request)), HTML)
        return send(request, orjson.dumps(doc), SCHEMA_JSON)

    def schema(self, request: Request, as_html: bool = Depends(only_f)) -> Response:
        return self._schema(request, as_html, queryables=False)

    def queryables(self, request: Request, as_html: bool = Depends(only_f)) -> Response:
        return self._schema(request, as_html, queryables=True)

    def sortables(self, request: Request, as_html: bool = Depends(only_f)) -> Response:
        """OGC API - Features Part 5: what `sortby` takes (the id and every field; nulls sort last)."""
        doc = schema_doc(request, self.spec, queryables=True)
        doc["$id"] = doc["$id"].removesuffix("/queryables") + "/sortables"
        doc["properties"] = {"id": {"title": "id", "type": "integer"},
                             **{fs.name: property_schema(fs, lang(request)) for fs in self.spec.fields}}
        if as_html:
            return send(request, html.schema(doc, lang(request)), HTML)
        return send(request, orjson.dumps(doc), SCHEMA_JSON)

    def register(self, router: APIRouter) -> None:
        cid, title, f = self.spec.id, self.spec.title.en, [openapi.ref("f")]
        base = f"/collections/{cid}"
        schema_ok = ok("a JSON Schema", SCHEMA_JSON, {"$ref": "#/components/schemas/jsonSchema"})
        for path, endpoint, extra in (
            (base, self.describe, operation(f"describe.{cid}", "Collections", f"The {title} collection", f,
                                            ok("the collection", JSON, {"$ref": "#/components/schemas/collection"}),
                                            self.auth)),
            (f"{base}/schema", self.schema, operation(f"schema.{cid}", "Collections",
                                                      f"Schema of the {title} features", f, schema_ok, self.auth)),
            (f"{base}/queryables", self.queryables, operation(f"queryables.{cid}", "Collections",
                                                              f"Queryable properties of {title}", f,
                                                              schema_ok, self.auth)),
            (f"{base}/sortables", self.sortables, operation(f"sortables.{cid}", "Collections",
                                                            f"Sortable properties of {title}", f,
                                                            copy.deepcopy(schema_ok), self.auth)),
        ):
            router.add_api_route(path, endpoint, methods=["GET"], response_class=Response, openapi_extra=extra,
                                 name=extra["operationId"])


def build_router(catalog, read_requires_key: bool) -> APIRouter:
    router = APIRouter()
    router.add_api_route("/collections", collections, methods=["GET"], response_class=Response,
                         openapi_extra=operation("getCollections", "Collections", "The collections (layers)",
                                                 [openapi.ref("f")], ok("all collections", JSON, {
                                                     "$ref": "#/components/schemas/collections"}), read_requires_key))
    for spec in catalog:
        CollectionEndpoints(spec, read_requires_key).register(router)
    return router


def unknown_collection(collection_id: str, rest: str = "") -> Response:
    """A /collections/... path of no layer: 404 naming it (not a 405 from an edit route's path)."""
    raise not_found(f"collection {collection_id!r} not found; see /collections")


def build_fallback_router() -> APIRouter:
    """Included last: only paths no other route answers reach it."""
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/collections/{collection_id}", unknown_collection, methods=["GET"])
    router.add_api_route("/collections/{collection_id}/{rest:path}", unknown_collection, methods=["GET"])
    return router
