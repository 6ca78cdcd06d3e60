"""One test per OGC API - Features requirement the service implements, named after it.

Part 1 Core, OGC 17-069r4 (requirements /req/<class>/<name>; /rec/ are recommendations):

    core   root-op, root-success, api-definition-op, api-definition-success, conformance-op,
           conformance-success, query-param-unknown, query-param-invalid, crs84, fc-md-op,
           fc-md-success, fc-md-links, fc-md-items, fc-md-items-links, fc-md-extent, sfc-md-op,
           sfc-md-success, fc-op, fc-limit-definition, fc-limit-response-1, fc-bbox-definition,
           fc-bbox-response, fc-time-definition, fc-response, fc-links, fc-rel-type, fc-timeStamp,
           fc-numberMatched, fc-numberReturned, f-op, f-success, f-links;
           /rec/core/fc-next-1..3 (paging by `next`)
    oas30  oas-definition-1, oas-definition-2, oas-impl, completeness, exceptions-codes
    html   definition, content
    geojson definition, content

Part 2 CRS by reference, OGC 18-058r1:

    crs    fc-md-crs-list, fc-md-storageCrs, fc-bbox-crs-definition, fc-bbox-crs-valid-value,
           fc-bbox-crs-action, fc-crs-definition, fc-crs-valid-value, fc-crs-action,
           ogc-crs-header (content-crs)

Part 3 (queryables), OGC 19-079r2: get-queryables-op/-response, queryables-query-parameters.

Each test runs the app (TestClient) on a private copy of the demo district, once per store kind
(GeoPackage, PostGIS), and checks behaviour against the store or an independent computation
(numpy/shapely/pyproj), never against constants.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

from geo_service.api.app import create_app
from geo_service.crs import CRS84, supported_crs
from geo_service.store.base import Query

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
CRS_CLASS = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
GEOJSON = "application/geo+json"
MAX_LIMIT, DEFAULT_LIMIT = 500, 50
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@pytest.fixture(scope="module")
def store(shared_backend):
    """The demo district on each store kind (the tests only read)."""
    return shared_backend.open_store()


@pytest.fixture(scope="module")
def settings(shared_backend):
    return shared_backend.settings(max_limit=MAX_LIMIT, default_limit=DEFAULT_LIMIT, metric_crs="EPSG:32651",
                                   cors_origins=[], api_keys=[], read_requires_key=False)


@pytest.fixture(scope="module")
def client(settings, store):
    with TestClient(create_app(settings, store)) as c:
        yield c


@pytest.fixture(scope="module")
def api(client):
    return client.get("/api").json()


def ok(client, url, **kw):
    r = client.get(url, **kw)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return r


def rels(doc) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for link in doc["links"]:
        out.setdefault(link["rel"], []).append(link)
    return out


def path_of(href: str) -> str:
    parts = urlsplit(href)
    return parts.path + ("?" + parts.query if parts.query else "")


def ids(doc) -> list[int]:
    return [f["id"] for f in doc["features"]]


def hydrant_box(store) -> tuple[float, float, float, float]:
    """A lon/lat box over about a third of the hydrants, its edges halfway between two hydrants."""
    xy = shapely.get_coordinates(store.frame("fire_hydrants").geometry.values)
    xs, ys = np.unique(xy[:, 0]), np.unique(xy[:, 1])

    def mid(v, q):
        k = int(len(v) * q)
        return float((v[k] + v[k + 1]) / 2)

    return mid(xs, 0.2), mid(ys, 0.3), mid(xs, 0.7), mid(ys, 0.8)


def inside(frame, box) -> set[int]:
    """Ids of features intersecting a lon/lat box: an independent computation with shapely."""
    mask = shapely.intersects(frame.geometry.values, shapely.box(*box))
    return set(frame.index[mask].tolist())


def walk(client, url) -> tuple[list[int], list[dict]]:
    """Follow `next` links from url; all feature ids and every page."""
    seen, pages = [], []
    while url:
        doc = ok(client, url).json()
        pages.append(doc)
        seen += ids(doc)
        nxt = rels(doc).get("next")
        url = path_of(nxt[0]["href"]) if nxt else None
        assert len(pages) < 200
    return seen, pages


# ======================================================================== Part 1: core

def test_req_core_root_op(client):
    assert ok(client, "/").headers["content-type"].startswith("application/json")


def test_req_core_root_success(client):
    doc = ok(client, "/").json()
    by_rel = rels(doc)
    for rel in ("service-desc", "service-doc", "conformance", "data"):
        assert rel in by_rel, rel
        for link in by_rel[rel]:
            assert ok(client, path_of(link["href"]), headers={"accept": link["type"]})
    assert all({"rel", "type", "href"} <= set(link) for link in doc["links"])


def test_req_core_api_definition_op(client):
    desc = rels(ok(client, "/").json())["service-desc"][0]
    r = ok(client, path_of(desc["href"]))
    assert r.headers["content-type"] == desc["type"] == OPENAPI


def test_req_core_api_definition_success(client, api, store):
    assert api["openapi"].startswith("3.0.")
    for spec in store.catalog:
        assert f"/collections/{spec.id}/items" in api["paths"]
        assert f"/collections/{spec.id}/items/{{featureId}}" in api["paths"]


def test_req_core_conformance_op(client):
    assert ok(client, "/conformance").headers["content-type"].startswith("application/json")


def test_req_core_conformance_success(client):
    conforms = ok(client, "/conformance").json()["conformsTo"]
    for cls in ("core", "oas30", "html", "geojson"):
        assert CORE + cls in conforms
    assert CRS_CLASS in conforms


@pytest.mark.parametrize("url", ["/", "/conformance", "/collections", "/collections/fire_hydrants",
                                 "/collections/fire_hydrants/items", "/collections/fire_hydrants/items/1",
                                 "/collections/fire_hydrants/queryables", "/collections/fire_hydrants/schema"])
def test_req_core_query_param_unknown(client, url):
    r = client.get(url, params={"no_such_parameter": "1"})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "InvalidParameterValue" and "no_such_parameter" in body["description"]


@pytest.mark.parametrize("query", [
    "limit=abc", "limit=0", "limit=-3", "offset=-1", "offset=x", "bbox=1,2,3", "bbox=a,b,c,d", "bbox=1,2,3,4,5",
    "bbox=0,10,1,5", "crs=EPSG:99999", "bbox=0,0,1,1&bbox-crs=urn:nonsense", "bbox-crs=EPSG:4326", "f=xml",
    "datetime=yesterday", "datetime=2024-13-45", "status=exploded", "flow_lps=lots", "last_inspected=2024-02-30",
    "sortby=colour", "properties=colour"])
def test_req_core_query_param_invalid(client, query):
    r = client.get("/collections/fire_hydrants/items?" + query)
    assert r.status_code == 400, (query, r.text)
    assert r.headers["content-type"].startswith("application/json")
    assert set(r.json()) >= {"code", "description"}


def test_req_core_crs84(client, store):
    frame = store.frame("fire_hydrants")
    doc = ok(client, "/collections/fire_hydrants/items?limit=100").json()
    for feat in doc["features"]:
        assert shape(feat["geometry"]).equals_exact(frame.geometry[feat["id"]], 1e-9)


def test_req_core_fc_md_op(client):
    assert ok(client, "/collections").headers["content-type"].startswith("application/json")


def test_req_core_fc_md_success(client):
    doc = ok(client, "/collections").json()
    assert isinstance(doc["links"], list) and isinstance(doc["collections"], list)
    for c in doc["collections"]:
        assert {"id", "links"} <= set(c)
        assert "." not in c["id"]  # GDAL and QGIS trip over dotted ids


def test_req_core_fc_md_links(client):
    doc = ok(client, "/collections").json()
    by_rel = rels(doc)
    assert path_of(by_rel["self"][0]["href"]) == "/collections"
    html = [a for a in by_rel["alternate"] if a["type"] == "text/html"]
    assert html and ok(client, path_of(html[0]["href"])).headers["content-type"].startswith("text/html")


def test_req_core_fc_md_items(client, store):
    doc = ok(client, "/collections").json()
    assert [c["id"] for c in doc["collections"]] == [spec.id for spec in store.catalog]
    assert all(c["itemType"] == "feature" for c in doc["collections"])  # OWSLib lists only these


def test_req_core_fc_md_items_links(client):
    for c in ok(client, "/collections").json()["collections"]:
        items = {link["type"]: link for link in c["links"] if link["rel"] == "items"}
        assert set(items) == {GEOJSON, "text/html"}
        r = ok(client, path_of(items[GEOJSON]["href"]))
        assert r.headers["content-type"] == GEOJSON
        assert all({"rel", "type", "href"} <= set(link) for link in c["links"])


def test_req_core_fc_md_extent(client, store):
    for c in ok(client, "/collections").json()["collections"]:
        if not store.catalog.get(c["id"]).has_geometry:  # issue 16: a table of plans has no spatial extent
            assert "spatial" not in c.get("extent", {})
            continue
        boxes = c["extent"]["spatial"]["bbox"]
        assert isinstance(boxes, list) and all(isinstance(b, list) and len(b) == 4 for b in boxes)
        assert c["extent"]["spatial"]["crs"] == CRS84
        minx, miny, maxx, maxy = store.frame(c["id"]).total_bounds
        assert boxes[0] == pytest.approx([minx, miny, maxx, maxy], abs=1e-9)


def test_req_core_sfc_md_op(client, store):
    for spec in store.catalog:
        assert ok(client, f"/collections/{spec.id}").json()["id"] == spec.id
    assert client.get("/collections/no_such_layer").status_code == 404


def test_req_core_sfc_md_success(client):
    for c in ok(client, "/collections").json()["collections"]:
        assert ok(client, f"/collections/{c['id']}").json() == c


def test_req_core_fc_op(client, store):
    for spec in store.catalog:
        r = ok(client, f"/collections/{spec.id}/items")
        assert r.json()["type"] == "FeatureCollection"
    assert client.get("/collections/no_such_layer/items").status_code == 404


def test_req_core_fc_limit_definition(api, store):
    limit = api["components"]["parameters"]["limit"]
    assert (limit["name"], limit["in"], limit["required"]) == ("limit", "query", False)
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}
    for spec in store.catalog:  # GDAL reads the limit through this $ref on the collection's own path
        params = api["paths"][f"/collections/{spec.id}/items"]["get"]["parameters"]
        assert {"$ref": "#/components/parameters/limit"} in params


def test_req_core_fc_limit_response_1(client, store):
    total = store.count("fire_hydrants")
    assert total > MAX_LIMIT
    assert ok(client, "/collections/fire_hydrants/items?limit=7").json()["numberReturned"] == 7
    assert ok(client, "/collections/fire_hydrants/items").json()["numberReturned"] == DEFAULT_LIMIT
    over = ok(client, f"/collections/fire_hydrants/items?limit={MAX_LIMIT + 250}").json()
    assert over["numberReturned"] == MAX_LIMIT and over["numberMatched"] == total
    assert "next" in rels(over)


def test_req_core_fc_bbox_definition(api, client, store):
    bbox = api["components"]["parameters"]["bbox"]
    assert (bbox["in"], bbox["style"], bbox["explode"]) == ("query", "form", False)
    assert bbox["schema"]["type"] == "array" and bbox["schema"]["items"] == {"type": "number"}
    box = hydrant_box(store)
    four = ok(client, "/collections/fire_hydrants/items", params={"bbox": ",".join(map(str, box))}).json()
    six = ok(client, "/collections/fire_hydrants/items",
             params={"bbox": f"{box[0]},{box[1]},-10,{box[2]},{box[3]},100"}).json()
    assert four["numberMatched"] == six["numberMatched"] > 0


@pytest.mark.parametrize("layer", ["fire_hydrants", "compounds", "parking_facilities"])
def test_req_core_fc_bbox_response(client, store, layer):
    box = hydrant_box(store)
    expected = inside(store.frame(layer), box)
    assert 0 < len(expected) < store.count(layer)
    got, pages = walk(client, f"/collections/{layer}/items?limit={MAX_LIMIT}&bbox=" + ",".join(map(str, box)))
    assert sorted(got) == sorted(expected)
    assert pages[0]["numberMatched"] == len(expected) == store.count(layer, Query(bbox=box))


def test_req_core_fc_time_definition(client, store):
    total = store.count("fire_hydrants")
    for value in ("2024-05-01T10:00:00Z", "2024-01-01/2024-12-31", "../2025-01-01T00:00:00+08:00", "2020-01-01/.."):
        doc = ok(client, "/collections/fire_hydrants/items", params={"datetime": value}).json()
        assert doc["numberMatched"] == total  # no temporal geometry: nothing is filtered away
    assert client.get("/collections/fire_hydrants/items", params={"datetime": "2024-01-01/x"}).status_code == 400


def test_req_core_fc_response(client, store):
    r = ok(client, "/collections/fire_hydrants/items?status=faulty&limit=" + str(MAX_LIMIT))
    assert r.headers["content-type"] == GEOJSON
    doc = r.json()
    frame = store.frame("fire_hydrants")
    faulty = set(frame.index[frame["status"] == "faulty"].tolist())
    assert set(ids(doc)) == faulty and all(f["properties"]["status"] == "faulty" for f in doc["features"])


def test_req_core_fc_links(client):
    doc = ok(client, "/collections/fire_hydrants/items?limit=5&status=working").json()
    by_rel = rels(doc)
    assert by_rel["self"][0]["type"] == GEOJSON
    again = ok(client, path_of(by_rel["self"][0]["href"])).json()
    assert ids(again) == ids(doc)
    html = by_rel["alternate"][0]
    assert html["type"] == "text/html"
    assert ok(client, path_of(html["href"])).headers["content-type"].startswith("text/html")


def test_req_core_fc_rel_type(client):
    doc = ok(client, "/collections/fire_hydrants/items?limit=5&offset=5").json()
    assert {"self", "alternate", "next", "prev", "collection"} <= set(rels(doc))
    assert all(link.get("rel") and link.get("type") for link in doc["links"])


def test_rec_core_fc_next_1(client):
    doc = ok(client, "/collections/fire_hydrants/items?limit=10").json()
    nxt = rels(doc)["next"][0]
    assert nxt["type"] == GEOJSON  # typed, so GDAL picks it among several next links
    last = ok(client, f"/collections/fire_hydrants/items?limit=10&offset={doc['numberMatched'] - 3}").json()
    assert last["numberReturned"] == 3 and "next" not in rels(last)


def test_rec_core_fc_next_2(client, store):
    """Following `next` returns every selected feature exactly once, in the order asked for."""
    got, pages = walk(client, "/collections/fire_hydrants/items?limit=333&sortby=-flow_lps,id&kind=underground")
    frame = store.frame("fire_hydrants")
    sel = frame[frame["kind"] == "underground"].reset_index()
    expected = sel.sort_values(["flow_lps", "id"], ascending=[False, True], na_position="last")["id"].tolist()
    assert got == expected and len(set(got)) == len(got)
    assert all(p["numberMatched"] == len(expected) for p in pages)


def test_rec_core_fc_next_3(client):
    _, pages = walk(client, "/collections/fire_hydrants/items?limit=400")
    assert [p["numberReturned"] for p in pages[:-1]] == [400] * (len(pages) - 1)
    for page in pages[1:]:
        prev = rels(page)["prev"][0]
        assert parse_qs(urlsplit(prev["href"]).query)["limit"] == ["400"]


def test_req_core_fc_timestamp(client):
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    stamp = ok(client, "/collections/fire_hydrants/items?limit=1").json()["timeStamp"]
    after = dt.datetime.now(dt.UTC)
    assert before <= dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= after


def test_req_core_fc_numbermatched(client, store):
    box = hydrant_box(store)
    doc = ok(client, "/collections/fire_hydrants/items", params={
        "bbox": ",".join(map(str, box)), "status": ["working", "faulty"], "limit": 1}).json()
    q = Query(bbox=box, filters=Query.equals(status=["working", "faulty"]))
    frame = store.frame("fire_hydrants")
    independent = inside(frame[frame["status"].isin(["working", "faulty"])], box)
    assert doc["numberMatched"] == store.count("fire_hydrants", q) == len(independent)


def test_req_core_fc_numberreturned(client):
    for url in ("/collections/compounds/items?limit=13", "/collections/fire_hydrants/items?offset=2060&limit=50"):
        doc = ok(client, url).json()
        assert doc["numberReturned"] == len(doc["features"])


def test_req_core_f_op(client, store):
    for spec in store.catalog:
        fid = int(store.frame(spec.id).index[0])
        assert ok(client, f"/collections/{spec.id}/items/{fid}").json()["id"] == fid


def test_req_core_f_op_unknown_id(client, store):
    top = int(store.frame("fire_hydrants").index.max())
    for fid in (top + 1, "abc", 0, "1.5"):
        r = client.get(f"/collections/fire_hydrants/items/{fid}")
        assert r.status_code == 404 and r.json()["code"] == "NotFound"


def test_req_core_f_success(client, store):
    frame = store.frame("compounds")
    for fid in frame.index[:5]:
        doc = ok(client, f"/collections/compounds/items/{fid}").json()
        assert doc["type"] == "Feature" and doc["id"] == fid
        stored = store.get("compounds", int(fid))
        assert doc["properties"] == stored["properties"]
        assert shape(doc["geometry"]).equals_exact(stored["geometry"], 1e-9)


def test_req_core_f_links(client):
    doc = ok(client, "/collections/fire_hydrants/items/7").json()
    by_rel = rels(doc)
    assert path_of(by_rel["self"][0]["href"]) == "/collections/fire_hydrants/items/7"
    assert by_rel["self"][0]["type"] == GEOJSON and by_rel["alternate"][0]["type"] == "text/html"
    assert ok(client, path_of(by_rel["collection"][0]["href"])).json()["id"] == "fire_hydrants"
    assert ok(client, path_of(by_rel["alternate"][0]["href"])).headers["content-type"].startswith("text/html")


# ======================================================================== Part 1: oas30

def test_req_oas30_oas_definition_1(client):
    assert ok(client, "/api").headers["content-type"] == OPENAPI
    doc = rels(ok(client, "/").json())["service-doc"][0]
    assert doc["type"] == "text/html"
    assert ok(client, path_of(doc["href"])).headers["content-type"].startswith("text/html")


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for v in node.values():
            yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def test_req_oas30_oas_definition_2(api):
    assert re.fullmatch(r"3\.0\.\d+", api["openapi"])
    assert {"info", "paths", "components"} <= set(api)
    for ref in set(_refs(api)):  # every local reference resolves
        node = api
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    text = repr(api)
    assert "'type': 'null'" not in text and "'const'" not in text  # no OpenAPI 3.1-only constructs


def _concrete(path: str, store) -> str:
    m = re.match(r"^/collections/([a-z0-9_]+)/items/\{featureId\}$", path)
    return path.replace("{featureId}", str(int(store.frame(m.group(1)).index[0]))) if m else path


def test_req_oas30_oas_impl(client, api, store):
    """Every GET the definition declares at an OGC path answers 200 without parameters."""
    ogc = [p for p in api["paths"] if p in ("/", "/conformance", "/collections", "/api", "/api.html")
           or re.match(r"^/collections/[a-z0-9_]+(/schema|/queryables|/items|/items/\{featureId\})?$", p)]
    assert len(ogc) == 5 + 5 * len(store.catalog)
    for path in ogc:
        assert "get" in api["paths"][path]
        ok(client, _concrete(path, store))


def test_req_oas30_completeness(client, api, store):
    """The statuses this server uses are the ones declared, with their media types."""
    items = api["paths"]["/collections/fire_hydrants/items"]["get"]["responses"]
    item = api["paths"]["/collections/fire_hydrants/items/{featureId}"]["get"]["responses"]
    assert {"200", "304", "400", "500"} <= set(items) and "404" in item
    assert set(items["200"]["content"]) == {GEOJSON, "text/html", "text/csv"}  # csv: the map filter box's table
    first = client.get("/collections/fire_hydrants/items?limit=2")
    assert client.get("/collections/fire_hydrants/items?limit=2",
                      headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    assert client.get("/collections/fire_hydrants/items/999999").status_code == 404
    for path, ops in api["paths"].items():
        if path.startswith("/collections/fire_hydrants"):
            assert set(ops["get"]["responses"]) >= {"200", "400"}


def test_req_oas30_exceptions_codes(api):
    for path, ops in api["paths"].items():
        if not path.startswith("/collections/compounds"):
            continue
        for status, response in ops["get"]["responses"].items():
            if status.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/exception"}
    assert api["components"]["schemas"]["exception"]["required"] == ["code"]


# ======================================================================== Part 1: html

HTML_URLS = ["/", "/conformance", "/collections", "/collections/compounds", "/collections/compounds/items",
             "/collections/compounds/items/1", "/collections/compounds/schema", "/collections/compounds/queryables"]


@pytest.mark.parametrize("url", HTML_URLS)
def test_req_html_definition(client, url):
    sep = "&" if "?" in url else "?"
    by_f = ok(client, url + sep + "f=html")
    by_accept = ok(client, url, headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    for r in (by_f, by_accept):
        assert r.headers["content-type"].startswith("text/html")
        assert r.text.startswith("<!doctype html>")
    assert "accept" in by_accept.headers["vary"].lower()
    json_r = ok(client, url, headers={"accept": "application/json"})
    assert "json" in json_r.headers["content-type"]


def _hrefs(page: str) -> set[str]:
    import html

    return {html.unescape(h) for h in re.findall(r'<a href="([^"]*)"', page)}


def test_req_html_content(client, store):
    for url in ("/", "/collections", "/collections/compounds/items?limit=5", "/collections/compounds/items/3"):
        doc = ok(client, url).json()
        page = ok(client, url, params={"f": "html"} if "?" not in url else None,
                  headers={"accept": "text/html"}).text
        hrefs = _hrefs(page)
        for link in doc["links"]:  # self/alternate swap roles in the HTML page; next/prev stay in HTML
            href = link["href"] + ("&f=html" if link["rel"] in ("next", "prev") else "")
            assert link["rel"] in ("self", "alternate") or href in hrefs, (url, link)
        assert {a["href"] for a in rels(doc)["alternate"] if a["type"] == "text/html"} <= hrefs
    page = ok(client, "/collections/compounds/items?limit=5&f=html").text
    for fid, row in store.query("compounds", Query(limit=5)).features.iterrows():
        assert f">{fid}</a>" in page and row["name"] in page
    conforms = ok(client, "/conformance").json()["conformsTo"]
    assert set(conforms) <= _hrefs(ok(client, "/conformance?f=html").text)


# ======================================================================== Part 1: geojson

def test_req_geojson_definition(client):
    assert ok(client, "/collections/compounds/items").headers["content-type"] == GEOJSON
    assert ok(client, "/collections/compounds/items/1").headers["content-type"] == GEOJSON
    for url in ("/", "/conformance", "/collections", "/collections/compounds"):
        assert ok(client, url).headers["content-type"] == "application/json"


def test_req_geojson_content(client, store):
    for layer in ("parking_facilities", "compounds"):
        fc = ok(client, f"/collections/{layer}/items?limit={MAX_LIMIT}").json()
        assert fc["type"] == "FeatureCollection" and isinstance(fc["links"], list)
        frame = store.frame(layer)
        for feat in fc["features"]:
            assert feat["type"] == "Feature" and set(feat) >= {"id", "geometry", "properties"}
            geom = shape(feat["geometry"])
            assert geom.is_valid and geom.geom_type == frame.geometry[feat["id"]].geom_type
            assert set(feat["properties"]) == set(store.catalog.get(layer).field_names)
        one = ok(client, f"/collections/{layer}/items/{fc['features'][0]['id']}").json()
        assert one["type"] == "Feature" and isinstance(one["links"], list)


# ======================================================================== Part 2: crs

def test_req_crs_fc_md_crs_list(client, settings):
    wanted = {CRS84} | {EPSG + c for c in ("4326", "4490", "3857", "4549", "32651")}
    for c in ok(client, "/collections").json()["collections"]:
        assert wanted <= set(c["crs"])
        assert c["crs"] == supported_crs(settings.metric_crs)


def test_req_crs_fc_md_storagecrs(client):
    for c in ok(client, "/collections").json()["collections"]:
        assert c["storageCrs"] == CRS84 and c["storageCrs"] in c["crs"]


def test_req_crs_fc_bbox_crs_definition(api, settings):
    for name in ("bbox-crs", "crs"):
        p = api["components"]["parameters"][name]
        assert p["in"] == "query" and p["schema"]["format"] == "uri"
        assert p["schema"]["enum"] == supported_crs(settings.metric_crs)
    params = api["paths"]["/collections/compounds/items"]["get"]["parameters"]
    assert {"$ref": "#/components/parameters/bbox-crs"} in params


def test_req_crs_fc_bbox_crs_valid_value(client):
    for value in (EPSG + "2000", "EPSG:4230", "http://example.com/crs/1"):
        r = client.get("/collections/fire_hydrants/items", params={"bbox": "0,0,1,1", "bbox-crs": value})
        assert r.status_code == 400 and "not supported" in r.json()["description"]


@functools.lru_cache(maxsize=16)
def _to(uri: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:" + uri.rsplit("/", 1)[1])  # authority axis order


def test_req_crs_fc_bbox_crs_action(client, store):
    frame = store.frame("fire_hydrants")
    lon0, lat0, lon1, lat1 = box = hydrant_box(store)
    expected = sorted(inside(frame, box))
    base = f"/collections/fire_hydrants/items?limit={MAX_LIMIT}"
    # EPSG:4326 and CGCS2000 (EPSG:4490) bboxes are latitude first.
    for code in ("4326", "4490"):
        got, _ = walk(client, base + f"&bbox={lat0},{lon0},{lat1},{lon1}&bbox-crs=EPSG:{code}")
        assert sorted(got) == expected, code
    swapped = ok(client, base + f"&bbox={lon0},{lat0},{lon1},{lat1}&bbox-crs=EPSG:4326").json()
    assert swapped["numberMatched"] == 0  # read as latitudes 121..., which select nothing
    # Projected: a rectangle in the CRS's own axes (EPSG:4549 is northing, easting).
    for code in ("4549", "3857", "32651"):
        a0, a1 = _to(EPSG + code).transform(frame.geometry.x.values, frame.geometry.y.values)
        u0, u1 = np.unique(a0), np.unique(a1)
        lo0, hi0 = (u0[200] + u0[201]) / 2, (u0[1200] + u0[1201]) / 2
        lo1, hi1 = (u1[300] + u1[301]) / 2, (u1[1500] + u1[1501]) / 2
        want = sorted(frame.index[(a0 >= lo0) & (a0 <= hi0) & (a1 >= lo1) & (a1 <= hi1)].tolist())
        got, pages = walk(client, base + f"&bbox={lo0},{lo1},{hi0},{hi1}&bbox-crs={EPSG}{code}")
        assert sorted(got) == want and pages[0]["numberMatched"] == len(want) > 0, code


def test_req_crs_fc_crs_definition(api):
    for suffix in ("/items", "/items/{featureId}"):
        params = api["paths"]["/collections/fire_hydrants" + suffix]["get"]["parameters"]
        assert {"$ref": "#/components/parameters/crs"} in params


def test_req_crs_fc_crs_valid_value(client):
    for url in ("/collections/fire_hydrants/items", "/collections/fire_hydrants/items/1"):
        r = client.get(url, params={"crs": EPSG + "2154"})
        assert r.status_code == 400 and r.json()["code"] == "InvalidParameterValue"
    for spelling in ("EPSG:4549", "[EPSG:4549]", EPSG + "4549"):  # URI, CURIE and safe CURIE are one CRS
        r = ok(client, "/collections/fire_hydrants/items/1", params={"crs": spelling})
        assert r.headers["content-crs"] == f"<{EPSG}4549>"


@pytest.mark.parametrize("layer", ["fire_hydrants", "compounds"])
def test_req_crs_fc_crs_action(client, store, settings, layer):
    frame = store.frame(layer)
    for uri in supported_crs(settings.metric_crs):
        doc = ok(client, f"/collections/{layer}/items", params={"crs": uri, "limit": 20}).json()
        for feat in doc["features"]:
            stored = frame.geometry[feat["id"]]
            expected = stored if uri == CRS84 else shapely.transform(
                stored, lambda xy, tr=_to(uri): np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
            got = shapely.get_coordinates(shape(feat["geometry"]))
            assert np.allclose(got, shapely.get_coordinates(expected), rtol=0, atol=1e-6), (uri, feat["id"])
    # EPSG:4326 is latitude, longitude.
    one = ok(client, f"/collections/{layer}/items/{frame.index[0]}", params={"crs": EPSG + "4326"}).json()
    lonlat = shapely.get_coordinates(frame.geometry.iloc[0])
    assert np.allclose(shapely.get_coordinates(shape(one["geometry"])), lonlat[:, ::-1], atol=1e-12)


def test_req_crs_fc_crs_action_round_trip_4549(client, store):
    """Hydrants served in CGCS2000 Gauss-Kruger (northing, easting) and brought back land within 1 mm."""
    frame = store.frame("fire_hydrants")
    doc = ok(client, f"/collections/fire_hydrants/items?crs=EPSG:4549&limit={MAX_LIMIT}").json()
    back = pyproj.Transformer.from_crs("EPSG:4549", "OGC:CRS84")
    xy = np.array([f["geometry"]["coordinates"] for f in doc["features"]])
    assert (xy[:, 0] > 3e6).all() and (xy[:, 1] < 1e6).all()  # northing first, then easting
    lon, lat = back.transform(xy[:, 0], xy[:, 1])
    stored = shapely.get_coordinates(frame.geometry.loc[ids(doc)].values)
    _, _, dist = pyproj.Geod(ellps="WGS84").inv(lon, lat, stored[:, 0], stored[:, 1])
    assert dist.max() < 1e-3


def test_req_crs_ogc_crs_header_content_crs(client):
    for url in ("/collections/fire_hydrants/items?limit=1", "/collections/fire_hydrants/items/1"):
        assert ok(client, url).headers["content-crs"] == f"<{CRS84}>"
        for code in ("4326", "4490", "3857", "4549", "32651"):
            sep = "&" if "?" in url else "?"
            assert ok(client, f"{url}{sep}crs=EPSG:{code}").headers["content-crs"] == f"<{EPSG}{code}>"


# ======================================================================== Part 3: queryables

def test_req_queryables_get_queryables_response(client, store):
    for spec in store.catalog:
        links = {link["rel"]: link for link in ok(client, f"/collections/{spec.id}").json()["links"]}
        q_link = links["http://www.opengis.net/def/rel/ogc/1.0/queryables"]
        r = ok(client, path_of(q_link["href"]))
        assert r.headers["content-type"] == q_link["type"] == "application/schema+json"
        doc = r.json()
        assert doc["type"] == "object" and doc["$id"].endswith(f"/collections/{spec.id}/queryables")
        assert doc["$schema"].startswith("https://json-schema.org/")
        assert list(doc["properties"]) == [f.name for f in spec.fields if f.filterable]


def test_req_queryables_query_parameters(client, store):
    """Every queryable works as a query parameter: equality with the stored value."""
    frame = store.frame("compounds")
    row = frame.iloc[3]
    queryables = ok(client, "/collections/compounds/queryables").json()["properties"]
    for name in queryables:
        value = row[name]
        if value is None or value != value:
            continue
        doc = ok(client, "/collections/compounds/items", params={name: str(value), "limit": MAX_LIMIT}).json()
        expected = set(frame.index[frame[name] == value].tolist())
        assert set(ids(doc)) == expected and frame.index[3] in expected, name
