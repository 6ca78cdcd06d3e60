"""The API definition (/api): OpenAPI 3.0 built from the app's routes.

Every route documents itself: FastAPI reads the typed parameters of the non-OGC routers, and the
OGC routes (one path per collection, because GDAL looks up ``/collections/<id>/items`` literally)
carry their own operation fragment made by `operation` below. This module adds what the fragments
refer to, the shared components: parameters whose bounds come from the settings (GDAL sizes its
pages from ``#/components/parameters/limit``), the GeoJSON schemas of each collection, the security
schemes. Then it rewrites FastAPI's OpenAPI 3.1 as the 3.0 that OGC's oas30 class asks for.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ..catalog import FieldSpec, LayerSpec
from ..crs import supported_crs
from ..settings import Settings
from .responses import HTML, JSON, OPENAPI

TAGS = [{"name": "Capabilities", "description": "landing page, conformance classes, the API definition"},
        {"name": "Collections", "description": "the layers and their schemas"},
        {"name": "Features", "description": "reading features (OGC API - Features Part 1 and 2)"}]

JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
              "date": "string", "datetime": "string", "list": "array"}

_LINK = {"type": "object", "required": ["href", "rel"], "properties": {
    "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
    "title": {"type": "string"}, "hreflang": {"type": "string"}}}
_LINKS = {"type": "array", "items": {"$ref": "#/components/schemas/link"}}
_GEOMETRY = {"type": "object", "nullable": True, "required": ["type"], "properties": {
    "type": {"type": "string", "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                                        "MultiPolygon", "GeometryCollection"]},
    "coordinates": {"type": "array"}, "geometries": {"type": "array"}}}

SCHEMAS: dict[str, Any] = {
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

_EXCEPTION = {JSON: {"schema": {"$ref": "#/components/schemas/exception"}}}
_ERRORS = {
    "304": {"description": "not modified: the ETag in If-None-Match (or If-Modified-Since) is current"},
    "400": {"description": "an unknown query parameter or an invalid value", "content": _EXCEPTION},
    "500": {"description": "a server error (the log has the details)", "content": _EXCEPTION},
}
NOT_FOUND = {"description": "no such feature", "content": _EXCEPTION}
HTML_CONTENT = {HTML: {"schema": {"type": "string"}}}
CONTENT_CRS = {"Content-Crs": {"schema": {"type": "string"}, "description": "<URI> of the geometries' CRS"}}
UNAUTHORIZED = {"401": {"description": "no API key, or an unknown one", "content": _EXCEPTION}}

# The schemes auth.py declares (FastAPI lists them only when some route uses them).
SECURITY_SCHEMES = {"bearerAuth": {"type": "http", "scheme": "bearer"},
                    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}


# ------------------------------------------------------------------ error answers any router declares

ERROR_WORDS = {304: "not modified: the ETag in If-None-Match is current",
               400: "an unknown query parameter or an invalid value", 401: "no API key, or an unknown one",
               404: "no such collection, feature, compound or tile", 429: "too many heavy computations; see "
               "Retry-After", 503: "a service the answer needs is unavailable (the store, or assets not installed)"}


def error_responses(*statuses: int) -> dict[int, dict[str, Any]]:
    """`responses=` for FastAPI routes: each status with the JSON error body (304 without a body)."""
    return {s: {"description": ERROR_WORDS[s], **({} if s == 304 else {"content": copy.deepcopy(_EXCEPTION)})}
            for s in statuses}


# ------------------------------------------------------------------ fragments the OGC routes carry

def ok(description: str, media: str, schema: dict, headers: dict | None = None, html: bool = True) -> dict[str, Any]:
    """200 (with its ETag header) plus the errors every OGC read operation may answer."""
    content = {media: {"schema": schema}, **(HTML_CONTENT if html else {})}
    response = {"description": description, "content": content,
                "headers": {"ETag": {"schema": {"type": "string"}, "description": "entity tag for If-None-Match"},
                            **(headers or {})}}
    return {"200": response, **copy.deepcopy(_ERRORS)}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def operation(op_id: str, tag: str, summary: str, params: list, responses: dict,
              read_requires_key: bool = False) -> dict[str, Any]:
    """An operation fragment for a route's openapi_extra (FastAPI merges it into what it generates)."""
    if read_requires_key:
        responses = {**responses, **copy.deepcopy(UNAUTHORIZED)}
    return {"operationId": op_id, "tags": [tag], "summary": summary, "parameters": params, "responses": responses}


def value_schema(fs: FieldSpec) -> dict[str, Any]:
    """OpenAPI 3.0 schema of one property's value as a query parameter."""
    # a list field is filtered by one item (the list contains it)
    s: dict[str, Any] = {"type": "string" if fs.type == "list" else JSON_TYPES[fs.type]}
    if fs.type in ("date", "datetime"):
        s["format"] = "date" if fs.type == "date" else "date-time"
    if fs.values:
        s["enum"] = fs.allowed
    return s


# ------------------------------------------------------------------ shared components

def shared_parameters(settings: Settings) -> dict[str, Any]:
    crs_schema = {"type": "string", "format": "uri", "enum": supported_crs(settings.metric_crs)}
    return {
        "f": {"name": "f", "in": "query", "required": False, "description": "the representation: json or html "
              "(default: from the Accept header, else json)", "schema": {"type": "string", "enum": ["json", "html"]}},
        "f-features": {"name": "f", "in": "query", "required": False, "description": "json/geojson or html",
                       "schema": {"type": "string", "enum": ["json", "geojson", "html"]}},
        "f-items": {"name": "f", "in": "query", "required": False,
                    "description": "json/geojson, html, or csv (a table for people: labels with codes beside them, "
                                   "lon/lat or WKT)",
                    "schema": {"type": "string", "enum": ["json", "geojson", "html", "csv"]}},
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
        "filter": {"name": "filter", "in": "query", "required": False, "description": "a CQL2 filter "
                   "(OGC API - Features Part 3), e.g. status IN ('faulty','unknown') AND flow_lps < 10",
                   "schema": {"type": "string"}},
        "filter-lang": {"name": "filter-lang", "in": "query", "required": False,
                        "description": "the language of filter (default cql2-text; cql-text, the draft's name that "
                                       "GDAL's OAPIF driver looks for and sends, is read as cql2-text)",
                        "schema": {"type": "string", "enum": ["cql2-text", "cql2-json", "cql-text"],
                                   "default": "cql2-text"}},
        "filter-crs": {"name": "filter-crs", "in": "query", "required": False, "description": "CRS of the "
                       "geometries in filter, in its axis order (default CRS84)", "schema": crs_schema},
        "skipGeometry": {"name": "skipGeometry", "in": "query", "required": False,
                         "description": "true: the features without their geometry (smaller pages for tables)",
                         "schema": {"type": "boolean", "default": False}},
        "featureId": {"name": "featureId", "in": "path", "required": True, "description": "the feature's id",
                      "schema": {"type": "integer", "minimum": 1, "format": "int64"}},
    }


def feature_schemas(spec: LayerSpec) -> dict[str, Any]:
    """The GeoJSON a collection answers, property types included, so clients and tests can check it."""
    props = {}
    for fs in spec.fields:
        if fs.type == "list":  # a JSON array of allowed values (a filter takes one item: value_schema)
            props[fs.name] = {"type": "array", "nullable": True, "items": value_schema(fs)}
            continue
        s = {**value_schema(fs), "nullable": True}
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


# ------------------------------------------------------------------ the document

def build_document(app: FastAPI) -> dict[str, Any]:
    """The whole definition: FastAPI's reading of the routes, the shared components, OpenAPI 3.0."""
    settings, catalog = app.state.settings, app.state.store.catalog
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                      tags=TAGS)
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {}).update(copy.deepcopy(SCHEMAS))
    for spec in catalog:
        components["schemas"].update(feature_schemas(spec))
    components.setdefault("parameters", {}).update(shared_parameters(settings))
    if settings.read_requires_key:
        schemes = components.setdefault("securitySchemes", {})
        for name, scheme in SECURITY_SCHEMES.items():
            schemes.setdefault(name, scheme)
    return to_oas30(doc)


def install(app: FastAPI) -> None:
    """Serve `build_document` as the app's OpenAPI (built once, on first use). Idempotent."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app)
        return app.openapi_schema

    app.openapi = openapi


def api_definition_operation() -> dict[str, Any]:
    return {"operationId": "getApiDefinition", "tags": ["Capabilities"], "summary": "This API definition (OpenAPI 3.0)",
            "responses": {"200": {"description": "the API definition", "content": {
                OPENAPI: {"schema": {"$ref": "#/components/schemas/apiDefinition"}}}}}}


def api_docs_operation() -> dict[str, Any]:
    return {"operationId": "getApiDocumentation", "tags": ["Capabilities"], "summary": "The API documentation (HTML)",
            "responses": {"200": {"description": "interactive documentation", "content": HTML_CONTENT}}}


# ------------------------------------------------------------------ OpenAPI 3.1 -> 3.0

def _drop_null_alternatives(node: dict[str, Any]) -> dict[str, Any]:
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
    return node


def _type_list(node: dict[str, Any]) -> None:
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


def _keywords_31(node: dict[str, Any]) -> None:
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
    node = _drop_null_alternatives(node)
    _type_list(node)
    _keywords_31(node)
    return node
