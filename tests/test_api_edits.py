"""OGC API - Features Part 4 on the real app: create/replace/update/delete, roles, If-Match, audit.

Every test works on a private copy of the demo dataset, once per store kind (GeoPackage, PostGIS),
and checks the store (and the read API) afterwards, not only the status code of the write.
"""

from __future__ import annotations

import hashlib
import json

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from geo_service.api.app import create_app
from geo_service.settings import ApiKey
from geo_service.store.base import Query, feature_etag
from tests.servers import running_server

KEYS = {  # name -> (role, key)
    "vera": ("viewer", "viewer-key-0123456789"),
    "erin": ("editor", "editor-key-erin-456789"),
    "eli": ("editor", "editor-key-eli-0456789"),
    "ada": ("admin", "admin-key-0123456789ab"),
}
HYDRANTS = "fire_hydrants"
ITEMS = f"/collections/{HYDRANTS}/items"
SPOT = [121.3995, 31.1205]  # inside the demo district


def key_entries() -> list[ApiKey]:
    return [ApiKey(name=n, role=r, sha256=hashlib.sha256(k.encode()).hexdigest()) for n, (r, k) in KEYS.items()]


def as_(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name][1]}"}


def hydrant(status="working", coords=SPOT, **props) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": coords},
            "properties": {"status": status, **props}}


@pytest.fixture
def make_client(backend):
    clients = []

    def make(**settings) -> TestClient:
        app = create_app(backend.settings(api_keys=key_entries(), **settings))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


def store(client: TestClient):
    return client.app.state.store


def some_hydrant(client: TestClient) -> int:
    return int(store(client).query(HYDRANTS, Query(limit=1, offset=10)).features.index[0])


def in_bbox(client: TestClient, fid: int, lon: float, lat: float) -> bool:
    bbox = f"{lon - 1e-4},{lat - 1e-4},{lon + 1e-4},{lat + 1e-4}"
    r = client.get(ITEMS, params={"bbox": bbox, "limit": 1000})
    assert r.status_code == 200
    return fid in [f["id"] for f in r.json()["features"]]


# ------------------------------------------------------------------ success paths

def test_post_creates_a_feature(client):
    before = store(client).count(HYDRANTS)
    r = client.post(ITEMS, json=hydrant("ok", kind="pillar", last_inspected="2025-05-01", flow_lps=12.5),
                    headers=as_("erin"))
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    assert r.headers["Location"] == f"http://testserver{ITEMS}/{fid}"
    assert r.headers["Content-Type"] == "application/geo+json"
    # stored with the import rules' normalisation (aliases resolved)
    feat = store(client).get(HYDRANTS, fid)
    assert feat["properties"] == {"kind": "above_ground", "status": "working", "last_inspected": "2025-05-01",
                                  "flow_lps": 12.5, "source_id": None}
    assert list(feat["geometry"].coords) == [tuple(SPOT)]
    assert r.json()["properties"] == feat["properties"]
    assert store(client).count(HYDRANTS) == before + 1
    # the ETag is the one a GET of the new item sends, and the read API sees the feature
    got = client.get(r.headers["Location"])
    assert got.status_code == 200 and got.headers["ETag"] == r.headers["ETag"]
    assert in_bbox(client, fid, *SPOT)


def test_post_takes_geo_json_media_type_x_api_key_and_ignores_a_body_id(client):
    body = {**hydrant(), "id": 5}
    r = client.post(ITEMS, content=json.dumps(body), headers={"X-API-Key": KEYS["ada"][1],
                                                             "Content-Type": "application/geo+json"})
    assert r.status_code == 201, r.text
    assert r.json()["id"] != 5  # ids are assigned by the server; feature 5 is untouched
    assert store(client).get(HYDRANTS, 5)["properties"] == client.get(f"{ITEMS}/5").json()["properties"]
    assert store(client).history(HYDRANTS, r.json()["id"])[0]["actor"] == "ada"


def test_put_replaces_the_whole_feature(client):
    fid = some_hydrant(client)
    old = store(client).get(HYDRANTS, fid)
    assert old["properties"]["kind"] is not None
    moved = [round(old["geometry"].x + 0.001, 7), round(old["geometry"].y + 0.001, 7)]
    r = client.put(f"{ITEMS}/{fid}", json={**hydrant("faulty", moved), "id": fid}, headers=as_("erin"))
    assert r.status_code == 200, r.text
    feat = store(client).get(HYDRANTS, fid)
    assert feat["properties"] == {"kind": None, "status": "faulty", "last_inspected": None, "flow_lps": None,
                                  "source_id": None}
    assert list(feat["geometry"].coords) == [tuple(moved)]
    assert r.headers["ETag"] == feature_etag(feat["properties"], feat["geometry"])
    assert in_bbox(client, fid, *moved)
    assert not in_bbox(client, fid, old["geometry"].x, old["geometry"].y)


def test_patch_changes_only_what_it_names(client):
    fid = some_hydrant(client)
    old = store(client).get(HYDRANTS, fid)
    new_status = "faulty" if old["properties"]["status"] != "faulty" else "working"
    r = client.patch(f"{ITEMS}/{fid}", content=orjson.dumps({"properties": {"status": new_status, "flow_lps": None}}),
                     headers={**as_("erin"), "Content-Type": "application/merge-patch+json"})
    assert r.status_code == 200, r.text
    feat = store(client).get(HYDRANTS, fid)
    assert feat["properties"] == {**old["properties"], "status": new_status, "flow_lps": None}
    assert feat["geometry"].equals(old["geometry"])
    # geometry alone, as application/json
    r = client.patch(f"{ITEMS}/{fid}", json={"geometry": {"type": "Point", "coordinates": SPOT}}, headers=as_("ada"))
    assert r.status_code == 200, r.text
    feat = store(client).get(HYDRANTS, fid)
    assert list(feat["geometry"].coords) == [tuple(SPOT)] and feat["properties"]["status"] == new_status
    assert in_bbox(client, fid, *SPOT)
    assert client.get(f"{ITEMS}/{fid}").headers["ETag"] == r.headers["ETag"]


def test_delete_then_404_and_history_remains(client):
    fid = client.post(ITEMS, json=hydrant(kind="wall"), headers=as_("erin")).json()["id"]
    etag = client.patch(f"{ITEMS}/{fid}", json={"properties": {"status": "under_repair"}},
                        headers=as_("eli")).headers["ETag"]
    r = client.delete(f"{ITEMS}/{fid}", headers={**as_("ada"), "If-Match": etag})
    assert r.status_code == 204 and r.content == b""
    assert client.get(f"{ITEMS}/{fid}").status_code == 404
    assert not in_bbox(client, fid, *SPOT)
    assert client.delete(f"{ITEMS}/{fid}", headers=as_("ada")).status_code == 404
    r = client.get(f"{ITEMS}/{fid}/history", headers=as_("erin"))
    assert r.status_code == 200, r.text
    records = r.json()["records"]
    assert [(x["action"], x["actor"]) for x in records] == [("create", "erin"), ("update", "eli"), ("delete", "ada")]
    create, update, delete = records
    assert create["before"] is None and create["after"]["properties"]["kind"] == "wall"
    assert create["after"]["geometry"] == {"type": "Point", "coordinates": SPOT}
    assert update["before"]["properties"]["status"] == "working"
    assert update["after"]["properties"] == {**update["before"]["properties"], "status": "under_repair"}
    assert delete["before"] == update["after"] and delete["after"] is None
    assert all(x["at"].endswith("Z") for x in records) and records == sorted(records, key=lambda x: x["at"])


def test_history_of_unknown_and_untouched_features(client):
    assert client.get(f"{ITEMS}/999999/history", headers=as_("ada")).status_code == 404
    r = client.get(f"{ITEMS}/{some_hydrant(client)}/history", headers=as_("ada"))  # imported, never edited
    assert r.status_code == 200 and r.json()["records"] == []


# ------------------------------------------------------------------ validation

def test_invalid_values_are_422_naming_each_field(client):
    before = store(client).count(HYDRANTS)
    r = client.post(ITEMS, json=hydrant("exploded", flow_lps=500, last_inspected="someday"), headers=as_("erin"))
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "InvalidFeature"
    assert {e["field"] for e in body["errors"]} == {"status", "flow_lps", "last_inspected"}
    assert all(e["reason"] for e in body["errors"])
    r = client.post(ITEMS, json=hydrant(colour="red"), headers=as_("erin"))
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["colour"]
    r = client.post(ITEMS, json={"type": "Feature", "geometry": {"type": "Point", "coordinates": SPOT},
                                 "properties": {"kind": "wall"}}, headers=as_("erin"))
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["status"]
    square = {"type": "Polygon", "coordinates": [[[121.39, 31.12], [121.40, 31.12], [121.40, 31.13], [121.39, 31.12]]]}
    r = client.post(ITEMS, json={**hydrant(), "geometry": square}, headers=as_("erin"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "geometry"
    assert "Polygon" in r.json()["errors"][0]["reason"]
    nowhere = {"type": "Point", "coordinates": "here"}
    r = client.post(ITEMS, json={**hydrant(), "geometry": nowhere}, headers=as_("erin"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "geometry"
    r = client.post(ITEMS, json={"type": "Feature", "properties": {"status": "working"}}, headers=as_("erin"))
    assert r.status_code == 422 and r.json()["errors"] == [{"field": "geometry", "reason": "is required"}]
    assert store(client).count(HYDRANTS) == before


def test_patch_cannot_empty_a_required_field_or_the_geometry(client):
    fid = some_hydrant(client)
    old = store(client).get(HYDRANTS, fid)
    r = client.patch(f"{ITEMS}/{fid}", json={"properties": {"status": None}}, headers=as_("erin"))
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["status"]
    r = client.patch(f"{ITEMS}/{fid}", json={"geometry": None}, headers=as_("erin"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "geometry"
    r = client.patch(f"{ITEMS}/{fid}", json={"properties": ["status"]}, headers=as_("erin"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "properties"
    assert store(client).get(HYDRANTS, fid)["properties"] == old["properties"]
    assert store(client).history(HYDRANTS, fid) == []


@pytest.mark.parametrize(("body", "words"), [
    (b'{"type": "Feature", "geometry": ', "not valid JSON"),
    (b'\xff\xfe{}', "not valid JSON"),
    (b"", "empty"),
    (b"[1, 2]", "not a JSON list"),
    (b'{"type": "FeatureCollection", "features": []}', "one feature per request"),
    (b'{"geometry": {"type": "Point", "coordinates": [121.4, 31.12]}, "properties": {}}', "got type None"),
])
def test_malformed_bodies_are_400(client, body, words):
    before = store(client).count(HYDRANTS)
    r = client.post(ITEMS, content=body, headers={**as_("erin"), "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "InvalidParameterValue" and words in r.json()["description"]
    assert store(client).count(HYDRANTS) == before


def test_wrong_media_type_and_id_mismatch(client):
    fid = some_hydrant(client)
    old = store(client).get(HYDRANTS, fid)
    r = client.post(ITEMS, content=json.dumps(hydrant()), headers={**as_("erin"), "Content-Type": "text/csv"})
    assert r.status_code == 415 and "application/geo+json" in r.json()["description"]
    r = client.put(f"{ITEMS}/{fid}", json={**hydrant("faulty"), "id": fid + 1}, headers=as_("erin"))
    assert r.status_code == 400 and "differs from the id in the URL" in r.json()["description"]
    r = client.patch(f"{ITEMS}/{fid}", json={"id": "x", "properties": {"status": "faulty"}}, headers=as_("erin"))
    assert r.status_code == 400
    assert store(client).get(HYDRANTS, fid)["properties"] == old["properties"]
    # a string id equal to the path's is fine (QGIS sends ids as strings)
    r = client.put(f"{ITEMS}/{fid}", json={**hydrant("faulty"), "id": str(fid)}, headers=as_("erin"))
    assert r.status_code == 200
    assert client.put(f"{ITEMS}/999999", json=hydrant(), headers=as_("erin")).status_code == 404


def test_body_size_limit_413(make_client):
    client = make_client(max_body_bytes=2_000)
    before = store(client).count(HYDRANTS)
    big = hydrant(kind="wall")
    big["properties"]["note"] = "x" * 3_000
    r = client.post(ITEMS, json=big, headers=as_("erin"))  # declared by Content-Length
    assert r.status_code == 413 and r.json()["code"] == "PayloadTooLarge" and "2,000 bytes" in r.json()["description"]

    def chunks():  # no Content-Length: the streamed size is what counts
        data = orjson.dumps(big)
        for i in range(0, len(data), 500):
            yield data[i:i + 500]

    r = client.post(ITEMS, content=chunks(), headers={**as_("erin"), "Content-Type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413
    assert store(client).count(HYDRANTS) == before
    assert client.post(ITEMS, json=hydrant(), headers=as_("erin")).status_code == 201  # small bodies still pass


def test_content_crs_is_converted_to_lon_lat(client):
    lat_lon = [SPOT[1], SPOT[0]]  # EPSG:4326 is latitude first
    r = client.post(ITEMS, json=hydrant(coords=lat_lon), headers={
        **as_("erin"), "Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4326>"})
    assert r.status_code == 201, r.text
    x, y = store(client).get(HYDRANTS, r.json()["id"])["geometry"].coords[0]
    assert x == pytest.approx(SPOT[0], abs=1e-9) and y == pytest.approx(SPOT[1], abs=1e-9)
    r = client.post(ITEMS, json=hydrant(), headers={**as_("erin"), "Content-Crs": "<urn:nothing>"})
    assert r.status_code == 400 and "not supported" in r.json()["description"]


def test_service_area_applies_to_api_writes(make_client):
    client = make_client(service_area=(121.35, 31.05, 121.45, 31.20))
    r = client.post(ITEMS, json=hydrant(coords=[121.60, 31.30]), headers=as_("erin"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "geometry" and "service area" in r.json()["errors"][0]["reason"]
    assert client.post(ITEMS, json=hydrant(), headers=as_("erin")).status_code == 201


# ------------------------------------------------------------------ roles

def write_requests(fid: int) -> list[tuple[str, str, dict | None]]:
    return [("POST", ITEMS, hydrant()), ("PUT", f"{ITEMS}/{fid}", hydrant("faulty")),
            ("PATCH", f"{ITEMS}/{fid}", {"properties": {"status": "faulty"}}), ("DELETE", f"{ITEMS}/{fid}", None)]


@pytest.mark.parametrize("verb", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_need_an_editor_key(client, verb):
    fid = some_hydrant(client)
    old = store(client).get(HYDRANTS, fid)
    count = store(client).count(HYDRANTS)
    method, url, body = next(w for w in write_requests(fid) if w[0] == verb)

    def send(headers):
        return client.request(method, url, json=body, headers=headers)

    r = send({})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    r = send({"Authorization": "Bearer not-a-key"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    r = send(as_("vera"))
    assert r.status_code == 403 and r.json()["code"] == "Forbidden" and "viewer" in r.json()["description"]
    assert store(client).get(HYDRANTS, fid) == old and store(client).count(HYDRANTS) == count
    assert send(as_("erin")).status_code in (200, 201, 204)


def test_history_needs_an_editor_key(client):
    fid = client.post(ITEMS, json=hydrant(), headers=as_("erin")).json()["id"]
    url = f"{ITEMS}/{fid}/history"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=as_("vera")).status_code == 403
    assert client.get(url, headers=as_("eli")).json()["records"][0]["actor"] == "erin"
    assert client.get(url, headers=as_("ada")).status_code == 200


def test_options_lists_what_the_caller_may_do(client):
    r = client.options(ITEMS)
    assert r.status_code == 200 and r.headers["Allow"] == "GET, OPTIONS"
    assert client.options(ITEMS, headers=as_("vera")).headers["Allow"] == "GET, OPTIONS"
    r = client.options(ITEMS, headers=as_("erin"))
    assert "POST" in r.headers["Allow"].split(", ") and "application/geo+json" in r.headers["Accept-Post"]
    # QGIS probes an item with an id that may not exist
    r = client.options(f"{ITEMS}/unknown_id", headers=as_("ada"))
    assert r.status_code == 200 and set(r.headers["Allow"].split(", ")) == {"GET", "OPTIONS", "PUT", "PATCH", "DELETE"}
    assert "application/merge-patch+json" in r.headers["Accept-Patch"]
    assert client.options("/collections/nope/items", headers=as_("ada")).status_code == 404


def test_options_when_reads_need_a_key(make_client):
    client = make_client(read_requires_key=True)
    assert client.options(ITEMS).status_code == 401
    assert client.options(ITEMS, headers=as_("vera")).headers["Allow"] == "GET, OPTIONS"


# ------------------------------------------------------------------ optimistic locking

def test_stale_if_match_is_412_and_not_applied(client):
    fid = some_hydrant(client)
    url = f"{ITEMS}/{fid}"
    tag_a = client.get(url).headers["ETag"]  # editor A reads
    tag_b = client.get(url).headers["ETag"]  # editor B reads the same version
    assert tag_a == tag_b
    a = client.patch(url, json={"properties": {"status": "under_repair"}}, headers={**as_("erin"), "If-Match": tag_a})
    assert a.status_code == 200 and a.headers["ETag"] != tag_a
    b = client.patch(url, json={"properties": {"status": "out_of_service", "kind": "wall"}},
                     headers={**as_("eli"), "If-Match": tag_b})
    assert b.status_code == 412
    assert b.json()["code"] == "PreconditionFailed" and "read it again" in b.json()["description"]
    feat = store(client).get(HYDRANTS, fid)
    assert feat["properties"]["status"] == "under_repair" and feat["properties"]["kind"] != "wall"
    assert [h["actor"] for h in store(client).history(HYDRANTS, fid)] == ["erin"]
    for method, body in (("PUT", hydrant("faulty")), ("DELETE", None)):
        r = client.request(method, url, json=body, headers={**as_("eli"), "If-Match": tag_b})
        assert r.status_code == 412
    assert store(client).get(HYDRANTS, fid) == feat
    # B reads again and succeeds with the fresh tag, also when sent without quotes or among others
    fresh = client.get(url).headers["ETag"]
    assert fresh == a.headers["ETag"]
    r = client.patch(url, json={"properties": {"kind": "wall"}}, headers={**as_("eli"), "If-Match": fresh.strip('"')})
    assert r.status_code == 200
    r = client.put(url, json=hydrant("working"), headers={**as_("eli"), "If-Match": f'"0000", {r.headers["ETag"]}'})
    assert r.status_code == 200
    assert client.delete(url, headers={**as_("eli"), "If-Match": "*"}).status_code == 204


# ------------------------------------------------------------------ discovery

def test_conformance_and_openapi_document_the_edits(client):
    conforms = client.get("/conformance").json()["conformsTo"]
    for cls in ("create-replace-delete", "update", "optimistic-locking-etags", "features"):
        assert f"http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/{cls}" in conforms
    api = client.get("/api").json()
    schemes = api["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKeyHeader"] == {**schemes["apiKeyHeader"], "type": "apiKey", "in": "header",
                                       "name": "X-API-Key"}
    items, item = api["paths"]["/collections/{collection_id}/items"], api["paths"][
        "/collections/{collection_id}/items/{feature_id}"]
    for op, media in ((items["post"], "application/geo+json"), (item["put"], "application/geo+json"),
                      (item["patch"], "application/merge-patch+json")):
        assert op["requestBody"]["required"] is True and media in op["requestBody"]["content"]
        assert {"bearerAuth": []} in op["security"] and {"apiKeyHeader": []} in op["security"]
        assert {"401", "403", "413", "422"} <= set(op["responses"])
    assert "Location" in items["post"]["responses"]["201"]["headers"]
    assert {"bearerAuth": []} in item["delete"]["security"] and "412" in item["delete"]["responses"]
    assert "If-Match" in [p["name"] for p in item["patch"]["parameters"]]


# ------------------------------------------------------------------ over real HTTP

def test_post_patch_delete_against_a_real_server(backend):
    env = {**backend.env,
           "GEO_SERVICE_API_KEYS": json.dumps([k.model_dump() for k in key_entries()])}
    with running_server(env) as base, httpx.Client(base_url=base, timeout=30) as http:
        r = http.post(ITEMS, json=hydrant("ok", kind="underground"), headers=as_("erin"))
        assert r.status_code == 201, r.text
        location, tag = r.headers["Location"], r.headers["ETag"]
        assert location.startswith(base) and http.get(location).headers["ETag"] == tag
        assert http.patch(location, json={"properties": {"status": "faulty"}}).status_code == 401
        r = http.patch(location, json={"properties": {"status": "faulty"}}, headers={**as_("eli"), "If-Match": tag})
        assert r.status_code == 200 and r.json()["properties"]["status"] == "faulty"
        assert http.get(location).json()["properties"] == {"kind": "underground", "status": "faulty",
                                                          "last_inspected": None, "flow_lps": None,
                                                          "source_id": None}
        stale = http.delete(location, headers={**as_("erin"), "If-Match": tag})
        assert stale.status_code == 412
        assert http.delete(location, headers={**as_("erin"), "If-Match": r.headers["ETag"]}).status_code == 204
        assert http.get(location).status_code == 404
        history = http.get(f"{location}/history", headers={"X-API-Key": KEYS["ada"][1]}).json()["records"]
        assert [(h["action"], h["actor"]) for h in history] == [("create", "erin"), ("update", "eli"),
                                                               ("delete", "erin")]
