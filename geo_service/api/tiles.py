"""OGC API - Tiles: tile matrix sets, tilesets and Mapbox Vector Tiles of the collections.

The store cuts the tiles (`FeatureStore.tile`: the GeoPackage store from its in-memory layer, PostGIS
with ST_AsMVT); this router only parses, checks the tile matrix and answers with an ETag made from the
layer's version, so a client's current tile costs a 304 without cutting it again. Tiles a store can give
at once (`FeatureStore.quick_tile`) are answered on the event loop, the rest in the threadpool.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ..catalog import LayerSpec
from ..store import mvt as tiles
from .dependencies import check_params, layer_spec
from .errors import ApiError
from .openapi import error_responses
from .responses import JSON, base_url, cached, conditional, json_response, key_etag, not_modified

router = APIRouter()
_TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
CONFORMANCE: list[str] = [_TILES + c for c in ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt")] + [
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset", "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset"]
TMS = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
TILE_HEADERS = {"Cache-Control": "no-cache"}  # clients keep tiles and revalidate them by ETag


# ------------------------------------------------------------------ OGC API - Tiles (Mapbox Vector Tiles)

def _tms_links(base: str) -> list[dict]:
    return [{"rel": TILING_SCHEME, "type": JSON, "title": "WebMercatorQuad", "href": f"{base}/tileMatrixSets/{TMS}"}]


@router.get("/tileMatrixSets", tags=["Tiles"], summary="The tile matrix sets tiles are served in",
            responses=error_responses(400))
def tile_matrix_sets(request: Request):
    check_params(request, ["f"])
    base = base_url(request)
    return json_response({"tileMatrixSets": [{"id": TMS, "title": "Google Maps Compatible for the World",
                                              "uri": TMS_URI, "links": [{"rel": "self", "type": JSON,
                                                                         "href": f"{base}/tileMatrixSets/{TMS}"}]}],
                          "links": [{"rel": "self", "type": JSON, "href": f"{base}/tileMatrixSets"}]})


@router.get(f"/tileMatrixSets/{TMS}", tags=["Tiles"], summary="The WebMercatorQuad tile matrix set (OGC TMS 2.0)",
            responses=error_responses(400))
def web_mercator_quad(request: Request):
    check_params(request, ["f"])
    return json_response(tiles.web_mercator_quad())


def _tileset(request: Request, spec: LayerSpec) -> dict:
    collection_id = spec.id
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
                                                                  for f in tiles.tile_fields(spec)}}}
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


@router.get("/collections/{collection_id}/tiles", tags=["Tiles"], summary="The tilesets of a collection",
            responses=error_responses(400, 404))
def collection_tilesets(request: Request, spec: LayerSpec = Depends(layer_spec)):
    check_params(request, ["f"])
    collection_id = spec.id
    ts = _tileset(request, spec)
    base = base_url(request)
    entry = {k: ts[k] for k in ("title", "dataType", "crs", "tileMatrixSetURI")}
    entry["links"] = [ts["links"][0], *_tms_links(base)]
    return json_response({"tilesets": [entry], "links": [
        {"rel": "self", "type": JSON, "href": f"{base}/collections/{collection_id}/tiles"}]})


@router.get(f"/collections/{{collection_id}}/tiles/{TMS}", tags=["Tiles"],
            summary="Tileset metadata: the tile URL template, the layer and its properties",
            responses=error_responses(400, 404))
def collection_tileset(request: Request, spec: LayerSpec = Depends(layer_spec)):
    check_params(request, ["f"])
    return json_response(_tileset(request, spec))


@router.get(f"/collections/{{collection_id}}/tiles/{TMS}/{{z}}/{{x}}/{{y}}", tags=["Tiles"],
            summary="A Mapbox Vector Tile (z = tileMatrix, x = tileCol, y = tileRow)", response_class=Response,
            responses={200: {"content": {tiles.MVT: {}}, "description": "the tile (empty when nothing is there)"},
                       **error_responses(304, 400, 404)})
async def collection_tile(request: Request, spec: LayerSpec = Depends(layer_spec),
                          z: int = Path(..., ge=0, le=tiles.MAX_ZOOM), x: int = Path(..., ge=0),
                          y: int = Path(..., ge=0)):
    check_params(request, ["f"])
    if x >= 2**z or y >= 2**z:
        raise ApiError(404, "NotFound", f"tile {z}/{x}/{y} is outside the tile matrix {z} ({2**z} x {2**z} tiles)")
    store = request.app.state.store
    if not store.reads_in_memory:  # the version and the tile wait on the database: all in the threadpool
        return await run_in_threadpool(_tile, request, store, spec.id, z, x, y)
    # In memory: the ETag, a 304, a cached tile and a street-level cut (store.quick_tile) take less time on the
    # event loop than the hop to the threadpool (about 0.13 ms); only bigger cuts go there.
    etag = key_etag("tile", spec.id, store.version(spec.id), z, x, y)
    tags = conditional(request, etag, None, None)
    if tags is None:
        return not_modified({"ETag": etag})
    body = store.quick_tile(spec.id, z, x, y)
    if body is None:
        body = await run_in_threadpool(store.tile, spec.id, z, x, y)
    return Response(body, media_type=tiles.MVT, headers={**tags, **TILE_HEADERS})


def _tile(request: Request, store, layer: str, z: int, x: int, y: int) -> Response:
    """The tile with its ETag (the layer's version and the tile's address), or a 304 without cutting it."""
    etag = key_etag("tile", layer, store.version(layer), z, x, y)
    return cached(request, etag, lambda: store.tile(layer, z, x, y), tiles.MVT, headers=TILE_HEADERS, vary=None)
