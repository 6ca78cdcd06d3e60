"""GET /compounds/{id}/isochrones and /analysis/life-circle on the demo, on each store kind."""

from __future__ import annotations

import io

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from geo_service.analysis.frames import choose_crs
from geo_service.analysis.life_circle import isochrones, road_network
from geo_service.analysis.registry import REGISTRY
from geo_service.api.app import create_app


@pytest.fixture(scope="module")
def frames(shared_backend):
    store = shared_backend.open_store()
    return {layer: store.frame(layer) for layer in ("compounds", "roads", "service_facilities")}


@pytest.fixture(scope="module")
def client(shared_backend):
    with TestClient(create_app(shared_backend.settings())) as c:
        yield c


def test_isochrones_are_the_function_areas_and_nested(client, frames):
    cid = int(frames["compounds"].index[len(frames["compounds"]) // 2])
    r = client.get(f"/compounds/{cid}/isochrones", params={"minutes": "5,10,15"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    got = gpd.GeoDataFrame.from_features(r.json()["features"], crs="EPSG:4326")
    assert got["minutes"].tolist() == [5, 10, 15] and got["walk_m"].tolist() == [300, 500, 1000]
    assert not got["estimated"].any()
    one = frames["compounds"].loc[[cid]]
    crs = choose_crs([one])
    want = isochrones(one, road_network(frames["roads"], crs), crs, [5, 10, 15],
                      **REGISTRY["life-circle"].resolve())
    metric = got.to_crs(crs).geometry.values
    for g, w in zip(metric, want.to_crs(crs).geometry.values, strict=True):
        assert shapely.symmetric_difference(g, w).area < 1e-3 * w.area
    assert metric[0].area < metric[1].area < metric[2].area
    assert shapely.buffer(metric[1], 0.5).contains(metric[0]) and shapely.buffer(metric[2], 0.5).contains(metric[1])


def test_isochrones_reject_bad_minutes_and_unknown_compounds(client):
    assert client.get("/compounds/1/isochrones", params={"minutes": "5,x"}).status_code == 400
    assert client.get("/compounds/1/isochrones", params={"minutes": "0"}).status_code == 400
    assert client.get("/compounds/99999999/isochrones").status_code == 404


def test_life_circle_csv_matches_the_function(client, frames):
    want = REGISTRY["life-circle"].run(frames)
    r = client.get("/analysis/life-circle", params={"f": "csv", "part": "streets"})
    assert r.status_code == 200, r.text
    got = pd.read_csv(io.StringIO(r.text))
    streets = want["streets"]
    assert got["households_complete_15"].tolist() == streets["households_complete_15"].tolist()
    assert got["share_complete_5"].tolist() == pytest.approx(streets["share_complete_5"].tolist())
    body = client.get("/analysis/life-circle").json()
    assert body["summary"]["compounds_complete_15"] == want.summary["compounds_complete_15"]
    assert body["summary"]["estimated_walks"] == want.summary["estimated_walks"]


def test_nearest_facilities_are_the_life_circle_walks_with_routes(client, frames):
    cid = int(frames["compounds"].index[len(frames["compounds"]) // 3])
    r = client.get(f"/compounds/{cid}/nearest-facilities")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["compound"] == cid
    params = REGISTRY["life-circle"].resolve()
    required = [c for key in ("required_5", "required_10", "required_15") for c in params[key].split(",")]
    props = [f["properties"] for f in body["features"]]
    assert [p["category"] for p in props] == required
    # the same walks the life-circle analysis finds for this compound, computed independently of the API
    walks = REGISTRY["life-circle"].run(frames)["walks"]
    want = walks[walks.compound_id == cid].set_index("category")
    crs = choose_crs([frames["compounds"].loc[[cid]]])
    facilities = frames["service_facilities"]
    routed = 0
    for feature, p in zip(body["features"], props, strict=True):
        row = want.loc[p["category"]]
        assert p["category_zh"] and p["category_en"] and p["circle"] == row.circle_min
        if pd.isna(row.walk_m):
            assert feature["geometry"] is None and p["distance_m"] is None
            continue
        assert p["distance_m"] == pytest.approx(row.walk_m, abs=0.2) and p["estimated"] == row.estimated
        assert p["within_circle"] == row.within and p["minutes"] == pytest.approx(row.walk_min, abs=0.1)
        fac = facilities.loc[p["facility_id"]]
        assert fac.category == p["category"] and fac.status == "working"
        route = gpd.GeoSeries([shapely.geometry.shape(feature["geometry"])], crs="EPSG:4326").to_crs(crs).iloc[0]
        end = gpd.GeoSeries([fac.geometry], crs="EPSG:4326").to_crs(crs).iloc[0]
        assert shapely.distance(shapely.get_point(route, -1), end) < 0.05
        if not p["estimated"]:
            assert route.length == pytest.approx(p["distance_m"], abs=0.5)
            routed += 1
    assert routed >= 5


def test_nearest_facilities_restrict_categories_and_reject_bad_ones(client, frames):
    cid = int(frames["compounds"].index[0])
    r = client.get(f"/compounds/{cid}/nearest-facilities", params={"categories": "park,kindergarten"})
    assert r.status_code == 200, r.text
    assert [f["properties"]["category"] for f in r.json()["features"]] == ["kindergarten", "park"]
    bad = client.get(f"/compounds/{cid}/nearest-facilities", params={"categories": "park,casino"})
    assert bad.status_code == 400 and "casino" in bad.json()["description"]
    assert client.get(f"/compounds/{cid}/nearest-facilities", params={"categories": ","}).status_code == 400
    assert client.get("/compounds/99999999/nearest-facilities").status_code == 404
