"""Small answers fuzzing found wrong (issue 13), each pinned here."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from geo_service.api.app import create_app
from geo_service.settings import Settings


@pytest.fixture(scope="module")
def client(demo_gpkg, tmp_path_factory):
    path = tmp_path_factory.mktemp("nits") / "demo.gpkg"
    path.write_bytes(demo_gpkg.read_bytes())
    with TestClient(create_app(Settings(gpkg=path, static_maps_dir=path.parent / "maps"))) as c:
        yield c


@pytest.mark.parametrize("method, url", [("TRACE", "/collections"), ("PUT", "/conformance"),
                                         ("TRACE", "/collections/fire_hydrants/items/1")])
def test_405_says_what_is_allowed(client, method, url):
    r = client.request(method, url)
    assert r.status_code == 405 and "GET" in r.headers["allow"] and r.json()["code"] == "MethodNotAllowed"


def test_nearest_checks_filter_values_like_items(client):
    for url in ("/collections/fire_hydrants/items?status=nope",
                "/collections/fire_hydrants/nearest?lon=121.4&lat=31.12&status=nope"):
        r = client.get(url)
        assert r.status_code == 400 and "not one of" in r.json()["description"], url
    ok = client.get("/collections/fire_hydrants/nearest?lon=121.4&lat=31.12&status=working&k=3").json()
    assert ok["numberReturned"] == 3 and {f["properties"]["status"] for f in ok["features"]} == {"working"}


def test_documented_400s(client):
    """Values the schema allows but the service cannot use are 400s the definition declares."""
    spec = client.get("/api").json()["paths"]
    for path, url in (("/compounds/search", "/compounds/search?q=%09"),
                      ("/compounds/{compound_id}/assets", "/compounds/38/assets?layers="),
                      ("/analysis/parking-gaps", "/analysis/parking-gaps?small_flat_m2=200&large_flat_m2=50")):
        assert client.get(url).status_code == 400, url
        assert "400" in spec[path]["get"]["responses"], path
