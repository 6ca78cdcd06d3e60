"""Security headers on every response, request ids on 5xx (issue 13).

Before: no X-Content-Type-Options, Content-Security-Policy, X-Frame-Options or Referrer-Policy on any
response, /api.html loaded Swagger UI from a public CDN, and a 500 said only "see the server log".
"""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from geo_service.api.app import create_app
from geo_service.api.middleware import script_hashes
from geo_service.settings import Settings


@pytest.fixture(scope="module")
def client(demo_gpkg, tmp_path_factory):
    path = tmp_path_factory.mktemp("sec") / "demo.gpkg"
    path.write_bytes(demo_gpkg.read_bytes())
    with TestClient(create_app(Settings(gpkg=path, map_basemaps=["osm", "amap", "none"]))) as c:
        yield c


URLS = ["/", "/?f=html", "/conformance", "/collections", "/collections/fire_hydrants/items?limit=2",
        "/collections/fire_hydrants/items?f=html&limit=2", "/collections/fire_hydrants/items/1",
        "/api", "/api.html", "/collections/nope", "/collections/fire_hydrants/items?bbox=x", "/analysis",
        "/map", "/static/vendor/leaflet/leaflet.js", "/health"]


@pytest.mark.parametrize("url", URLS)
def test_every_response_carries_the_headers(client, url):
    r = client.get(url)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert re.fullmatch(r"[0-9a-f]{16}", r.headers["x-request-id"])
    assert "strict-transport-security" not in r.headers  # only when configured for TLS


def test_a_304_carries_them_too(client):
    r = client.get("/collections")
    again = client.get("/collections", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("url", ["/?f=html", "/api.html", "/map", "/collections/fire_hydrants/items?f=html"])
def test_html_csp_allows_exactly_its_inline_scripts(client, url):
    r = client.get(url)
    assert r.headers["content-type"].startswith("text/html")
    csp = dict(part.strip().split(" ", 1) for part in r.headers["content-security-policy"].split(";"))
    allowed = set(csp["script-src"].split())
    evaluates = {"'unsafe-eval'"} if url == "/map" else set()  # leaflet-measure's templates, map pages only
    assert allowed == {"'self'", *script_hashes(r.content), *evaluates}
    assert "'unsafe-inline'" not in csp["script-src"]
    # Images: our own origin and the configured basemap hosts, nothing else.
    assert set(csp["img-src"].split()) == {"'self'", "data:", "blob:", "https://tile.openstreetmap.org",
                                           "https://*.is.autonavi.com"}
    assert csp["connect-src"] == "'self'" and csp["default-src"] == "'self'"


def test_json_gets_the_strictest_policy(client):
    assert client.get("/collections").headers["content-security-policy"].startswith("default-src 'none'")


def test_api_docs_are_served_from_local_assets(client):
    page = client.get("/api.html").text
    assert "cdn" not in page.lower() and "http" not in page  # nothing from another origin
    for asset in re.findall(r'(?:href|src)="([^"]+)"', page):
        assert client.get("/" + asset).status_code == 200, asset


def test_hsts_when_configured(demo_gpkg, tmp_path):
    path = tmp_path / "demo.gpkg"
    path.write_bytes(demo_gpkg.read_bytes())
    with TestClient(create_app(Settings(gpkg=path, hsts_seconds=31536000))) as c:
        assert c.get("/").headers["strict-transport-security"] == "max-age=31536000"


def test_a_5xx_names_its_request_id_in_body_and_log(demo_gpkg, tmp_path, caplog, monkeypatch):
    path = tmp_path / "demo.gpkg"
    path.write_bytes(demo_gpkg.read_bytes())
    app = create_app(Settings(gpkg=path))

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(app.state.store, "geojson_page", broken)
    with TestClient(app, raise_server_exceptions=False) as c, caplog.at_level(logging.ERROR, "geo_service.api"):
        r = c.get("/collections/fire_hydrants/items", headers={"X-Request-Id": "trace-42"})
    assert r.status_code == 500 and r.json()["requestId"] == "trace-42" == r.headers["x-request-id"]
    assert "trace-42" in r.json()["description"] and "disk on fire" not in r.text
    logged = [rec for rec in caplog.records if "trace-42" in rec.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback is in the log, under the same id
