"""The web map over HTTP: /map pages, their viewport data, overlays, local basemap tiles, /static.

Thin, like the other routers: parse and bound the parameters, ask :mod:`geo_service.web` (which
keeps the per-layer indexes and draws nothing itself), serialise. The page links every script
and stylesheet from /static on this service, so it works on an intranet with no internet.
The app's :class:`~geo_service.web.data.MapData` is built once in ``create_app`` (``app.state.map_data``)
and reaches the routes through the :func:`map_data` dependency.
"""

from __future__ import annotations

import os

import shapely
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from ..settings import Settings
from ..web import assets, basemaps
from ..web.data import OVERLAYS, MapData, MapDataError
from ..web.page import TEXTS, MapPage, render
from .dependencies import check_params, cql_filter, parse_bbox
from .errors import ApiError
from .openapi import error_responses
from .responses import base_url, send

router = APIRouter()
CONFORMANCE: list[str] = []

HTML = "text/html; charset=utf-8"
JSON = "application/json"
COMPOUNDS = "compounds"
ASSET_CACHE = "public, max-age=86400"  # asset URLs carry a content hash (?v=), so a day is safe
ColorBy = Query(None, max_length=64, description="compounds colouring: a field (renovation_tier, build_year, ...) or "
                                                "an analysis (parking-gaps, hydrant-coverage, renovation-priorities)")
Layers = Query(None, max_length=1000, description="comma-separated layers and overlays shown at start "
                                                  "(default: every layer whose style does not say visible: false)")
Bbox = Query(..., description="minlon,minlat,maxlon,maxlat (WGS84)")
Zoom = Query(..., ge=0, le=24, description="the map's zoom level: decides clusters or features and generalisation")


def build_map_data(settings: Settings, store) -> MapData:
    """The app's one MapData (create_app builds it; it holds indexes of the layers shown so far)."""
    return MapData(store, max_features=settings.map_max_features, cluster_px=settings.map_cluster_px,
                   analysis_params=settings.analysis_params, metric_crs=settings.metric_crs)


def map_data(request: Request) -> MapData:
    """Dependency: the MapData create_app put on the app."""
    return request.app.state.map_data


class StaticAssets(StaticFiles):
    """/static: our map script and style, and Leaflet with its plugins (vendor/, fetched at install time).

    Files are looked up through :func:`geo_service.web.assets.static_file` (which keeps every path
    inside the folder); a missing vendor file answers with the command that installs it.
    """

    def __init__(self) -> None:
        super().__init__(directory=assets.STATIC_DIR, check_dir=False)

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        file = assets.static_file(path)
        return (str(file), file.stat()) if file is not None else ("", None)

    def file_response(self, full_path, stat_result, scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = ASSET_CACHE
        return response

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except StarletteHTTPException as e:
            if e.status_code != 404:
                raise
            hint = f"; {assets.FETCH_HINT}" if path.startswith(assets.VENDOR + "/") else ""
            raise ApiError(404, "NotFound", f"no static file {path!r}{hint}") from None


def _json(request: Request, body: bytes) -> Response:
    """JSON with a content ETag: a view seen before costs the browser a 304, not the bytes."""
    return send(request, body, JSON, extra={"Cache-Control": "no-cache"}, vary=None)


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


def _page(request: Request, md: MapData, color_by: str | None, layers: str | None, bounds, focus: dict | None,
          title: str | None) -> Response:
    settings = request.app.state.settings
    visible = _visible(md, layers)
    lang = settings.lang if settings.lang in TEXTS else "en"
    try:
        schemes = {spec.id: md.scheme(spec.id, color_by if spec.id == COMPOUNDS else None)
                   for spec in md.store.catalog}
    except MapDataError as e:
        raise ApiError(e.status, "InvalidParameterValue", str(e)) from None
    base = base_url(request)
    page = MapPage(
        catalog=md.store.catalog, lang=lang, schemes=schemes, bounds=bounds,
        basemaps=basemaps.configured(settings, base), api=base, links_base=base, color_by=color_by,
        hydrant_radius_m=md.hydrant_radius(), focus=focus, title=title, visible=visible,
        max_limit=settings.max_limit)
    try:
        html = render(page, asset_prefix=f"{base}/static")
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
            responses={200: {"content": {"text/html": {}}, "description": "the map page"},
                       **error_responses(400, 503)})
def map_page(request: Request, color_by: str | None = ColorBy, layers: str | None = Layers,
             md: MapData = Depends(map_data)):
    check_params(request, ["color_by", "layers"])
    return _page(request, md, color_by, layers, _extent(request), None, None)


@router.get("/map/compounds/{compound_id}", tags=["Map"], summary="The web map opened on one compound (HTML)",
            response_class=Response, responses={200: {"content": {"text/html": {}}, "description": "the map page"},
                                                **error_responses(400, 404, 503)})
def compound_map(request: Request, compound_id: int = Path(..., ge=1, le=2**53), color_by: str | None = ColorBy,
                 layers: str | None = Layers, md: MapData = Depends(map_data)):
    check_params(request, ["color_by", "layers"])
    feat = request.app.state.store.get(COMPOUNDS, compound_id)  # NotFound -> 404
    minx, miny, maxx, maxy = shapely.bounds(feat["geometry"]).tolist()
    pad = max(maxx - minx, maxy - miny, 0.004)  # the compound and its neighbourhood (~z16-17)
    name = feat["properties"].get("name")
    return _page(request, md, color_by, layers, (minx - pad, miny - pad, maxx + pad, maxy + pad),
                 {"id": compound_id}, str(name) if name else None)


@router.get("/map/data/{layer}", tags=["Map"], summary="A layer in one map view: features, or clusters when dense",
            responses=error_responses(304, 400, 404))
def layer_view(request: Request, layer: str = Path(..., pattern=r"^[a-z][a-z0-9_]*$"), bbox: str = Bbox,
               zoom: int = Zoom, color_by: str | None = ColorBy, md: MapData = Depends(map_data),
               filter_: str | None = Query(None, alias="filter", max_length=4000,
                                           description="a CQL2 filter (as on /items): the view keeps what it selects"),
               filter_lang: str | None = Query(None, alias="filter-lang",
                                               description="cql2-text (default) or cql2-json"),
               filter_crs: str | None = Query(None, alias="filter-crs",
                                              description="CRS of the filter's geometries")):
    check_params(request, ["bbox", "zoom", "color_by", "filter", "filter-lang", "filter-crs"])
    try:
        spec = md.spec(layer)
        cql = cql_filter(request, spec)
        text = None if cql is None else f"{filter_lang}|{filter_crs}|{filter_}"
        body = md.view(layer, parse_bbox(bbox, lonlat=True), zoom, color_by, cql=cql, cql_text=text)
    except MapDataError as e:
        raise ApiError(e.status, "NotFound" if e.status == 404 else "InvalidParameterValue", str(e)) from None
    return _json(request, body)


@router.get("/map/overlays/{name}", tags=["Map"], summary="An analysis overlay in one map view",
            responses=error_responses(304, 400, 404, 429))
def overlay_view(request: Request, name: str = Path(..., pattern=r"^[a-z][a-z0-9-]*$",
                                                     description=", ".join(OVERLAYS)),
                 bbox: str = Bbox, zoom: int = Zoom, md: MapData = Depends(map_data)):
    check_params(request, ["bbox", "zoom"])
    try:
        body = md.overlay(name, parse_bbox(bbox, lonlat=True), zoom)
    except MapDataError as e:
        raise ApiError(e.status, "NotFound" if e.status == 404 else "InvalidParameterValue", str(e)) from None
    return _json(request, body)


@router.get("/map/basemap/{z}/{x}/{y}", tags=["Map"], summary="A tile of the local basemap folder (map_tiles_dir)",
            responses={204: {"description": "no tile here (or no local basemap configured)"},
                       **error_responses(400, 404)})
def local_tile(request: Request, z: int = Path(..., ge=0, le=24), x: int = Path(..., ge=0), y: int = Path(..., ge=0)):
    path = basemaps.local_tile(request.app.state.settings, z, x, y)
    if path is None:
        return Response(status_code=204)  # no tile here: Leaflet leaves the cell to the plain background
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})
