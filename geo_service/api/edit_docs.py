"""OpenAPI documentation of the edit routes: body schemas, examples, error answers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from .responses import GEOJSON


class FieldError(BaseModel):
    field: str
    reason: str


class EditError(BaseModel):
    """The JSON body of every error answer (the app's exception handlers write it)."""

    code: str
    description: str
    errors: list[FieldError] | None = Field(None, description="one entry per rejected field (422)")


GEOMETRY_SCHEMA = {"type": "object", "required": ["type", "coordinates"],
                    "description": "a GeoJSON geometry of a type the collection takes; lon/lat (CRS84) "
                                   "unless the Content-Crs header names another CRS of the collection",
                    "properties": {"type": {"type": "string", "enum": ["Point", "MultiPoint", "LineString",
                                                                      "MultiLineString", "Polygon", "MultiPolygon"]},
                                   "coordinates": {"type": "array"}}}
PROPERTIES_SCHEMA = {"type": "object", "description": "the collection's fields, typed and constrained as "
                                                       "/collections/{collectionId}/schema describes"}
FEATURE_SCHEMA = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
    "type": {"type": "string", "enum": ["Feature"]},
    "id": {"description": "ignored on POST (the server assigns ids); on PUT it must equal the id in the path"},
    "geometry": GEOMETRY_SCHEMA, "properties": PROPERTIES_SCHEMA}}
PATCH_SCHEMA = {"type": "object", "description": "JSON Merge Patch (RFC 7396) of the feature: the properties "
                                                  "given replace those stored (null empties one); a geometry "
                                                  "replaces the stored one", "properties": {
    "type": {"type": "string", "enum": ["Feature"]}, "id": {"description": "if given, the id in the path"},
    "geometry": GEOMETRY_SCHEMA, "properties": PROPERTIES_SCHEMA}}
EXAMPLE = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.401, 31.118]},
            "properties": {"kind": "underground", "status": "working", "last_inspected": "2025-05-01"}}


def request_body(schema: dict, media_types: tuple[str, ...], example: dict) -> dict:
    return {"requestBody": {"required": True, "content": {
        m: {"schema": schema, "example": example} for m in media_types}}}


def errors(*statuses: int) -> dict:
    words = {400: "malformed JSON, not a Feature, an id differing from the path, or a bad header",
             401: "no API key, or an unknown one (see the WWW-Authenticate header)",
             403: "the key's role may not do this (editor or admin needed)",
             404: "no such collection or feature", 412: "If-Match is stale: the feature changed since it was read",
             413: "the body is larger than the configured limit", 415: "unsupported Content-Type",
             422: "the feature breaks the collection's schema; `errors` names each field and reason"}
    return {s: {"description": words[s], "model": EditError} for s in statuses}


ETAG_HEADER = {"ETag": {"description": "the feature's new ETag, for If-Match on the next change",
                         "schema": {"type": "string"}}}
# OPTIONS works without a key unless reads need one; `{}` among the alternatives says "optional".
KEY_OPTIONAL = {"security": [{}]}
FEATURE_RESPONSE = {"content": {GEOJSON: {"schema": {"type": "object"}}}, "headers": ETAG_HEADER}


