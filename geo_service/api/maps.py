"""The web map over HTTP: /map pages, their viewport data, overlays, local basemap tiles, static assets.

Thin, like the other routers: parse and bound the parameters, ask ``geo_service.maps`` (which
keeps the per-layer indexes and draws nothing itself), serialise. The page links every script
and stylesheet from /static on this service, so it works on an intranet with no internet.
"""

from __future__ import annotations

import hashlib
import math
import threading

import shapely
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, Response

from ..maps import assets, basemaps, webmap
from ..maps.data import OVERLAYS, MapData, MapDataError
from ..store import mvt as tiles
from .dependencies import LayerId, check_params, spec_of
from .errors import ApiError
from .responses import base_url, json_response

router = APIRouter()
_TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
CONFORMANCE: list[str] = [_TILES + c for c in ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt")] + [
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset", "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset"]
TMS = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"

HTML = "text/html; charset=utf-8"
JSON = "application/json"
COMPOUNDS = "compounds"
ColorBy = Query(None, max_length=64, description="compounds colouring: a field (renovation_tier, build_year, ...) or "
                                                "an analysis (parking-gaps, hydrant-coverage, renovation-priorities)")
Layers = Query(None, max_length=1000, description="comma-separated layers and overlays shown at start "
                                                  "(default: every layer whose style does not say visible: false)")
Bbox = Query(..., description="minlon,minlat,maxlon,maxlat (WGS84)")
Zoom = Query(..., ge=0, le=24, description="the map's zoom level: decides clusters or features and generalisation")
_LOCK = threading.Lock()




def map_data(request: Request) -> MapData:
    """The app's MapData, made on first use (it holds indexes of the layers shown so far)."""
    state = request.app.state
    with _LOCK:
        if getattr(state, "map_data", None) is None:
            s = state.settings
            state.map_data = MapData(state.store, max_features=s.map_max_features,
                                     cluster_px=s.map_cluster_px,
                                     analysis_params=s.analysis_params, metric_crs=s.metric_crs)
    return state.map_data


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ApiError(400, "InvalidParameterValue",
                       f"bbox={text!r}: four numbers minlon,minlat,maxlon,maxlat") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ApiError(400, "InvalidParameterValue", f"bbox={text!r}: four numbers minlon,minlat,maxlon,maxlat")
    minx, miny, maxx, maxy = values
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ApiError(400, "InvalidParameterValue", f"bbox={text!r}: lon/lat in range, min before max")
    return values


def _json(request: Request, body: bytes) -> Response:
    """JSON with a content ETag: a view seen before costs the browser a 304, not the bytes."""
    etag = '"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=JSON, headers=headers)


def _visible(md: MapData, layers: str | None) -> list[str] | None:
    if layers is None:
        return None
    names = [n.strip() for n in layers.split(",") if n.strip()]
    known = [*md.store.catalog.ids(), *OVERLAYS]
    bad = [n for n in names if n not in known]
    if bad:
        raise ApiError(400, "InvalidParameterValue",
                     f"layers: {', '.join(map(repr, bad))} unknown; use: {', '.join(known)}")
    return names


def _page(request: Request, color_by: str | None, layers: str | None, bounds, focus: dict | None,
          title: str | None) -> Response:
    settings = request.app.state.settings
    md = map_data(request)
    visible = _visible(md, layers)
    lang = settings.lang if settings.lang in webmap.TEXTS else "en"
    try:
        schemes = {spec.id: md.scheme(spec.id, color_by if spec.id == COMPOUNDS else None)
                   for spec in md.store.catalog}
    except MapDataError as e:
        raise ApiError(e.status, "InvalidParameterValue", str(e)) from None
    base = base_url(request)
    page = webmap.MapPage(
        catalog=md.store.catalog, lang=lang, schemes=schemes, bounds=bounds,
        basemaps=basemaps.configured(settings, base), api=base, links_base=base, color_by=color_by,
        hydrant_radius_m=md.hydrant_radius(), focus=focus, title=title, visible=visible)
    try:
        html = webmap.render(page, asset_prefix=f"{base}/static")
    except assets.AssetsMissing as e:
        raise ApiError(503, "Unavailable", str(e)) from None
    return Response(html, media_type=HTML)


def _extent(request: Request) -> tuple[float, float, float, float] | None:
    store = request.app.state.store
    boxes = [b for lid in ([COMPOUNDS] if COMPOUNDS in store.catalog else store.catalog.ids())
             if (b := store.extent(lid)) is not None]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


@router.get("/map", tags=["Map"], summary="The interactive web map (HTML)", response_class=Response,
            responses={200: {"content": {"text/html": {}}, "description": "the map page"}})
def map_page(request: Request, color_by: str | None = ColorBy, layers: str | None = Layers):
    check_params(request, ["color_by", "layers"])
    return _page(request, color_by, layers, _extent(request), None, None)


@router.get("/map/compounds/{compound_id}", tags=["Map"], summary="The web map opened on one compound (HTML)",
            response_class=Response, responses={200: {"content": {"text/html": {}}, "description": "the map page"}})
def compound_map(request: Request, compound_id: int = Path(..., ge=1, le=2**53), color_by: str | None = ColorBy,
                 layers: str | None = Layers):
    check_params(request, ["color_by", "layers"])
    feat = request.app.state.store.get(COMPOUNDS, compound_id)  # NotFound -> 404
    minx, miny, maxx, maxy = shapely.bounds(feat["geometry"]).tolist()
    pad = max(maxx - minx, maxy - miny, 0.004)  # the compound and its neighbourhood (~z16-17)
    name = feat["properties"].get("name")
    return _page(request, color_by, layers, (minx - pad, miny - pad, maxx + pad, maxy + pad), {"id": compound_id},
                 str(name) if name else None)


@router.get("/map/data/{layer}", tags=["Map"], summary="A layer in one map view: features, or clusters when dense")
def layer_view(request: Request, layer: str = Path(..., pattern=r"^[a-z][a-z0-9_]*$"), bbox: str = Bbox,
               zoom: int = Zoom, color_by: str | None = ColorBy):
    check_params(request, ["bbox", "zoom", "color_by"])
    try:
        body = map_data(request).view(layer, _bbox(bbox), zoom, color_by)
    except MapDataError as e:
        raise ApiError(e.status, "NotFound" if e.status == 404 else "InvalidParameterValue", str(e)) from None
    return _json(request, body)


@router.get("/map/overlays/{name}", tags=["Map"], summary="An analysis overlay in one map view")
def overlay_view(request: Request, name: str = Path(..., pattern=r"^[a-z][a-z0-9-]*$",
                                                     description=", ".join(OVERLAYS)),
                 bbox: str = Bbox, zoom: int = Zoom):
    check_params(request, ["bbox", "zoom"])
    try:
        body = map_data(request).overlay(name, _bbox(bbox), zoom)
    except MapDataError as e:
        raise ApiError(e.status, "NotFound" if e.status == 404 else "InvalidParameterValue", str(e)) from None
    return _json(request, body)


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
    body = request.app.state.store.tile(collection_id, z, x, y)
    etag = '"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=tiles.MVT, headers=headers)


@router.get("/map/basemap/{z}/{x}/{y}", tags=["Map"], summary="A tile of the local basemap folder (map_tiles_dir)")
def local_tile(request: Request, z: int = Path(..., ge=0, le=24), x: int = Path(..., ge=0), y: int = Path(..., ge=0)):
    path = basemaps.local_tile(request.app.state.settings, z, x, y)
    if path is None:
        return Response(status_code=204)  # no tile here: Leaflet leaves the cell to the plain background
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/static/{path:path}", include_in_schema=False)
def static(path: str):
    """Our map script and style, and Leaflet with its plugins (vendor/, fetched at install time)."""
    file = assets.static_file(path)
    if file is None:
        hint = f"; {assets.FETCH_HINT}" if path.startswith(assets.VENDOR + "/") else ""
        raise ApiError(404, "NotFound", f"no static file {path!r}{hint}")
    return FileResponse(file, headers={"Cache-Control": "public, max-age=86400"})
