"""OGC API - Features Part 4: create, replace, update and delete items (API-key roles, audit, If-Match).

The router is thin like the rest of the API: it bounds and parses the body, turns the GeoJSON
Feature into properties + a CRS84 geometry, and calls the store, which validates with the import
rules, checks If-Match inside its write transaction and records the audit entry (actor = key name).

Choices worth knowing:
- POST answers 201 with Location and ETag; PUT and PATCH answer 200 with the stored feature (values
  as normalised by validation, e.g. aliases resolved) and its ETag; DELETE answers 204.
- If-Match is optional (Part 4 does not require it): without it the last writer wins. With it, a
  stale tag gives 412 and nothing is written. The ETag is the one GET .../items/{fid} sends.
- Only a key with role editor or admin may write or read a feature's audit history.
- OPTIONS on the items and item resources lists the methods allowed to the caller (QGIS offers
  editing only when that list holds POST); an id in the body of a POST is ignored (ids are assigned).
- Geometries are CRS84 lon/lat unless the request has a Content-Crs header naming a CRS the
  collections offer (Part 2); they are converted to CRS84 before validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import shapely
from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from shapely.geometry.base import BaseGeometry

from ..catalog import LayerSpec
from ..crs import CRS84, parse_crs_uri, supported_crs, to_crs84
from ..store.base import InvalidFeature, PreconditionFailed, feature_etag
from ..store.geojson import geometry_dict
from . import edit_docs as docs
from .auth import AuthError, Principal, require_editor, require_reader
from .dependencies import LayerId, json_body, spec_of
from .errors import ApiError
from .responses import GEOJSON, JSON, base_url

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
]

MERGE_PATCH = "application/merge-patch+json"
FEATURE_TYPES = (GEOJSON, JSON)
PATCH_TYPES = (MERGE_PATCH, JSON, GEOJSON)


class _EditRoute(APIRoute):
    """Answers this router's auth and precondition errors itself, headers included, so the
    routes behave the same whether or not the app installs handlers for them."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except AuthError as e:
                return e.response()
            except PreconditionFailed as e:
                return _json({"code": "PreconditionFailed", "description": str(e)}, 412, JSON)

        return route_handler


router = APIRouter(route_class=_EditRoute, tags=["Edit features"])

FeatureId = Path(..., ge=1, le=2**53, description="feature id")
IfMatch = Header(None, alias="If-Match",
                 description="ETag of the feature as last read (GET item or the previous write); "
                             "optional: when given and stale the request fails with 412")
ContentCrs = Header(None, alias="Content-Crs",
                    description="CRS of the body's geometry as <URI> (one of the collection's crs); default CRS84")


def _error(status: int, code: str, description: str) -> Exception:
    return ApiError(status, code, description)


def _json(body: Any, status: int = 200, media_type: str = GEOJSON, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


# ------------------------------------------------------------------ request body

async def feature_body(request: Request) -> Any:
    return await json_body(request, FEATURE_TYPES)


async def patch_body(request: Request) -> Any:
    return await json_body(request, PATCH_TYPES)


@dataclass
class Edit:
    """What a request body asks for. None means "not given" (only a PATCH may leave things out)."""

    properties: dict[str, Any] | None
    geometry: BaseGeometry | None
    body_id: Any


def parse_feature(request: Request, spec: LayerSpec, body: Any, content_crs: str | None, partial: bool) -> Edit:
    """Check the Feature's shape (400, or 422 for what merge-patch cannot express); the store validates."""
    if not isinstance(body, dict):
        raise _error(400, "InvalidParameterValue", f"the body must be a GeoJSON Feature object, "
                                                   f"not a JSON {type(body).__name__}")
    kind = body.get("type")
    if kind != "Feature" and not (partial and "type" not in body):
        hint = "; send one feature per request" if kind == "FeatureCollection" else ""
        raise _error(400, "InvalidParameterValue", f"the body must be a GeoJSON Feature (\"type\": \"Feature\"), "
                                                   f"got type {kind!r}{hint}")
    _check_members(body)
    props = body.get("properties")
    if props is None:
        if partial and "properties" in body:
            raise InvalidFeature([("properties", "cannot be removed as a whole; set single properties to null")])
        props = None if partial else {}
    elif not isinstance(props, dict):
        raise InvalidFeature([("properties", "must be an object")])
    geometry = body.get("geometry")
    if geometry is None and not spec.has_geometry:
        geom = None  # a layer without geometry: "geometry": null (or absent) is what its features hold
    elif geometry is None:
        if not partial:
            raise InvalidFeature([("geometry", "is required")])
        if "geometry" in body:
            raise InvalidFeature([("geometry", f"cannot be removed: every feature of {spec.id} has one")])
        geom = None
    else:
        geom = _geometry(request, geometry, content_crs)
    if partial and props is None and geom is None:
        raise _error(400, "InvalidParameterValue", "the patch changes nothing: give properties and/or a geometry")
    return Edit(props, geom, body.get("id"))


# GeoJSON (RFC 7946) members a Feature may carry; anything else is a typo the client must hear about.
FEATURE_MEMBERS = ("type", "id", "geometry", "properties", "bbox", "links")


def _check_members(body: dict[str, Any]) -> None:
    """Unknown top-level members are 422 naming them, never silently dropped (the store refuses
    unknown properties the same way)."""
    errors = [(name, f"is not a member of a GeoJSON Feature; use {', '.join(FEATURE_MEMBERS)}")
              for name in body if name not in FEATURE_MEMBERS]
    if errors:
        raise InvalidFeature(errors)


def _geometry(request: Request, geometry: Any, content_crs: str | None) -> BaseGeometry:
    """A CRS84 shapely geometry from the body's GeoJSON geometry (Part 2: Content-Crs is HTTP's business;
    the store checks the geometry itself: type, validity, service area)."""
    try:
        geom = shapely.geometry.shape(geometry)
    except Exception as e:  # shapely raises several types for malformed GeoJSON
        raise InvalidFeature([("geometry", f"not a valid GeoJSON geometry ({e})")]) from None
    if content_crs:
        settings = request.app.state.settings
        uri = parse_crs_uri(content_crs.strip().strip("<>"), supported_crs(settings.metric_crs))
        geom = to_crs84(uri, np.array([geom], dtype=object))[0]
    return geom


def _check_body_id(body_id: Any, feature_id: int) -> None:
    if body_id is not None and str(body_id) != str(feature_id):
        raise _error(400, "InvalidParameterValue", f"the feature id in the body ({body_id!r}) differs from the "
                                                   f"id in the URL ({feature_id})")


def _if_match(value: str | None) -> str | None:
    """Quote bare tags (`If-Match: abc` from hand-written requests) so they compare with ETags."""
    if value is None:
        return None
    if not value.strip():
        raise _error(400, "InvalidParameterValue", "If-Match is empty: send the ETag as last read, or leave it out")
    tags = [t.strip() for t in value.split(",")]
    return ", ".join(t if t == "*" or t.startswith(('"', 'W/"')) else f'"{t}"' for t in tags)


# ------------------------------------------------------------------ responses

def _item_url(request: Request, collection_id: str, feature_id: int) -> str:
    return f"{base_url(request)}/collections/{collection_id}/items/{feature_id}"


def _written(request: Request, collection_id: str, feature_id: int, status: int, location: bool = False) -> Response:
    """The feature as stored now, with its ETag (the tag a following If-Match must send).

    The store reports no tag from inside its transaction, so this reads the feature back; in the
    rare case another writer got in between, the body shows their state and the tag matches it.
    """
    feat = request.app.state.store.get(collection_id, feature_id)
    url = _item_url(request, collection_id, feature_id)
    body = {
        "type": "Feature", "id": feat["id"], "geometry": geometry_dict(feat["geometry"]),
        "properties": feat["properties"],
        "links": [
            {"rel": "self", "type": GEOJSON, "href": url},
            {"rel": "collection", "type": JSON, "href": f"{base_url(request)}/collections/{collection_id}"},
        ],
    }
    headers = {"ETag": feature_etag(feat["properties"], feat["geometry"]), "Content-Crs": f"<{CRS84}>"}
    if location:
        headers["Location"] = url
    return _json(body, status, headers=headers)


# ------------------------------------------------------------------ routes

@router.post("/collections/{collection_id}/items", summary="Add a feature", status_code=201,
             response_class=Response,
             openapi_extra=docs.request_body(docs.FEATURE_SCHEMA, FEATURE_TYPES, docs.EXAMPLE),
             responses={201: {"description": "created; Location is the new feature's URL",
                              **docs.FEATURE_RESPONSE,
                              "headers": {**docs.ETAG_HEADER, "Location": {"schema": {"type": "string"},
                                                                      "description": "URL of the new feature"}}},
                        **docs.errors(400, 401, 403, 404, 413, 415, 422)})
def create_item(request: Request, collection_id: str = LayerId,
                principal: Principal = Depends(require_editor), body: Any = Depends(feature_body),
                content_crs: str | None = ContentCrs) -> Response:
    spec = spec_of(request, collection_id)
    edit = parse_feature(request, spec, body, content_crs, partial=False)
    fid = request.app.state.store.create(collection_id, edit.properties, edit.geometry, actor=principal.name)
    return _written(request, collection_id, fid, 201, location=True)


@router.put("/collections/{collection_id}/items/{feature_id}", summary="Replace a feature",
            response_class=Response,
            openapi_extra=docs.request_body(docs.FEATURE_SCHEMA, FEATURE_TYPES, docs.EXAMPLE),
            responses={200: {"description": "replaced; the body is the feature as stored", **docs.FEATURE_RESPONSE},
                       **docs.errors(400, 401, 403, 404, 412, 413, 415, 422)})
def replace_item(request: Request, collection_id: str = LayerId, feature_id: int = FeatureId,
                 principal: Principal = Depends(require_editor), body: Any = Depends(feature_body),
                 if_match: str | None = IfMatch, content_crs: str | None = ContentCrs) -> Response:
    spec = spec_of(request, collection_id)
    edit = parse_feature(request, spec, body, content_crs, partial=False)
    _check_body_id(edit.body_id, feature_id)
    request.app.state.store.replace(collection_id, feature_id, edit.properties, edit.geometry,
                                    actor=principal.name, if_match=_if_match(if_match))
    return _written(request, collection_id, feature_id, 200)


@router.patch("/collections/{collection_id}/items/{feature_id}", summary="Update part of a feature",
              response_class=Response,
              openapi_extra=docs.request_body(docs.PATCH_SCHEMA, PATCH_TYPES, {"properties": {"status": "faulty"}}),
              responses={200: {"description": "updated; the body is the feature as stored", **docs.FEATURE_RESPONSE},
                         **docs.errors(400, 401, 403, 404, 412, 413, 415, 422)})
def update_item(request: Request, collection_id: str = LayerId, feature_id: int = FeatureId,
                principal: Principal = Depends(require_editor), body: Any = Depends(patch_body),
                if_match: str | None = IfMatch, content_crs: str | None = ContentCrs) -> Response:
    spec = spec_of(request, collection_id)
    edit = parse_feature(request, spec, body, content_crs, partial=True)
    _check_body_id(edit.body_id, feature_id)
    request.app.state.store.update(collection_id, feature_id, edit.properties, edit.geometry,
                                   actor=principal.name, if_match=_if_match(if_match))
    return _written(request, collection_id, feature_id, 200)


@router.delete("/collections/{collection_id}/items/{feature_id}", summary="Delete a feature", status_code=204,
               response_class=Response,
               responses={204: {"description": "deleted; its audit history stays readable"},
                          **docs.errors(400, 401, 403, 404, 412)})
def delete_item(request: Request, collection_id: str = LayerId, feature_id: int = FeatureId,
                principal: Principal = Depends(require_editor), if_match: str | None = IfMatch) -> Response:
    spec_of(request, collection_id)
    request.app.state.store.delete(collection_id, feature_id, actor=principal.name, if_match=_if_match(if_match))
    return Response(status_code=204)


@router.get("/collections/{collection_id}/items/{feature_id}/history", summary="Audit history of a feature",
            response_class=Response,
            responses={200: {"description": "every write of the feature, oldest first: action, actor (the API "
                                            "key's name), time (UTC), and the feature before and after",
                             "content": {JSON: {"schema": {"type": "object"}}}},
                       **docs.errors(400, 401, 403, 404)})
def item_history(request: Request, collection_id: str = LayerId, feature_id: int = FeatureId,
                 principal: Principal = Depends(require_editor)) -> Response:
    """Editors and admins only: the records name who changed what. Deleted features keep theirs."""
    spec_of(request, collection_id)
    store = request.app.state.store
    records = store.history(collection_id, feature_id)
    if not records:
        store.get(collection_id, feature_id)  # 404 for an id that never existed; [] for untouched imports
    url = _item_url(request, collection_id, feature_id)
    return _json({
        "collection": collection_id, "featureId": feature_id, "numberReturned": len(records), "records": records,
        "links": [{"rel": "self", "type": JSON, "href": f"{url}/history"},
                  {"rel": "item", "type": GEOJSON, "href": url}],
    }, media_type=JSON)


def _allow(principal: Principal | None, writes: list[str]) -> str:
    may_write = principal is not None and principal.can("editor")
    return ", ".join(["GET", "OPTIONS"] + (writes if may_write else []))


@router.options("/collections/{collection_id}/items", summary="Methods allowed on the features",
                response_class=Response,
                responses={200: {"description": "Allow lists POST when the caller's key may edit"},
                           **docs.errors(400, 401, 404)},
                openapi_extra=docs.KEY_OPTIONAL)
def items_options(request: Request, collection_id: str = LayerId,
                  principal: Principal | None = Depends(require_reader)) -> Response:
    spec_of(request, collection_id)
    allow = _allow(principal, ["POST"])
    headers = {"Allow": allow}
    if "POST" in allow:
        headers["Accept-Post"] = ", ".join(FEATURE_TYPES)
    return Response(status_code=200, headers=headers)


@router.options("/collections/{collection_id}/items/{feature_id}", summary="Methods allowed on a feature",
                response_class=Response,
                responses={200: {"description": "Allow lists PUT, PATCH and DELETE when the caller's key may edit"},
                           **docs.errors(400, 401, 404)},
                openapi_extra=docs.KEY_OPTIONAL)
def item_options(request: Request, collection_id: str = LayerId,
                 feature_id: str = Path(..., description="feature id (need not exist: clients probe with any)"),
                 principal: Principal | None = Depends(require_reader)) -> Response:
    spec_of(request, collection_id)
    allow = _allow(principal, ["PUT", "PATCH", "DELETE"])
    headers = {"Allow": allow}
    if "PATCH" in allow:
        headers["Accept-Patch"] = ", ".join(PATCH_TYPES)
    return Response(status_code=200, headers=headers)
