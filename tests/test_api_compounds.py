"""The compound endpoints against a hand-built district whose answers are worked out here,
on each store kind (GeoPackage, PostGIS), then on the demo district.

Compound 1 is a 300 m x 300 m square drawn in local metres (origin at its south-west corner)
and converted to lon/lat; a working hydrant sits exactly on that corner and a faulty one at the
centre. So the nearest *working* hydrant from the centroid is 150·√2 ≈ 212.1 m away and the
farthest point of the compound is the opposite corner, 300·√2 ≈ 424.3 m from it.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient

from geo_service.api.app import create_app
from geo_service.settings import Settings
from geo_service.store.base import Filter, InvalidQuery

ORIGIN = (121.40, 31.12)
LOCAL = pyproj.CRS.from_proj4(f"+proj=aeqd +lon_0={ORIGIN[0]} +lat_0={ORIGIN[1]} +datum=WGS84 +units=m")
TO_LONLAT = pyproj.Transformer.from_crs(LOCAL, "EPSG:4326", always_xy=True)
GEOD = pyproj.Geod(ellps="WGS84")
DIAG = 300 * math.sqrt(2)


def lonlat(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(TO_LONLAT.transform(xy[:, 0], xy[:, 1])))


def pt(x, y):
    return lonlat(shapely.Point(x, y))


def ground_m(a, b) -> float:
    return GEOD.inv(a.x, a.y, b.x, b.y)[2]


def frame(rows, geoms):
    return gpd.GeoDataFrame(rows, geometry=list(geoms), crs="EPSG:4326")


# id -> (x, y, status) in local metres
HYDRANTS = {1: (0, 0, "working"),  # on compound 1's south-west corner
            2: (150, 150, "faulty"),  # its centre: must not count
            3: (150, 350, "under_repair"),  # 50 m north of it
            4: (1500, 1500, "working"),  # far away
            5: (1100, 150, "out_of_service")}  # by compound 2


@pytest.fixture
def store(make_store):
    """The hand-built district on each store kind (conftest.STORE_KINDS)."""
    s = make_store()
    s.import_frame("compounds", frame(
        {"id": [1, 2], "name": ["梅陇三村", "Lotus Garden 莲花苑"], "district": ["闵行区", "闵行区"],
         "street": ["梅陇镇", "古美路街道"], "households": [1500, 0], "parking_spaces": [200, 10]},
        [lonlat(shapely.box(0, 0, 300, 300)), lonlat(shapely.box(1000, 0, 1200, 200))]))
    s.import_frame("fire_hydrants", frame(
        {"id": list(HYDRANTS), "status": [v[2] for v in HYDRANTS.values()]},
        [pt(x, y) for x, y, _ in HYDRANTS.values()]))
    s.import_frame("waterlogging_points", frame(
        {"id": [1, 2], "status": ["open", "fixed"], "depth_cm": [20.0, 12.0]},
        [pt(100, 200), pt(380, 150)]))  # inside; 80 m east of compound 1
    s.import_frame("parking_facilities", frame(
        {"id": [1, 2, 3], "kind": ["compound", "public", "compound"], "capacity": [120, 50, 30]},
        [pt(100, 100), pt(250, 50), pt(150, -60)]))  # own car park; public lot inside; own kind 60 m south
    s.import_frame("ebike_charging_sites", frame(
        {"id": [1, 2], "ports": [20, 10], "status": ["working", "planned"]}, [pt(50, 250), pt(250, 250)]))
    return s


@pytest.fixture
def client(store):
    where = {"database_url": store.database_url} if hasattr(store, "database_url") else {
        "gpkg": store.path, "database_url": None}
    return TestClient(create_app(Settings(**where), store=store))


def assert_error(r, status: int):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert set(r.json()) >= {"code", "description"}


# ---------------------------------------------------------------------------------- assets

def test_assets_inside(client):
    r = client.get("/compounds/1/assets")
    assert r.status_code == 200
    body = r.json()
    assert body["compound"]["id"] == 1 and body["compound"]["name"] == "梅陇三村"
    assert body["compound"]["properties"]["households"] == 1500
    assert body["counts"] == {"ebike_charging_sites": 2, "fire_hydrants": 2, "parking_facilities": 2,
                              "waterlogging_points": 1, "service_facilities": 0}
    hydrants = body["layers"]["fire_hydrants"]
    assert hydrants["type"] == "FeatureCollection"
    assert sorted(f["id"] for f in hydrants["features"]) == [1, 2]  # the corner one touches: it counts
    assert {f["properties"]["status"] for f in hydrants["features"]} == {"working", "faulty"}


def test_assets_with_buffer(client):
    body = client.get("/compounds/1/assets", params={"buffer_m": 100}).json()
    assert body["buffer_m"] == 100
    assert body["counts"] == {"ebike_charging_sites": 2, "fire_hydrants": 3, "parking_facilities": 3,
                              "waterlogging_points": 2, "service_facilities": 0}
    narrow = client.get("/compounds/1/assets", params={"buffer_m": 55}).json()["counts"]
    assert narrow["fire_hydrants"] == 3 and narrow["parking_facilities"] == 2  # 50 m in, 60 m out


def test_assets_layer_subset(client):
    body = client.get("/compounds/1/assets", params={"layers": "fire_hydrants,waterlogging_points"}).json()
    assert set(body["counts"]) == set(body["layers"]) == {"fire_hydrants", "waterlogging_points"}


@pytest.mark.parametrize("params", [{"buffer_m": 2001}, {"buffer_m": -1}, {"buffer_m": "far"},
                                    {"layers": "compounds"}, {"layers": "nope"}, {"layers": ","}])
def test_assets_bad_params(client, params):
    assert_error(client.get("/compounds/1/assets", params=params), 400)


def test_missing_compound_is_404(client):
    for path in ("/compounds/99/assets", "/compounds/99/summary"):
        r = client.get(path)
        assert_error(r, 404)
        assert r.json()["code"] == "NotFound"
    assert_error(client.get("/compounds/0/summary"), 400)
    assert_error(client.get("/compounds/abc/summary"), 400)


# ---------------------------------------------------------------------------------- summary

def test_summary(client):
    r = client.get("/compounds/1/summary")
    assert r.status_code == 200
    s = r.json()
    assert s["compound"]["households"] == 1500
    assert s["compound"]["area_m2"] == pytest.approx(90_000, rel=1e-3)
    assert ground_m(shapely.Point(*s["compound"]["centroid"]), pt(150, 150)) < 0.5
    assert s["counts"]["fire_hydrants"] == 2
    assert s["by_status"]["fire_hydrants"] == {"working": 1, "faulty": 1, "under_repair": 0, "out_of_service": 0,
                                               "unknown": 0}
    assert s["by_status"]["waterlogging_points"] == {"open": 1, "in_progress": 0, "fixed": 0}
    assert s["by_status"]["ebike_charging_sites"]["planned"] == 1
    assert "parking_facilities" not in s["by_status"]  # no status field
    assert s["per_100_households"] == {"ebike_charging_sites": round(200 / 1500, 2),
                                       "fire_hydrants": round(200 / 1500, 2),
                                       "parking_facilities": round(200 / 1500, 2),
                                       "waterlogging_points": round(100 / 1500, 2), "service_facilities": 0.0}
    # 200 spaces of the compound + its own car park (120); the public lot and the one across the road don't count
    assert s["parking"] == {"compound_spaces": 200, "facilities": 1, "facilities_capacity": 120, "supply": 200,
                            "per_household": round(200 / 1500, 3)}

    h = s["hydrants"]
    assert h["radius_m"] == 150 and h["status_counted"] == "working"
    assert h["nearest"]["id"] == 1  # the faulty one at the centre (0 m) does not count
    assert h["nearest"]["distance_m"] == pytest.approx(150 * math.sqrt(2), abs=0.5)
    far = h["farthest_point"]
    assert far["distance_m"] == pytest.approx(DIAG, abs=1.0)
    assert ground_m(shapely.Point(far["lon"], far["lat"]), pt(300, 300)) < 1.0
    assert h["fully_covered"] is False
    assert h["covered_share"] == pytest.approx(math.pi / 4 * 150**2 / 300**2, rel=0.01)


def test_summary_radius_override(client):
    h = client.get("/compounds/1/summary", params={"radius_m": 430}).json()["hydrants"]
    assert h["radius_m"] == 430 and h["fully_covered"] is True and h["covered_share"] == pytest.approx(1, abs=1e-3)
    h = client.get("/compounds/1/summary", params={"radius_m": 420}).json()["hydrants"]
    assert h["fully_covered"] is False


def test_summary_buffer_counts(client):
    s = client.get("/compounds/1/summary", params={"buffer_m": 100}).json()
    assert s["counts"]["fire_hydrants"] == 3 and s["by_status"]["fire_hydrants"]["under_repair"] == 1
    assert s["parking"]["supply"] == 200  # parking supply is what lies inside, whatever the buffer


def test_summary_without_households_or_working_hydrants_nearby(client, store):
    s = client.get("/compounds/2/summary").json()
    assert set(s["per_100_households"].values()) == {None}
    assert s["parking"]["per_household"] is None
    assert s["counts"]["fire_hydrants"] == 1 and s["by_status"]["fire_hydrants"]["out_of_service"] == 1
    # nearest working: hydrant 1 at (0, 0) or 4 at (1500, 1500); from the centre (1100, 100)
    d1, d4 = math.hypot(1100, 100), math.hypot(400, 1400)
    assert s["hydrants"]["nearest"]["id"] == (1 if d1 < d4 else 4)
    assert s["hydrants"]["nearest"]["distance_m"] == pytest.approx(min(d1, d4), rel=1e-3)
    # worst corner over both working hydrants: (1200, 200), 1216.6 m from hydrant 1; hydrant 4 is
    # 1334 m from the compound, farther than that, so it is never the nearest and is not considered
    corners = np.array([[1000, 0], [1200, 0], [1000, 200], [1200, 200]])
    worst = np.min(np.hypot(corners[:, None, 0] - [0, 1500], corners[:, None, 1] - [0, 1500]), 1).max()
    assert worst == pytest.approx(math.hypot(1200, 200))
    assert s["hydrants"]["farthest_point"]["distance_m"] == pytest.approx(worst, rel=1e-3)
    assert s["hydrants"]["considered"] == 1

    for fid in (1, 4):
        store.update("fire_hydrants", fid, {"status": "faulty"})
    h = client.get("/compounds/2/summary").json()["hydrants"]
    assert h["nearest"] is None and h["farthest_point"] is None
    assert h["fully_covered"] is False and h["covered_share"] == 0 and h["considered"] == 0


@pytest.mark.parametrize("params", [{"radius_m": 0}, {"radius_m": 5000}, {"buffer_m": 3000}, {"radius_m": "x"}])
def test_summary_bad_params(client, params):
    assert_error(client.get("/compounds/1/summary", params=params), 400)


# ---------------------------------------------------------------------------------- nearest

def brute_force(store, layer, point, **eq):
    """(id, metres) of every feature, nearest first, by geodesic distance (independent of the service)."""
    feats = store.frame(layer)
    for k, v in eq.items():
        feats = feats[feats[k] == v]
    out = [(int(i), GEOD.inv(point.x, point.y, g.x, g.y)[2]) for i, g in zip(feats.index, feats.geometry, strict=True)]
    return sorted(out, key=lambda t: (t[1], t[0]))


@pytest.mark.parametrize("xy", [(150, 150), (-200, 40), (900, 900), (1300, 100)])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_nearest_matches_brute_force(client, store, xy, k):
    p = pt(*xy)
    r = client.get("/collections/fire_hydrants/nearest", params={"lon": p.x, "lat": p.y, "k": k})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    expected = brute_force(store, "fire_hydrants", p)[:k]
    assert body["numberReturned"] == k
    assert [f["id"] for f in body["features"]] == [i for i, _ in expected]
    for f, (_, d) in zip(body["features"], expected, strict=True):
        assert f["properties"]["distance_m"] == pytest.approx(d, rel=5e-4, abs=0.05)
        assert "status" in f["properties"]


def test_nearest_max_m_and_filters(client, store):
    c = pt(150, 150)
    near = client.get("/collections/fire_hydrants/nearest", params={"lon": c.x, "lat": c.y, "k": 5, "max_m": 210})
    assert [f["id"] for f in near.json()["features"]] == [2, 3]  # 0 m and 200 m; the corner is 212 m
    working = client.get("/collections/fire_hydrants/nearest",
                         params={"lon": c.x, "lat": c.y, "k": 5, "status": "working"}).json()
    assert [f["id"] for f in working["features"]] == [i for i, _ in brute_force(store, "fire_hydrants", c,
                                                                                status="working")]
    assert working["features"][0]["properties"]["distance_m"] == pytest.approx(150 * math.sqrt(2), abs=0.5)
    assert client.get("/collections/fire_hydrants/nearest",
                      params={"lon": c.x, "lat": c.y, "max_m": 0}).json()["features"][0]["id"] == 2
    everything = client.get("/collections/compounds/nearest", params={"lon": c.x, "lat": c.y, "k": 100}).json()
    assert [f["id"] for f in everything["features"]] == [1, 2]  # any collection; inside: 0 m
    assert everything["features"][0]["properties"]["distance_m"] == 0


@pytest.mark.parametrize("params", [{"k": 0}, {"k": 101}, {"lat": 91}, {"lat": -90.5}, {"lon": 181}, {"lon": "abc"},
                                    {"lon": "nan"}, {"max_m": -1}, {"max_m": 60_000}, {"colour": "red"}])
def test_nearest_bad_params(client, params):
    assert_error(client.get("/collections/fire_hydrants/nearest", params={"lon": 121.4, "lat": 31.12, **params}), 400)


def test_nearest_needs_lon_lat_and_a_collection(client):
    assert_error(client.get("/collections/fire_hydrants/nearest", params={"lat": 31.12}), 400)
    assert_error(client.get("/collections/nope/nearest", params={"lon": 121.4, "lat": 31.12}), 404)


def test_store_nearest_grows_its_radius(store):
    c = pt(150, 150)
    far = store.nearest("fire_hydrants", c, k=5)
    assert list(far.features.index) == [i for i, _ in brute_force(store, "fire_hydrants", c)]
    assert far.features["distance_m"].is_monotonic_increasing
    assert far.number_matched == 5
    one = store.nearest("fire_hydrants", (c.x, c.y), k=1, filters=[Filter("status", "eq", "working")])
    assert list(one.features.index) == [1]
    assert store.nearest("fire_hydrants", c, k=3, max_m=1).number_matched == 1
    with pytest.raises(InvalidQuery):
        store.nearest("fire_hydrants", c, max_m=1e6)
    with pytest.raises(InvalidQuery):
        store.nearest("fire_hydrants", c, k=0)
    with pytest.raises(InvalidQuery):
        store.nearest("fire_hydrants", shapely.box(0, 0, 1, 1))


# ---------------------------------------------------------------------------------- search

def test_search_by_chinese_substring(client):
    r = client.get("/compounds/search", params={"q": "梅陇"})
    assert r.status_code == 200
    body = r.json()
    assert [(h["id"], h["name"], h["district"], h["street"], h["match"]) for h in body["results"]] == [
        (1, "梅陇三村", "闵行区", "梅陇镇", "name")]
    minx, miny, maxx, maxy = body["results"][0]["bbox"]
    sw, ne = pt(0, 0), pt(300, 300)
    assert (minx, miny) == pytest.approx((sw.x, sw.y), abs=1e-6)
    assert (maxx, maxy) == pytest.approx((ne.x, ne.y), abs=1e-6)
    assert [h["id"] for h in client.get("/compounds/search", params={"q": "莲花"}).json()["results"]] == [2]


def test_search_latin_is_case_insensitive(client):
    for q in ("lotus", "LOTUS GARDEN", "  garden "):
        assert [h["id"] for h in client.get("/compounds/search", params={"q": q}).json()["results"]] == [2]


def test_search_by_id(client, store):
    hits = client.get("/compounds/search", params={"q": "2"}).json()["results"]
    assert hits[0]["id"] == 2 and hits[0]["match"] == "id"
    store.create("compounds", {"name": "二十号小区", "households": 10}, lonlat(shapely.box(0, 2000, 100, 2100)),
                 feature_id=20)
    store.create("compounds", {"name": "编号一二", "households": 10}, lonlat(shapely.box(0, 3000, 100, 3100)),
                 feature_id=12)
    assert [h["id"] for h in client.get("/compounds/search", params={"q": "2"}).json()["results"]] == [2, 20]
    assert [h["id"] for h in client.get("/compounds/search", params={"q": "1"}).json()["results"]] == [1, 12]
    assert client.get("/compounds/search", params={"q": "7"}).json()["results"] == []


def test_search_limit_and_order(client, store):
    for i, name in enumerate(["梅陇", "梅陇新村", "新梅陇苑"]):
        y = 5000 + 200 * i
        store.create("compounds", {"name": name, "households": 10}, lonlat(shapely.box(0, y, 100, y + 100)))
    names = [h["name"] for h in client.get("/compounds/search", params={"q": "梅陇"}).json()["results"]]
    assert names == ["梅陇", "梅陇三村", "梅陇新村", "新梅陇苑"]  # exact, then prefix (shorter first), then inside
    limited = client.get("/compounds/search", params={"q": "梅陇", "limit": 2}).json()
    assert limited["numberReturned"] == 2 and len(limited["results"]) == 2


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}, {"q": "x", "limit": 0}, {"q": "x", "limit": 101},
                                    {"q": "x" * 101}])
def test_search_bad_params(client, params):
    assert_error(client.get("/compounds/search", params=params), 400)


def test_openapi_documents_the_endpoints(client):
    paths = client.get("/api").json()["paths"]
    for path in ("/compounds/search", "/compounds/{compound_id}/assets", "/compounds/{compound_id}/summary",
                 "/collections/{collection_id}/nearest"):
        op = paths[path]["get"]
        assert op["summary"]
        assert all(p.get("description") for p in op["parameters"])
        assert "schema" in next(iter(op["responses"]["200"]["content"].values()))
        assert "400" in op["responses"]


# ---------------------------------------------------------------------------------- the demo district

@pytest.fixture(scope="module")
def demo(shared_backend):
    """The demo district on each store kind (the tests only read)."""
    s = shared_backend.open_store()
    return s, TestClient(create_app(shared_backend.settings(), store=s))


def test_demo_summaries_agree_with_brute_force(demo):
    """On real-looking data: the exact farthest point beats a dense sample by at most the sampling step."""
    from geo_service.crs import from_wgs84, metric_crs

    store, client = demo
    compounds = store.frame("compounds")
    working = store.frame("fire_hydrants")
    working = working[working["status"] == "working"]
    for fid in compounds.index[:: max(1, len(compounds) // 6)][:6]:
        s = client.get(f"/compounds/{fid}/summary").json()
        geom = compounds.geometry[fid]
        crs = metric_crs(geom.bounds)
        region = from_wgs84(np.array([geom], dtype=object), crs)[0]
        sites = shapely.get_coordinates(from_wgs84(working.geometry.values, crs))
        step = 4.0
        minx, miny, maxx, maxy = region.bounds
        gx, gy = np.meshgrid(np.arange(minx, maxx, step), np.arange(miny, maxy, step))
        grid = np.column_stack([gx.ravel(), gy.ravel()])
        samples = np.vstack([grid[shapely.contains_xy(region, grid[:, 0], grid[:, 1])],
                             shapely.get_coordinates(shapely.segmentize(region.boundary, step / 2))])
        tree = shapely.STRtree(shapely.points(sites))
        _, d = tree.query_nearest(shapely.points(samples), return_distance=True, all_matches=False)
        far = s["hydrants"]["farthest_point"]["distance_m"]
        assert d.max() - 0.01 <= far <= d.max() + step
        assert s["hydrants"]["fully_covered"] == (far <= 150)
        if s["hydrants"]["fully_covered"]:
            assert s["hydrants"]["covered_share"] == pytest.approx(1, abs=2e-3)
        assert sum(s["counts"].values()) >= 0 and s["compound"]["id"] == fid


def test_demo_search_and_assets(demo):
    store, client = demo
    hits = client.get("/compounds/search", params={"q": "梅陇", "limit": 100}).json()["results"]
    names = store.frame("compounds")["name"]
    assert len(hits) == min(100, int(names.str.contains("梅陇").sum())) > 0
    assert all("梅陇" in h["name"] for h in hits)
    fid = hits[0]["id"]
    inside = client.get(f"/compounds/{fid}/assets").json()
    wide = client.get(f"/compounds/{fid}/assets", params={"buffer_m": 200}).json()
    for layer, n in inside["counts"].items():
        assert n <= wide["counts"][layer]
        assert len(inside["layers"][layer]["features"]) == n
