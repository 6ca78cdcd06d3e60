"""OGC API - Tiles: tile matrix sets, tilesets and Mapbox Vector Tiles of the collections.

The web map's pages and data are in :mod:`.webmap`; the tiles are cut by the app's MapData
(``app.state.map_data``, through the :func:`~.webmap.map_data` dependency).
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from ..maps import tiles
from .errors import ApiError
from .features import LayerId, base_url, check_params, json_response, spec_of
from .webmap import map_data

router = APIRouter()
_TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
CONFORMANCE: list[str] = [_TILES + c for c in ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt")] + [
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset", "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset"]
TMS = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"

JSON = "application/json"


# ------------------------------------------------------------------ OGC API - Tiles (Mapbox Vector Tiles)

def _tms_links(base: str) -> list[dict]:
    return [{"rel": TILING_SCHEME, "type": JSON, "title": "WebMercatorQuad", "href": f"{base}/tileMatrixSets/{TMS}"}]


@router.get("/tileMatrixSets", tags=["Tiles"], summary="The tile matrix sets tiles are served in")
def tile_matrix_sets(request: Request):
    check_params(request, ["f"])
    base = base_url(request)
    return json_response({"tileMatrixSets": [{"id": TMS, "title": "Google Maps Compatible for the World",
                                              "uri": TMS_URI, "links": [{"rel": "self", "type": JSON,
                                                                         "href": f"{base}/tileMatrixSets/{TMS}"}]}],
                          "links": [{"rel": "self", "type": JSON, "href": f"{base}/tileMatrixSets"}]})


@router.get(f"/tileMatrixSets/{TMS}", tags=["Tiles"], summary="The WebMercatorQuad tile matrix set (OGC TMS 2.0)")
def web_mercator_quad(request: Request):
    check_params(request, ["f"])
    return json_response(tiles.web_mercator_quad())


def _tileset(request: Request, collection_id: str) -> dict:
    spec = spec_of(request, collection_id)
    base = base_url(request)
    here = f"{base}/collections/{collection_id}/tiles/{TMS}"
    dims = {"Point": 0, "MultiPoint": 0, "LineString": 1, "MultiLineString": 1, "Polygon": 2, "MultiPolygon": 2}
    dim = {dims[g] for g in spec.geometry_types}
    types = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean", "date": "string",
             "datetime": "string"}
    layer = {"id": collection_id, "title": spec.title.get(request.app.state.settings.lang), "dataType": "vector",
             "geometryDimension": dim.pop() if len(dim) == 1 else None, "minTileMatrix": "0",
             "maxTileMatrix": str(tiles.MAX_ZOOM),
             "propertiesSchema": {"type": "object", "properties": {f.name: {"type": types[f.type], "title": f.title.en}
                                                                  for f in spec.fields}}}
    doc = {"title": f"{spec.title.en}: Mapbox Vector Tiles", "dataType": "vector",
           "crs": "http://www.opengis.net/def/crs/EPSG/0/3857", "tileMatrixSetURI": TMS_URI,
           "links": [{"rel": "self", "type": JSON, "href": here}, *_tms_links(base),
                     {"rel": "item", "type": tiles.MVT, "templated": True, "title": "a tile",
                      "href": here + "/{tileMatrix}/{tileCol}/{tileRow}"},
                     {"rel": "collection", "type": JSON, "href": f"{base}/collections/{collection_id}"}],
           "layers": [layer]}
    extent = request.app.state.store.extent(collection_id)
    if extent is not None:
        doc["boundingBox"] = {"lowerLeft": list(extent[:2]), "upperRight": list(extent[2:]),
                              "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
    return doc


@router.get("/collections/{collection_id}/tiles", tags=["Tiles"], summary="The tilesets of a collection")
def collection_tilesets(request: Request, collection_id: str = LayerId):
    check_params(request, ["f"])
    ts = _tileset(request, collection_id)
    base = base_url(request)
    entry = {k: ts[k] for k in ("title", "dataType", "crs", "tileMatrixSetURI")}
    entry["links"] = [ts["links"][0], *_tms_links(base)]
    return json_response({"tilesets": [entry], "links": [
        {"rel": "self", "type": JSON, "href": f"{base}/collections/{collection_id}/tiles"}]})


@router.get(f"/collections/{{collection_id}}/tiles/{TMS}", tags=["Tiles"],
            summary="Tileset metadata: the tile URL template, the layer and its properties")
def collection_tileset(request: Request, collection_id: str = LayerId):
    check_params(request, ["f"])
    return json_response(_tileset(request, collection_id))


@router.get(f"/collections/{{collection_id}}/tiles/{TMS}/{{z}}/{{x}}/{{y}}", tags=["Tiles"],
            summary="A Mapbox Vector Tile (z = tileMatrix, x = tileCol, y = tileRow)", response_class=Response,
            responses={200: {"content": {tiles.MVT: {}}, "description": "the tile (empty when nothing is there)"}})
def collection_tile(request: Request, collection_id: str = LayerId, z: int = Path(..., ge=0, le=tiles.MAX_ZOOM),
                    x: int = Path(..., ge=0), y: int = Path(..., ge=0)):
    check_params(request, ["f"])
    spec_of(request, collection_id)
    if x >= 2**z or y >= 2**z:
        raise ApiError(404, "NotFound", f"tile {z}/{x}/{y} is outside the tile matrix {z} ({2**z} x {2**z} tiles)")
    body = map_data(request).tile(collection_id, z, x, y)
    etag = '"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=tiles.MVT, headers=headers)
