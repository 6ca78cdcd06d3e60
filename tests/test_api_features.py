"""The read API beyond the letter of the OGC requirements (see test_conformance.py for those):
caching (ETag, Last-Modified, 304), gzip, CORS, content negotiation, HTML escaping, errors as
JSON, sorting/projection/filters, odd bboxes, access control, and an API definition that
follows the settings."""

from __future__ import annotations

import email.utils

import numpy as np
import orjson
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape

from geo_service.api import openapi
from geo_service.api.app import create_app
from geo_service.api.responses import OPENAPI
from geo_service.settings import Settings
from geo_service.store.base import Query, feature_etag
from geo_service.store.geojson import encode_features

ITEMS = "/collections/fire_hydrants/items"


def make_settings(backend, **kw) -> Settings:
    base = {"max_limit": 1000, "default_limit": 100, "cors_origins": [], "api_keys": [],
            "read_requires_key": False, "metric_crs": None}
    return backend.settings(**{**base, **kw})


@pytest.fixture
def store(backend):
    return backend.open_store()


@pytest.fixture
def client(store, backend):
    with TestClient(create_app(make_settings(backend), store)) as c:
        yield c


@pytest.fixture(scope="module")
def shared(shared_backend):
    """A read-only client for the tests that write nothing (on each store kind)."""
    s = shared_backend.open_store()
    with TestClient(create_app(make_settings(shared_backend), s)) as c:
        c.store = s
        yield c


# ------------------------------------------------------------------ caching

def test_items_etag_revalidates_until_the_layer_changes(client, store):
    first = client.get(ITEMS, params={"limit": 5})
    etag = first.headers["etag"]
    again = client.get(ITEMS, params={"limit": 5}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""
    other_page = client.get(ITEMS, params={"limit": 6}, headers={"If-None-Match": etag})
    assert other_page.status_code == 200 and other_page.headers["etag"] != etag
    fid = first.json()["features"][0]["id"]
    store.update("fire_hydrants", fid, {"status": "faulty"}, actor="test")
    changed = client.get(ITEMS, params={"limit": 5}, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["features"][0]["properties"]["status"] == "faulty"  # the byte cache follows the change


def test_item_etag_is_the_feature_etag_edits_compare_with(client, store):
    r = client.get(f"{ITEMS}/3")
    stored = store.get("fire_hydrants", 3)
    assert r.headers["etag"] == feature_etag(stored["properties"], stored["geometry"])
    assert client.get(f"{ITEMS}/3", headers={"If-None-Match": "W/" + r.headers["etag"]}).status_code == 304
    html = client.get(f"{ITEMS}/3?f=html")
    projected = client.get(f"{ITEMS}/3?crs=EPSG:3857")
    assert len({r.headers["etag"], html.headers["etag"], projected.headers["etag"]}) == 3


def test_if_modified_since(shared):
    r = shared.get(ITEMS, params={"limit": 2})
    last = r.headers["last-modified"]
    assert email.utils.parsedate_to_datetime(last).tzinfo is not None
    assert shared.get(ITEMS, params={"limit": 2}, headers={"If-Modified-Since": last}).status_code == 304
    earlier = email.utils.format_datetime(email.utils.parsedate_to_datetime(last).replace(year=2000), usegmt=True)
    assert shared.get(ITEMS, params={"limit": 2}, headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match wins: a stale tag means a full answer even with a current date.
    assert shared.get(ITEMS, params={"limit": 2},
                      headers={"If-None-Match": '"stale"', "If-Modified-Since": last}).status_code == 200


@pytest.mark.parametrize("url", ["/", "/conformance", "/collections", "/collections/compounds",
                                 "/collections/compounds/schema", "/collections/compounds/queryables"])
def test_metadata_resources_revalidate(shared, url):
    r = shared.get(url)
    assert shared.get(url, headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    as_html = shared.get(url, params={"f": "html"}, headers={"If-None-Match": r.headers["etag"]})
    assert as_html.status_code == 200  # another representation, another tag


# ------------------------------------------------------------------ transport

def test_large_bodies_are_gzipped(shared):
    big = shared.get(ITEMS, params={"limit": 500}, headers={"Accept-Encoding": "gzip"})
    assert big.headers["content-encoding"] == "gzip" and big.json()["numberReturned"] == 500
    small = shared.get("/ready", headers={"Accept-Encoding": "gzip"})
    assert len(small.content) < 1024 and "content-encoding" not in small.headers


def test_cors_follows_the_settings(backend, store):
    origin = "https://map.example.org"
    with TestClient(create_app(make_settings(backend, cors_origins=[origin]), store)) as c:
        r = c.get(ITEMS, params={"limit": 1}, headers={"Origin": origin})
        assert r.headers["access-control-allow-origin"] == origin
        exposed = r.headers["access-control-expose-headers"].lower()
        assert "etag" in exposed and "content-crs" in exposed
        assert "access-control-allow-origin" not in c.get("/", headers={"Origin": "https://evil.example"}).headers
    with TestClient(create_app(make_settings(backend), store)) as c:
        assert "access-control-allow-origin" not in c.get("/", headers={"Origin": origin}).headers


@pytest.mark.parametrize(("accept", "html"), [
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),  # a browser
    ("application/geo+json, application/json", False),  # GDAL
    ("*/*", False), ("", False),
    ("text/html;q=0.5, application/json", False),
    ("application/json;q=0.2, text/html", True),
])
def test_content_negotiation(shared, accept, html):
    r = shared.get(f"{ITEMS}/1", headers={"Accept": accept})
    assert r.headers["content-type"].startswith("text/html" if html else "application/geo+json")


# ------------------------------------------------------------------ HTML and errors

def test_html_escapes_data_values(client, store):
    name = '<script>alert("x")</script> & <b>Co</b>'
    fid = store.create("compounds", {"name": name, "households": 10, "district": "<i>d</i>"},
                       shapely.box(121.40, 31.11, 121.401, 31.111), actor="test")
    pages = [client.get(f"/collections/compounds/items/{fid}?f=html").text,
             client.get("/collections/compounds/items", params={"f": "html", "name": name}).text]
    for page in pages:
        assert "<script>" not in page and "<b>Co</b>" not in page and "<i>d</i>" not in page
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;Co&lt;/b&gt;" in page
    unknown = client.get("/collections/compounds/items?f=html&%3Cscript%3E=1")
    assert unknown.status_code == 400 and unknown.headers["content-type"].startswith("application/json")


def test_errors_are_json_never_stack_traces(backend, store, monkeypatch):
    def broken(*a, **kw):
        raise RuntimeError("secret detail of the database")

    with TestClient(create_app(make_settings(backend), store), raise_server_exceptions=False) as c:
        monkeypatch.setattr(store, "query", broken)
        monkeypatch.setattr(store, "geojson_page", broken)
        r = c.get(ITEMS)
        assert r.status_code == 500 and r.headers["content-type"].startswith("application/json")
        assert r.json()["code"] == "ServerError"
        assert "secret" not in r.text and "Traceback" not in r.text
        for url in ("/collections/nope/items", f"{ITEMS}/0", f"{ITEMS}?limit=x"):
            r = c.get(url)
            assert 400 <= r.status_code < 500 and set(r.json()) == {"code", "description"}


# ------------------------------------------------------------------ selection

def test_sortby_and_properties(shared):
    frame = shared.store.frame("compounds").reset_index()
    doc = shared.get("/collections/compounds/items", params={
        "sortby": "-households,+id", "properties": "name,households", "limit": 1000}).json()
    expected = frame.sort_values(["households", "id"], ascending=[False, True])["id"].tolist()
    assert [f["id"] for f in doc["features"]] == expected
    assert all(set(f["properties"]) == {"name", "households"} for f in doc["features"])
    projected = shared.get("/collections/compounds/items", params={
        "properties": "name", "crs": "EPSG:3857", "limit": 3}).json()
    assert all(set(f["properties"]) == {"name"} for f in projected["features"])
    assert projected["features"][0]["geometry"]["coordinates"][0][0][0] > 1e7  # metres, not degrees


def test_repeated_filter_means_any_of(shared):
    frame = shared.store.frame("fire_hydrants")
    doc = shared.get(ITEMS, params={"status": ["faulty", "under_repair"], "kind": "underground",
                                    "limit": 1000}).json()
    mask = frame["status"].isin(["faulty", "under_repair"]) & (frame["kind"] == "underground")
    assert sorted(f["id"] for f in doc["features"]) == sorted(frame.index[mask].tolist())
    aliased = shared.get(ITEMS, params={"status": "broken", "limit": 1}).json()  # a catalog alias of faulty
    assert aliased["numberMatched"] == int((frame["status"] == "faulty").sum())


def test_offset_past_the_end(shared):
    total = shared.store.count("fire_hydrants")
    doc = shared.get(ITEMS, params={"offset": total + 50, "limit": 100}).json()
    assert doc["features"] == [] and doc["numberMatched"] == total
    prev = next(link for link in doc["links"] if link["rel"] == "prev")
    back = shared.get(prev["href"].removeprefix("http://testserver")).json()
    assert back["numberReturned"] == 100 and back["features"][-1]["id"] == shared.store.frame(
        "fire_hydrants").index.max()


def test_bbox_across_the_antimeridian(shared):
    """minx > maxx wraps around the antimeridian: everything but the strip between maxx and minx."""
    frame = shared.store.frame("fire_hydrants")
    x, y = frame.geometry.x.values, frame.geometry.y.values
    cut_lo, cut_hi = np.quantile(x, [0.4, 0.6])
    lat0, lat1 = np.quantile(y, [0.35, 0.65])
    doc = shared.get(ITEMS, params={"bbox": f"{cut_hi},{lat0},{cut_lo},{lat1}", "limit": 1000}).json()
    mask = ((x >= cut_hi) | (x <= cut_lo)) & (y >= lat0) & (y <= lat1)
    assert doc["numberMatched"] == int(mask.sum()) > 0
    assert sorted(f["id"] for f in doc["features"]) == sorted(frame.index[mask].tolist())


def test_point_bbox_in_a_projected_crs(shared):
    import pyproj

    frame = shared.store.frame("fire_hydrants")
    fid = int(frame.index[10])
    x, y = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:3857").transform(frame.geometry[fid].x,
                                                                           frame.geometry[fid].y)
    doc = shared.get(ITEMS, params={"bbox": f"{x},{y},{x},{y}", "bbox-crs": "EPSG:3857"}).json()
    assert fid in [f["id"] for f in doc["features"]]


def test_schema_types_the_fields(shared):
    doc = shared.get("/collections/compounds/schema").json()
    spec = shared.store.catalog.get("compounds")
    assert doc["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"
    for fs in spec.fields:
        p = doc["properties"][fs.name]
        assert p["type"] == {"date": "string", "datetime": "string"}.get(fs.type, fs.type)
        assert p.get("enum") == fs.allowed
    assert doc["required"] == [fs.name for fs in spec.fields if fs.required]


def test_default_page_is_served_from_the_byte_cache(shared):
    """The page is the encoder's bytes spliced in: the byte cache's, or PostGIS's own (which must agree)."""
    a = shared.get(ITEMS, params={"limit": 50})
    b = shared.get(ITEMS, params={"limit": 50, "offset": 0})
    fa, fb = a.json()["features"], b.json()["features"]
    assert fa == fb
    frame = shared.store.frame("fire_hydrants")
    for feat in fa:
        assert shape(feat["geometry"]).equals(frame.geometry[feat["id"]])
    # every store encodes pages itself (the embedded one from its byte cache, PostGIS in SQL): the same features
    cached = encode_features(shared.store.query("fire_hydrants", Query(limit=50)).features)
    served, _ = shared.store.geojson_page("fire_hydrants", Query(limit=50))
    assert [orjson.loads(f) for f in served] == [orjson.loads(f) for f in cached]
    assert b'"features":[' + b",".join(served) + b"]" in a.content


# ------------------------------------------------------------------ access and the API definition

def test_reads_need_a_key_when_the_settings_say_so(backend, store):
    from geo_service.api.auth import api_key_entry

    key, entry = api_key_entry("planner", "viewer")
    settings = make_settings(backend, api_keys=[entry], read_requires_key=True)
    with TestClient(create_app(settings, store)) as c:
        for url in ("/collections", ITEMS, f"{ITEMS}/1", "/collections/compounds/queryables"):
            assert c.get(url).status_code == 401
            assert c.get(url, headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert c.get("/api").status_code == 200  # the definition says how to authenticate, so it is open
        op = c.get("/api").json()["paths"]["/collections/fire_hydrants/items"]["get"]
        assert "401" in op["responses"] and op["security"]


def test_api_definition_follows_the_settings(backend, store):
    for max_limit, default_limit in ((50, 7), (2000, 250)):
        settings = make_settings(backend, max_limit=max_limit, default_limit=default_limit, metric_crs="EPSG:32650")
        with TestClient(create_app(settings, store)) as c:
            api = c.get("/api").json()
            assert api["components"]["parameters"]["limit"]["schema"]["maximum"] == max_limit
            assert api["components"]["parameters"]["limit"]["schema"]["default"] == default_limit
            assert "http://www.opengis.net/def/crs/EPSG/0/32650" in api["components"]["parameters"]["crs"]["schema"][
                "enum"]
            doc = c.get(ITEMS, params={"limit": max_limit + 1}).json()
            assert doc["numberReturned"] == max_limit


def test_install_without_startup(backend, store):
    """create_app installs the definition itself; then /api is right without the lifespan running."""
    app = create_app(make_settings(backend), store)
    openapi.install(app)
    openapi.install(app)  # idempotent
    r = TestClient(app).get("/api")
    assert r.headers["content-type"] == OPENAPI and r.json()["openapi"].startswith("3.0")


def test_queryables_feed_the_filters_gdal_sends(shared):
    """GDAL turns a where clause on a queryable into a query parameter; the definition declares them."""
    params = shared.get("/api").json()["paths"]["/collections/fire_hydrants/items"]["get"]["parameters"]
    declared = {p["name"] for p in params if "name" in p}
    queryables = set(shared.get("/collections/fire_hydrants/queryables").json()["properties"])
    assert queryables <= declared
    shapes = shared.get(ITEMS, params={"limit": 1}).json()["features"]
    assert isinstance(shape(shapes[0]["geometry"]), Point)
