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
