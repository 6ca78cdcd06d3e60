"""Compound endpoints: assets inside a compound, its summary, nearest features, name search.

Thin: parse and bound the parameters, ask the store for features, hand geometry work to
``geo_service.analysis.compound_assets``, serialise. Asset layers are every catalog layer but
``compounds``, so a new layer YAML shows up here without code changes.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
import shapely
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from ..analysis import compound_assets as ca
from ..catalog import LayerSpec
from ..catalog.validation import plain_value as plain
from ..crs import metric_crs
from ..store import cql
from ..store.base import FeatureStore, Filter
from ..store.base import Query as StoreQuery
from ..store.geojson import collection_bytes, encode_features
from .compound_models import ERRORS, AssetsBody, NearestBody, SearchBody, SummaryBody
from .dependencies import attribute_filters, layer_spec
from .errors import bad
from .responses import GEOJSON, JSON, base_url, json_response

router = APIRouter()
CONFORMANCE: list[str] = []

COMPOUNDS = "compounds"
HYDRANTS = "fire_hydrants"
PARKING = "parking_facilities"
ROADS = "roads"  # the walking network runs past compounds: not an asset of one
MAX_BUFFER_M = 2000.0
MAX_NEAREST_M = 50_000.0  # the cap of FeatureStore.nearest
MAX_K = 100

CompoundId = Path(..., ge=1, le=2**53, description="compound id (a feature id of the compounds collection)")



# ------------------------------------------------------------------ helpers

class GeoJSONResponse(JSONResponse):
    """application/geo+json; a JSONResponse so OpenAPI shows the response model under that type."""

    media_type = GEOJSON

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else orjson.dumps(content)


def _store(request: Request) -> FeatureStore:
    return request.app.state.store


def _asset_layers(store: FeatureStore, layers: str | None) -> list[str]:
    """Asset layers to report: all but compounds and the walking network, or the comma-separated subset asked for."""
    available = [spec.id for spec in store.catalog if spec.id not in (COMPOUNDS, ROADS) and spec.is_asset]
    if layers is None:
        return available
    wanted = list(dict.fromkeys(p.strip() for p in layers.split(",") if p.strip()))
    unknown = [w for w in wanted if w not in available]
    if unknown or not wanted:
        raise bad(f"layers={layers!r}: use a comma-separated subset of {', '.join(available)}")
    return wanted


def _asset_query(geom, buffer_m: float, condition=None) -> StoreQuery:
    """The features intersecting the compound, or within buffer_m metres of it (and passing a CQL2 filter)."""
    q = dict(predicate="intersects") if buffer_m == 0 else dict(predicate="dwithin", distance_m=buffer_m)
    return StoreQuery(geometry=geom, cql=condition, **q)


def _assets(store: FeatureStore, geom, layers: list[str], buffer_m: float) -> dict[str, Any]:
    """Each layer's features intersecting the compound, or within buffer_m metres of it."""
    return {layer: store.query(layer, _asset_query(geom, buffer_m)).features for layer in layers}


def _working(store: FeatureStore) -> list[Filter]:
    spec = store.catalog.get(HYDRANTS)
    return [Filter("status", "eq", ca.HYDRANT_COUNTED_STATUS)] if spec.has_field("status") else []


def _compound_ref(feat: dict[str, Any]) -> dict[str, Any]:
    return {"id": feat["id"], "name": feat["properties"].get("name"),
            "properties": {k: plain(v) for k, v in feat["properties"].items()},
            "geometry": orjson.Fragment(shapely.to_geojson(feat["geometry"]))}


# ------------------------------------------------------------------ search (before /compounds/{id}/...)

@router.get("/compounds/search", summary="Find compounds by name or id (map search box)", tags=["Compounds"],
            response_model=SearchBody, responses={400: ERRORS[400]})
def search(
    request: Request,
    q: str = Query(..., min_length=1, max_length=100,
                   description="part of a compound name (Chinese substring; Latin letters case-insensitive), "
                               "a source id (exactly), or digits matching the start of an id (an exact id "
                               "comes first)"),
    limit: int = Query(10, ge=1, le=100, description="most results returned"),
):
    text = q.strip()
    if not text:
        raise bad("q: must not be blank")
    store = _store(request)
    fields = [f for f in ("name", "district", "street", "source_id") if store.catalog.get(COMPOUNDS).has_field(f)]
    by_id = _id_prefix_matches(store, text, limit, fields)
    exact = by_id[:1] if by_id and len(by_id[0]) else []  # the first range is the id itself
    by_name = store.query(COMPOUNDS, StoreQuery(filters=[Filter("name", "like", text)], properties=fields)).features
    by_name = by_name.iloc[_name_rank(by_name["name"].tolist(), text)]
    by_source = store.query(COMPOUNDS, StoreQuery(filters=[Filter("source_id", "eq", text)],
                                                  properties=fields)).features  # the source's own id, exactly
    results: list[dict[str, Any]] = []
    seen: set[int] = set()
    for frame, how in [*((f, "id") for f in exact), (by_source, "source_id"), (by_name, "name"),
                       *((f, "id") for f in by_id)]:
        bounds = shapely.bounds(frame.geometry.values) if len(frame) else []
        for fid, row, box in zip(frame.index.tolist(), frame.to_dict("records"), bounds, strict=True):
            if len(results) >= limit or fid in seen:
                continue
            seen.add(fid)
            results.append({"id": int(fid), "name": plain(row.get("name")), "district": plain(row.get("district")),
                            "street": plain(row.get("street")), "source_id": plain(row.get("source_id")),
                            "bbox": [round(float(v), 7) for v in box],
                            "match": how})
    return json_response({"query": text, "numberReturned": len(results), "results": results})


def _name_rank(names: list[str | None], text: str) -> list[int]:
    """Positions ordered: exact name, then names starting with the text, then the rest; shorter first."""
    needle = text.lower()

    def key(i: int) -> tuple[int, int]:
        name = (names[i] or "").lower()
        return (0 if name == needle else 1 if name.startswith(needle) else 2, len(name))

    return sorted(range(len(names)), key=key)


def _id_prefix_matches(store: FeatureStore, text: str, limit: int, fields: list[str]) -> list[Any]:
    """Compounds whose id starts with the digits typed, as frames per id length: n, then n0-n9, n00-n99, ...

    Range filters on id, so a store answers them from its index rather than by formatting every id.
    """
    if not (text.isascii() and text.isdigit()) or text.startswith("0") or len(text) > 15:
        return []
    top = store.query(COMPOUNDS, StoreQuery(sort=[("id", False)], limit=1, properties=[])).features.index
    if not len(top):
        return []
    n, scale, max_id, parts, found = int(text), 1, int(top[0]), [], 0
    while n * scale <= max_id and found < limit:
        lo, hi = n * scale, (n + 1) * scale - 1
        part = store.query(COMPOUNDS, StoreQuery(filters=[Filter("id", "ge", lo), Filter("id", "le", hi)],
                                                 limit=limit - found, properties=fields)).features
        parts.append(part)
        found += len(part)
        scale *= 10
    return parts


# ------------------------------------------------------------------ assets

@router.get("/compounds/{compound_id}/assets", summary="Assets inside a compound (or within a buffer of it)",
            tags=["Compounds"], response_model=AssetsBody, responses=ERRORS)
def assets(
    request: Request,
    compound_id: int = CompoundId,
    buffer_m: float = Query(0.0, ge=0, le=MAX_BUFFER_M,
                            description="also take features within this many metres of the compound (0-2000)"),
    layers: str | None = Query(None, description="comma-separated asset layers to return; default: all layers "
                                                 "of the catalog except compounds"),
    filter_: str | None = Query(None, alias="filter", description="a CQL2 filter applied to each layer returned "
                                                                  "(its properties must exist in each: use with "
                                                                  "layers=...), e.g. status <> 'working'"),
    filter_lang: Literal["cql2-text", "cql2-json"] = Query("cql2-text", alias="filter-lang",
                                                          description="the language of filter"),
):
    store = _store(request)
    wanted = _asset_layers(store, layers)
    feat = store.get(COMPOUNDS, compound_id)
    conditions = {layer: cql.parse(filter_, store.catalog.get(layer), filter_lang) if filter_ else None
                  for layer in wanted}
    pages = {layer: store.geojson_page(layer, _asset_query(feat["geometry"], buffer_m, conditions[layer]))
             for layer in wanted}
    out = {layer: orjson.Fragment(page.collection({"numberReturned": page.number_returned}))
           for layer, page in pages.items()}
    body = {"compound": _compound_ref(feat), "buffer_m": buffer_m,
            "counts": {layer: page.number_returned for layer, page in pages.items()}, "layers": out,
            "links": [{"rel": "self", "type": JSON, "href": str(request.url)},
                      {"rel": "summary", "type": JSON,
                       "href": f"{base_url(request)}/compounds/{compound_id}/summary"}]}
    return json_response(body)


# ------------------------------------------------------------------ summary

@router.get("/compounds/{compound_id}/summary", summary="Counts, parking supply and hydrant coverage of a compound",
            tags=["Compounds"], response_model=SummaryBody, responses=ERRORS)
def summary(
    request: Request,
    compound_id: int = CompoundId,
    radius_m: float = Query(ca.HYDRANT_RADIUS_M, gt=0, le=1000,
                            description="hydrant protection radius in metres (default 150, GB 50974-2014)"),
    buffer_m: float = Query(0.0, ge=0, le=MAX_BUFFER_M,
                            description="count assets within this many metres of the compound too (0-2000)"),
):
    store = _store(request)
    feat = store.get(COMPOUNDS, compound_id)
    geom, props = feat["geometry"], feat["properties"]
    crs = metric_crs(geom.bounds, request.app.state.settings.metric_crs)
    found = _assets(store, geom, _asset_layers(store, None), buffer_m)
    counts = {layer: len(frame) for layer, frame in found.items()}
    by_status = {}
    for layer, frame in found.items():
        spec = store.catalog.get(layer)
        if spec.has_field("status"):
            by_status[layer] = ca.status_counts(frame["status"], spec.field("status").allowed)
    households = plain(props.get("households"))
    centroid = ca.centroid_lonlat(geom, crs)
    body = {
        "compound": {"id": feat["id"], "name": props.get("name"), "households": households,
                     "area_m2": round(ca.area_m2(geom, crs), 1),
                     "centroid": [round(centroid.x, 7), round(centroid.y, 7)]},
        "buffer_m": buffer_m,
        "counts": counts,
        "by_status": by_status,
        "per_100_households": ca.per_100_households(counts, households),
        "parking": _parking(store, geom, props, households),
        "hydrants": _hydrants(store, geom, centroid, crs, radius_m),
    }
    return json_response(body)


def _parking(store: FeatureStore, geom, props: dict[str, Any], households: int | None) -> dict[str, Any] | None:
    if PARKING not in store.catalog:
        return None
    lots = store.query(PARKING, StoreQuery(geometry=geom, predicate="intersects", properties=["kind", "capacity"]))
    s = ca.parking_supply(geom, plain(props.get("parking_spaces")), lots.features)
    return {"compound_spaces": s.compound_spaces, "facilities": s.facilities,
            "facilities_capacity": s.facilities_capacity, "supply": s.total,
            "per_household": round(s.total / households, 3) if households else None}


def _hydrants(store: FeatureStore, geom, centroid, crs, radius_m: float) -> dict[str, Any] | None:
    """Nearest working hydrant from the centroid; exact farthest point; coverage within radius_m."""
    if HYDRANTS not in store.catalog:
        return None
    working = _working(store)
    nearest = store.nearest(HYDRANTS, centroid, k=1, filters=working).features
    hydrants = []
    if len(nearest):
        # every hydrant that can be the nearest one to some part of the compound
        reach = ca.hydrant_reach_m(geom, nearest.geometry.iloc[0], crs) + 1.0
        hydrants = store.query(HYDRANTS, StoreQuery(geometry=geom, predicate="dwithin", distance_m=reach,
                                                    filters=working, properties=[])).features.geometry.values
    cov = ca.hydrant_coverage(geom, hydrants, crs, radius_m)
    return {
        "radius_m": radius_m,
        "status_counted": ca.HYDRANT_COUNTED_STATUS,
        "considered": cov.hydrants,
        "nearest": {"id": int(nearest.index[0]), "distance_m": round(float(nearest["distance_m"].iloc[0]), 2)}
        if len(nearest) else None,
        "farthest_point": {"lon": round(cov.farthest_lon, 7), "lat": round(cov.farthest_lat, 7),
                           "distance_m": round(cov.farthest_m, 2)} if cov.farthest_m is not None else None,
        "fully_covered": cov.fully_covered,
        "covered_share": round(cov.covered_share, 4),
    }


# ------------------------------------------------------------------ nearest

NEAREST_PARAMS = {"lon", "lat", "k", "max_m", "filter", "filter-lang"}


@router.get("/collections/{collection_id}/nearest", summary="The k features nearest to a point", tags=["Features"],
            response_model=NearestBody, response_class=GeoJSONResponse, responses=ERRORS)
def nearest(
    request: Request,
    spec: LayerSpec = Depends(layer_spec),
    lon: float = Query(..., ge=-180, le=180, description="longitude of the point (WGS84)"),
    lat: float = Query(..., ge=-90, le=90, description="latitude of the point (WGS84)"),
    k: int = Query(1, ge=1, le=MAX_K, description="how many features (1-100)"),
    max_m: float | None = Query(None, ge=0, le=MAX_NEAREST_M,
                                description="search no farther than this many metres (default and maximum 50,000)"),
    filter_: str | None = Query(None, alias="filter", description="a CQL2 filter the features must pass, "
                                                                  "e.g. status = 'working' AND flow_lps >= 10"),
    filter_lang: Literal["cql2-text", "cql2-json"] = Query("cql2-text", alias="filter-lang",
                                                          description="the language of filter"),
):
    """Nearest first, each with ``distance_m``; other parameters named after a property filter by equality
    (e.g. ``status=working``)."""
    collection_id = spec.id
    unknown = [p for p in request.query_params if p not in NEAREST_PARAMS and not spec.has_field(p)]
    if unknown:
        raise bad(f"unknown query parameter(s) {', '.join(map(repr, unknown))}; besides lon, lat, k and max_m "
                   f"use properties of {spec.id} as filters: {', '.join(spec.field_names)}")
    # The same coercion and allowed-value checks as /items (any field may filter here).
    filters = attribute_filters(request, spec, spec.fields)
    condition = cql.parse(filter_, spec, filter_lang) if filter_ else None
    found = _store(request).nearest(collection_id, (lon, lat), k=k, max_m=max_m, filters=filters,
                                    cql=condition).features
    found["distance_m"] = found["distance_m"].round(2)
    body = collection_bytes(encode_features(found), {
        "numberReturned": len(found),
        "query": {"lon": lon, "lat": lat, "k": k, "max_m": max_m},
        "links": [{"rel": "self", "type": GEOJSON, "href": str(request.url)},
                  {"rel": "collection", "type": JSON, "href": f"{base_url(request)}/collections/{collection_id}"}],
    })
    return GeoJSONResponse(body)
