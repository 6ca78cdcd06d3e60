"""``GET /compounds/{id}/isochrones``: the areas a compound's residents reach on foot in 5/10/15 minutes.

Thin: parse the minutes, take the walking network from the app's analysis cache (built once per
roads layer version and metric CRS), hand the geometry to ``analysis.life_circle.isochrones``.
Parameters resolve like the life-circle analysis' (defaults < settings.analysis_params).
"""

from __future__ import annotations

import geopandas as gpd
import shapely
from fastapi import APIRouter, Query, Request

from ..analysis import output
from ..analysis.frames import choose_crs
from ..analysis.life_circle import isochrones, road_network
from ..analysis.registry import get
from .compound_models import ERRORS
from .compounds import COMPOUNDS, CompoundId, GeoJSONResponse
from .errors import ApiError
from .heavy import heavy
from .responses import GEOJSON

router = APIRouter()
ROADS = "roads"
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
    settings, store = request.app.state.settings, request.app.state.store
    feat = store.get(COMPOUNDS, compound_id)
    compound = gpd.GeoDataFrame({"id": [feat["id"]]}, geometry=[feat["geometry"]], crs="EPSG:4326")
    crs = choose_crs([compound], settings.metric_crs)
    params = get("life-circle").resolve(settings.analysis_params)
    version = store.version(ROADS) if ROADS in store.catalog else None
    net = None
    if version is not None:
        key = ("walking-network", version, crs.to_string())
        # the first request per roads version builds the graph (seconds on a city): a heavy-work slot
        net = request.app.state.analysis_cache.get(
            key, lambda: heavy(request, lambda: road_network(store.frame(ROADS), crs)))
    areas = isochrones(compound, net, crs, values, **params)
    areas["geometry"] = shapely.set_precision(areas.geometry.values, 1e-6)
    return GeoJSONResponse(output.feature_collection(areas, {"compound": feat["id"]}), media_type=GEOJSON)
