"""OGC API - Features Part 3 filtering over HTTP, on both stores, and from GDAL and OWSLib.

Every expression of the corpus gives the same feature ids on the GeoPackage and the PostGIS store, equal to
an independent geopandas evaluation of the demo file read with pyogrio; bad filters are 400s that say what
and where; `filter` combines with bbox, attribute parameters, sortby and paging.
"""

from __future__ import annotations

import io
import urllib.parse

import pandas as pd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient

from geo_service.api.app import create_app
from tests.servers import running_server

CORPUS = [  # (layer, CQL2 text, independent mask on the demo frame)
    ("fire_hydrants", "status = 'working' AND flow_lps < 10",
     lambda f, box, pt: (f.status == "working") & (f.flow_lps < 10)),
    ("fire_hydrants", "status IN ('faulty','unknown') AND S_INTERSECTS(geometry, BBOX({bbox}))",
     lambda f, box, pt: f.status.isin(["faulty", "unknown"])
     & shapely.intersects(f.geometry.values, shapely.box(*box))),
    ("fire_hydrants", "T_BEFORE(last_inspected, DATE('2023-01-01')) AND NOT status = 'working'",
     lambda f, box, pt: (pd.to_datetime(f.last_inspected) < pd.Timestamp("2023-01-01")) & (f.status != "working")),
    ("fire_hydrants", "flow_lps IS NULL OR flow_lps BETWEEN 0 AND 1",
     lambda f, box, pt: f.flow_lps.isna() | f.flow_lps.between(0, 1)),
    ("fire_hydrants", "CASEI(kind) LIKE CASEI('UNDER%')",
     lambda f, box, pt: f.kind.str.lower().str.startswith("under")),
    ("compounds", "build_year < 2000 AND name LIKE '%新村%'",
     lambda f, box, pt: (f.build_year < 2000) & f.name.str.contains("新村")),
    ("compounds", "households > parking_spaces * 1", None),  # not CQL2 basic: refused below
    ("compounds", "households > parking_spaces", lambda f, box, pt: f.households > f.parking_spaces),
    ("compounds", "S_CONTAINS(geometry, POINT({point})) OR S_WITHIN(geometry, BBOX({bbox}))",
     lambda f, box, pt: shapely.contains(f.geometry.values, shapely.Point(*pt))
     | shapely.within(f.geometry.values, shapely.box(*box))),
]
VALID = [c for c in CORPUS if c[2] is not None]


@pytest.fixture(scope="module")
def frames(demo_gpkg):
    return {layer: pyogrio.read_dataframe(demo_gpkg, layer=layer, fid_as_index=True)
            for layer in ("fire_hydrants", "compounds")}


@pytest.fixture(scope="module")
def places(frames):
    """A box over the south-west third of the demo district, and a point inside its first compound."""
    minx, miny, maxx, maxy = frames["compounds"].total_bounds
    box = (minx, miny, minx + (maxx - minx) / 3, miny + (maxy - miny) / 3)
    inside = shapely.point_on_surface(frames["compounds"].geometry.iloc[0])
    return box, (inside.x, inside.y)


def fill(text: str, places) -> str:
    box, pt = places
    return text.replace("{bbox}", ",".join(f"{v:.6f}" for v in box)).replace("{point}", f"{pt[0]:.7f} {pt[1]:.7f}")


@pytest.fixture(scope="module")
def client(shared_backend):
    store = shared_backend.open_store()
    with TestClient(create_app(shared_backend.settings(max_limit=10000), store)) as c:
        yield c


def ids(client, layer, **params) -> list[int]:
    r = client.get(f"/collections/{layer}/items", params={"limit": 10000, **params})
    assert r.status_code == 200, r.text
    return sorted(f["id"] for f in r.json()["features"])


@pytest.mark.parametrize("layer, text, truth", VALID, ids=[c[1][:50] for c in VALID])
def test_filter_equals_an_independent_evaluation(client, frames, places, layer, text, truth):
    frame = frames[layer]
    box, pt = places
    rounded = (tuple(round(v, 6) for v in box), (round(pt[0], 7), round(pt[1], 7)))
    mask = pd.Series(truth(frame, *rounded), index=frame.index).fillna(False).astype(bool)
    want = sorted(frame.index[mask].tolist())
    assert ids(client, layer, filter=fill(text, places)) == want
    assert want, "the corpus expression selects something on the demo data"


def test_cql2_json_over_http(client):
    body = '{"op":"and","args":[{"op":"=","args":[{"property":"status"},"faulty"]},' \
           '{"op":"<","args":[{"property":"flow_lps"},10]}]}'
    assert ids(client, "fire_hydrants", filter=body, **{"filter-lang": "cql2-json"}) == \
        ids(client, "fire_hydrants", filter="status = 'faulty' AND flow_lps < 10")


def test_filter_combines_with_bbox_params_sort_and_paging(client, places):
    text = "status IN ('faulty','under_repair')"
    everything = ids(client, "fire_hydrants", filter=text)
    box = ",".join(map(str, places[0]))
    inside = ids(client, "fire_hydrants", filter=text, bbox=box)
    assert set(inside) < set(everything) and inside
    assert ids(client, "fire_hydrants", filter=text, status="faulty") == ids(
        client, "fire_hydrants", filter="status = 'faulty'")
    page = client.get("/collections/fire_hydrants/items", params={"filter": text, "limit": 7, "sortby": "-flow_lps"})
    doc = page.json()
    assert doc["numberMatched"] == len(everything) and doc["numberReturned"] == 7
    flows = [f["properties"]["flow_lps"] for f in doc["features"]]
    assert flows == sorted(flows, reverse=True)
    nxt = next(link["href"] for link in doc["links"] if link["rel"] == "next")
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(nxt).query)["filter"] == [text]


@pytest.mark.parametrize("params, words", [
    ({"filter": "status = "}, ["line 1, column 10"]),
    ({"filter": "colour = 'red'"}, ["'colour' is not a queryable"]),
    ({"filter": "flow_lps = 'lots'"}, ["cannot be compared"]),
    ({"filter": "flow_lps * 2 > 20"}, ["unknown or unsupported function"]),
    ({"filter": "status = 'x'", "filter-lang": "ecql"}, ["filter-lang"]),
    ({"filter-lang": "cql2-text"}, ["go with filter"]),
    ({"filter": "S_INTERSECTS(geometry, POINT(1 2))", "filter-crs": "EPSG:99999"}, ["crs"]),
])
def test_bad_filters_are_400_saying_what(client, params, words):
    r = client.get("/collections/fire_hydrants/items", params=params)
    assert r.status_code == 400, r.text
    for w in words:
        assert w.lower() in r.json()["description"].lower()


INJECTIONS = ["status = 'x'' OR ''1''=''1'", "status = 'x'; DROP TABLE fire_hydrants; --", "pg_sleep(5) = 1",
              "\"status\" = 'faulty'", "status = '\\'' OR 1=1 --'", "status = E'\\x27'", "status /* c */ = 'faulty'",
              "fire_hydrants.status = 'faulty'", "status = 'faulty' UNION SELECT 1"]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_through_filter_changes_nothing(client, text):
    before = client.get("/collections/fire_hydrants/items?limit=1").json()["numberMatched"]
    r = client.get("/collections/fire_hydrants/items", params={"filter": text, "limit": 10000})
    assert r.status_code in (200, 400)
    if r.status_code == 200:  # a harmless reading of the text: never more than the literal comparison finds
        assert r.json()["numberMatched"] <= ids(client, "fire_hydrants", filter="status = 'faulty'").__len__() or \
            r.json()["numberMatched"] == 0
    assert client.get("/collections/fire_hydrants/items?limit=1").json()["numberMatched"] == before


def test_conformance_declares_what_qgis_and_gdal_need(client):
    classes = set(client.get("/conformance").json()["conformsTo"])
    for c in ("http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
              "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
              "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text", "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2"):
        assert c in classes


def test_gdal_sends_its_where_clause_to_the_server(shared_backend, frames, tmp_path):
    log = tmp_path / "server.log"
    with running_server({**shared_backend.env, "GEO_SERVICE_READ_REQUIRES_KEY": "false"}, log=log) as base:
        got = pyogrio.read_dataframe(f"OAPIF:{base}/", layer="fire_hydrants",
                                     where="status = 'working' AND flow_lps < 10")
    f = frames["fire_hydrants"]
    assert len(got) == int(((f.status == "working") & (f.flow_lps < 10)).sum()) > 0
    assert set(got.status) == {"working"} and (got.flow_lps < 10).all()
    sent = [line for line in log.read_text(errors="replace").splitlines() if "/collections/fire_hydrants/items" in line]
    assert any("filter=" in line for line in sent), "GDAL filtered on the client instead of sending filter="


def test_owslib_passes_a_filter(shared_backend):
    from owslib.ogcapi.features import Features

    with running_server({**shared_backend.env, "GEO_SERVICE_READ_REQUIRES_KEY": "false"}) as base:
        api = Features(base)
        doc = api.collection_items("fire_hydrants", filter="status = 'unknown'", limit=10000)
    assert doc["features"] and {f["properties"]["status"] for f in doc["features"]} == {"unknown"}


def test_sortables_properties_and_skip_geometry(client):
    sortables = client.get("/collections/fire_hydrants/sortables").json()
    assert {"id", "status", "flow_lps", "last_inspected"} <= set(sortables["properties"])
    assert sortables["$id"].endswith("/collections/fire_hydrants/sortables")
    page = client.get("/collections/fire_hydrants/items", params={"limit": 3, "properties": "status",
                                                                  "skipGeometry": "true"}).json()
    assert all(f["geometry"] is None and set(f["properties"]) == {"status"} for f in page["features"])
    fid = page["features"][0]["id"]
    one = client.get(f"/collections/fire_hydrants/items/{fid}", params={"properties": "kind,status",
                                                                         "skipGeometry": "true"})
    assert one.status_code == 200 and one.json()["geometry"] is None
    assert set(one.json()["properties"]) == {"kind", "status"}
    full = client.get(f"/collections/fire_hydrants/items/{fid}")
    assert full.json()["geometry"] and one.headers["etag"] != full.headers["etag"]
    assert client.get("/collections/fire_hydrants/items", params={"skipGeometry": "maybe"}).status_code == 400


def test_assets_and_nearest_take_the_same_filter(client, frames):
    compound = int(frames["compounds"].index[0])
    everything = client.get(f"/compounds/{compound}/assets", params={"layers": "fire_hydrants", "buffer_m": 500})
    broken = client.get(f"/compounds/{compound}/assets", params={"layers": "fire_hydrants", "buffer_m": 500,
                                                                 "filter": "status <> 'working'"})
    assert broken.status_code == 200
    kept = broken.json()["layers"]["fire_hydrants"]["features"]
    assert {f["properties"]["status"] for f in kept} <= {"faulty", "under_repair", "out_of_service", "unknown"}
    assert len(kept) < everything.json()["counts"]["fire_hydrants"]
    pt = shapely.point_on_surface(frames["compounds"].geometry.iloc[0])
    near = client.get("/collections/fire_hydrants/nearest", params={"lon": pt.x, "lat": pt.y, "k": 5,
                                                                    "filter": "status = 'faulty' OR flow_lps < 5"})
    assert near.status_code == 200 and len(near.json()["features"]) == 5
    assert all(f["properties"]["status"] == "faulty"
               or (f["properties"]["flow_lps"] is not None and f["properties"]["flow_lps"] < 5)
               for f in near.json()["features"])
    bad = client.get("/collections/fire_hydrants/nearest", params={"lon": pt.x, "lat": pt.y, "filter": "nope = 1"})
    assert bad.status_code == 400 and "queryable" in bad.json()["description"]


def test_postgis_uses_its_indexes_for_a_filter_with_a_bbox(catalog):
    """EXPLAIN of an attribute + spatial CQL2 filter: the GiST index on the geometry is used."""
    from psycopg import sql

    from geo_service.store import cql
    from tests import pg
    from tests.test_store_contract import hydrants

    store = pg.throwaway_store(catalog)
    try:
        store.import_frame("fire_hydrants", hydrants(20000), mode="replace")
        with store._pool.connection() as conn:
            conn.execute("ANALYZE fire_hydrants")
        spec = catalog.get("fire_hydrants")
        node = cql.parse("status IN ('faulty','unknown') AND S_INTERSECTS(geometry, BBOX(121.42,31.12,121.43,31.13))",
                         spec)
        condition, params = cql.to_sql(node, spec)
        with store._pool.connection() as conn:
            plan = "\n".join(r[0] for r in conn.execute(
                sql.SQL("EXPLAIN SELECT id FROM fire_hydrants WHERE {}").format(condition), params))
        assert "Index" in plan and "geom" in plan, plan
        assert "Seq Scan" not in plan, plan
    finally:
        store.close()


def test_map_views_keep_what_the_filter_selects(client, frames, places):
    """The web map's filter box (issue 15 item 5): /map/data carries the same filter as /items."""
    text = "status IN ('faulty','under_repair') AND last_inspected < DATE('2024-01-01')"
    want = ids(client, "fire_hydrants", filter=text)
    minx, miny, maxx, maxy = frames["compounds"].total_bounds
    whole = f"{minx - 0.01},{miny - 0.01},{maxx + 0.01},{maxy + 0.01}"
    r = client.get("/map/data/fire_hydrants", params={"bbox": whole, "zoom": 21, "filter": text})
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["mode"] == "features" and view["filterMatched"] == len(want)
    assert sorted(f["id"] for f in view["features"]) == want
    box = ",".join(f"{v:.6f}" for v in places[0])
    part = client.get("/map/data/fire_hydrants", params={"bbox": box, "zoom": 12, "filter": text}).json()
    assert part["filterMatched"] == len(want) and 0 < part["numberMatched"] < len(want)
    plain = client.get("/map/data/fire_hydrants", params={"bbox": box, "zoom": 12}).json()
    assert "filterMatched" not in plain and plain["numberMatched"] > part["numberMatched"]
    bad = client.get("/map/data/fire_hydrants", params={"bbox": box, "zoom": 12, "filter": "colour = 'red'"})
    assert bad.status_code == 400 and "colour" in bad.json()["description"]


def test_items_as_csv_for_people(client, frames):
    text = "status = 'faulty'"
    want = ids(client, "fire_hydrants", filter=text)
    r = client.get("/collections/fire_hydrants/items", params={"filter": text, "f": "csv", "limit": 10000})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with a byte-order mark only
    table = pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig")
    assert sorted(table.iloc[:, 0].tolist()) == want
    headers = list(table.columns)
    assert len(headers) == len(set(headers))
    assert {"状态", "状态代码", "经度", "纬度"} <= set(headers)
    assert set(table["状态"]) == {"故障"} and set(table["状态代码"]) == {"faulty"}
    truth = frames["fire_hydrants"].loc[want]
    assert table.set_index(table.columns[0]).loc[want, "经度"].round(6).tolist() == truth.geometry.x.round(6).tolist()
    polygons = client.get("/collections/compounds/items", params={"f": "csv", "limit": 3})
    rows = pd.read_csv(io.BytesIO(polygons.content), encoding="utf-8-sig")
    assert len(rows) == 3 and rows["WKT"].str.startswith("POLYGON").all()
