"""``GET /compounds/{id}/isochrones`` and ``/nearest-facilities``: what a compound's residents reach on foot.

Thin: parse the parameters, take the walking network (and the counted facilities) from the app's
analysis cache (built once per layer version and metric CRS), hand the geometry to
``analysis.life_circle.isochrones`` / ``analysis.walking_routes.nearest_facilities``. Parameters
resolve like the life-circle analysis' (defaults < settings.analysis_params).
"""

from __future__ import annotations

import geopandas as gpd
import shapely
from fastapi import APIRouter, Query, Request

from ..analysis import output
from ..analysis.frames import choose_crs
from ..analysis.life_circle import Rules, isochrones, road_network
from ..analysis.params import split_list
from ..analysis.registry import get
from ..analysis.walking_routes import counted_facilities, nearest_facilities
from .compound_models import ERRORS
from .compounds import COMPOUNDS, CompoundId, GeoJSONResponse
from .errors import ApiError
from .heavy import heavy
from .responses import GEOJSON

router = APIRouter()
ROADS = "roads"
FACILITIES = "service_facilities"
MAX_MINUTES = 60.0


def _minutes(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ApiError(400, "InvalidParameterValue", f"minutes={text!r}: expected numbers like 5,10,15") from None
    if not values or len(values) > 6 or any(not 0 < v <= MAX_MINUTES for v in values):
        raise ApiError(400, "InvalidParameterValue", f"minutes={text!r}: 1-6 values in (0, {MAX_MINUTES:g}]")
    return values


@router.get("/compounds/{compound_id}/isochrones", tags=["Compounds"], response_class=GeoJSONResponse,
            responses=ERRORS,
            summary="Walkable areas of a compound within 5/10/15 minutes (GB 50180-2018 life circles)")
def compound_isochrones(
    request: Request,
    compound_id: int = CompoundId,
    minutes: str = Query("5,10,15", description="comma-separated walking minutes; 5/10/15 use the circles' "
                                                "radii (300/500/1,000 m), others minutes x walk_speed_m_per_min"),
):
    values = _minutes(minutes)
    compound, crs, params, net = _walking(request, compound_id)
    areas = isochrones(compound, net, crs, values, **params)
    areas["geometry"] = shapely.set_precision(areas.geometry.values, 1e-6)
    return GeoJSONResponse(output.feature_collection(areas, {"compound": int(compound.index[0])}), media_type=GEOJSON)


def _walking(request: Request, compound_id: int):
    """(the compound as a one-row frame, metric CRS, life-circle parameters, walking network or None)."""
    settings, store = request.app.state.settings, request.app.state.store
    feat = store.get(COMPOUNDS, compound_id)
    compound = gpd.GeoDataFrame({"id": [feat["id"]]}, geometry=[feat["geometry"]], crs="EPSG:4326")
    compound = compound.set_index("id")
    crs = choose_crs([compound], settings.metric_crs)
    params = get("life-circle").resolve(settings.analysis_params)
    version = store.version(ROADS) if ROADS in store.catalog else None
    net = None
    if version is not None:
        key = ("walking-network", version, crs.to_string())
        # the first request per roads version builds the graph (seconds on a city): a heavy-work slot
        net = request.app.state.analysis_cache.get(
            key, lambda: heavy(request, lambda: road_network(store.frame(ROADS), crs)))
    return compound, crs, params, net


def _categories(text: str | None, params: dict) -> list[str] | None:
    if text is None:
        return None
    required = [c for c, _ in Rules(**params).categories()]
    asked = split_list(text)
    unknown = [c for c in asked if c not in required]
    if not asked or unknown:
        raise ApiError(400, "InvalidParameterValue",
                       f"categories={text!r}: {'unknown ' + ', '.join(unknown) if unknown else 'none given'}; "
                       f"use some of: {', '.join(required)}")
    return asked


@router.get("/compounds/{compound_id}/nearest-facilities", tags=["Compounds"], response_class=GeoJSONResponse,
            responses=ERRORS,
            summary="Nearest working facility of each life-circle category and the walking route to it")
def compound_nearest_facilities(
    request: Request,
    compound_id: int = CompoundId,
    categories: str | None = Query(None, description="comma-separated facility categories to answer (default: "
                                                     "every category the 5/10/15-minute circles require)"),
):
    """One LineString feature per category: the walk from the compound's boundary along the roads to the
    nearest working facility (null geometry when none is within max_walk_m). Properties: category,
    category_zh/category_en, facility_id, facility_name, distance_m, minutes (at walk_speed_m_per_min),
    circle (5/10/15), radius_m, within_circle, estimated (no road network there: straight line x
    detour_factor, the route is the straight segment)."""
    store = request.app.state.store
    compound, crs, params, net = _walking(request, compound_id)
    asked = _categories(categories, params)
    statuses = params.get("facility_statuses")
    version = store.version(FACILITIES) if FACILITIES in store.catalog else None
    facilities = counted_facilities(None, crs, **params)
    if version is not None:
        key = ("walking-facilities", version, crs.to_string(), statuses)
        facilities = request.app.state.analysis_cache.get(
            key, lambda: counted_facilities(store.frame(FACILITIES), crs, **params))
    routes = nearest_facilities(compound, facilities, net, crs, asked, **params)
    titles = _category_titles(store)
    routes.insert(2, "category_zh", [titles.get(c, (c, c))[0] for c in routes["category"]])
    routes.insert(3, "category_en", [titles.get(c, (c, c))[1] for c in routes["category"]])
    routes["geometry"] = shapely.set_precision(routes.geometry.values, 1e-7)
    return GeoJSONResponse(output.feature_collection(routes, {"compound": int(compound.index[0])}),
                           media_type=GEOJSON)


def _category_titles(store) -> dict[str, tuple[str, str]]:
    if FACILITIES not in store.catalog or not store.catalog.get(FACILITIES).has_field("category"):
        return {}
    values = store.catalog.get(FACILITIES).field("category").values or {}
    return {k: (t.zh, t.en) for k, t in values.items()}
