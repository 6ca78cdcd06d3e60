"""The FeatureStore contract. Every store kind in conftest.STORE_KINDS must pass all of it.

Expected answers are computed independently here with shapely/numpy brute force.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from shapely.geometry import Point, box

from geo_service.catalog import load_catalog
from geo_service.store.base import (
    Conflict,
    Filter,
    InvalidFeature,
    InvalidQuery,
    NotFound,
    PreconditionFailed,
    Query,
    feature_etag,
)

STATUSES = ["working", "faulty", "under_repair", "out_of_service"]


def hydrants(n=2000, seed=1, extent=(121.40, 31.10, 121.50, 31.20)) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(extent[0], extent[2], n)
    y = rng.uniform(extent[1], extent[3], n)
    days = rng.integers(0, 2000, n)
    return gpd.GeoDataFrame({
        "id": pd.array(np.arange(1, n + 1), dtype="Int64"),
        "kind": rng.choice(["above_ground", "underground", "wall"], n),
        "status": rng.choice(STATUSES, n, p=[0.7, 0.1, 0.1, 0.1]),
        "last_inspected": [(np.datetime64("2019-01-01") + int(d)).astype(str) for d in days],
        "flow_lps": np.where(rng.random(n) < 0.2, np.nan, rng.uniform(10, 15, n)),
    }, geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")


def compounds(n=60, seed=2) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    cx = 121.40 + (np.arange(n) % 10) * 0.01
    cy = 31.10 + (np.arange(n) // 10) * 0.01
    w = rng.uniform(0.002, 0.004, n)
    geoms = [box(x, y, x + a, y + a) for x, y, a in zip(cx, cy, w, strict=True)]
    return gpd.GeoDataFrame({
        "id": pd.array(np.arange(1, n + 1), dtype="Int64"),
        "name": [f"梅陇{i}村" for i in range(n)],
        "district": "闵行区", "street": rng.choice(["梅陇镇", "古美路街道"], n),
        "build_year": pd.array(rng.integers(1980, 2020, n), dtype="Int64"),
        "households": pd.array(rng.integers(100, 3000, n), dtype="Int64"),
    }, geometry=geoms, crs="EPSG:4326")


@pytest.fixture
def loaded(make_store):
    store = make_store()
    store.import_frame("fire_hydrants", hydrants(), mode="replace")
    store.import_frame("compounds", compounds(), mode="replace")
    return store


def brute_ids(frame, mask) -> list[int]:
    return sorted(frame["id"][mask].astype(int).tolist())


def test_empty_store_has_every_catalog_layer(make_store, catalog):
    store = make_store()
    for spec in catalog:
        assert store.count(spec.id) == 0
        assert store.extent(spec.id) is None


def test_bbox_query_matches_brute_force(loaded):
    src = hydrants()
    rng = np.random.default_rng(5)
    for _ in range(25):
        x, y = rng.uniform(121.40, 121.49), rng.uniform(31.10, 31.19)
        bb = (x, y, x + rng.uniform(0.001, 0.02), y + rng.uniform(0.001, 0.02))
        res = loaded.query("fire_hydrants", Query(bbox=bb))
        want = brute_ids(src, shapely.intersects(src.geometry.values, box(*bb)))
        assert sorted(res.features.index.tolist()) == want
        assert res.number_matched == len(want)


def test_bbox_on_polygons_is_exact_not_envelope(loaded):
    # A bbox that touches only the corner of a compound's envelope, not the polygon, must not match.
    store = loaded
    tri = shapely.Polygon([(121.60, 31.30), (121.61, 31.30), (121.60, 31.31)])
    fid = store.create("compounds", {"name": "三角村", "households": 10}, tri)
    hit = store.query("compounds", Query(bbox=(121.607, 31.307, 121.62, 31.32)))
    assert fid not in hit.features.index
    hit = store.query("compounds", Query(bbox=(121.601, 31.301, 121.602, 31.302)))
    assert hit.features.index.tolist() == [fid]


def test_degenerate_bbox_is_the_point_or_line_it_is(loaded):
    """A zero-width bbox (a point bbox, as a client clicking a map sends) finds what lies on it."""
    store = loaded
    frame = store.frame("fire_hydrants")
    p, pid = frame.geometry.iloc[7], frame.index[7]
    assert store.query("fire_hydrants", Query(bbox=(p.x, p.y, p.x, p.y))).features.index.tolist() == [pid]
    assert pid in store.query("fire_hydrants", Query(bbox=(p.x, p.y - 1e-3, p.x, p.y + 1e-3))).features.index
    tri = shapely.Polygon([(121.60, 31.30), (121.61, 31.30), (121.60, 31.31)])
    fid = store.create("compounds", {"name": "三角村", "households": 10}, tri)
    for bb in ((121.602, 31.302, 121.602, 31.302), (121.602, 31.29, 121.602, 31.32), (121.59, 31.302, 121.62, 31.302)):
        assert store.query("compounds", Query(bbox=bb)).features.index.tolist() == [fid], bb
    assert store.query("compounds", Query(bbox=(121.609, 31.309, 121.609, 31.309))).features.empty


@pytest.mark.parametrize("predicate", ["intersects", "within", "contains"])
def test_geometry_predicates(loaded, predicate):
    src = compounds()
    area = box(121.405, 31.105, 121.445, 31.135)
    probe = Point(121.4011, 31.1011)
    geom = probe if predicate == "contains" else area
    res = loaded.query("compounds", Query(geometry=geom, predicate=predicate))
    fn = {"intersects": shapely.intersects, "within": shapely.within, "contains": shapely.contains}[predicate]
    want = brute_ids(src, fn(src.geometry.values, geom))
    assert sorted(res.features.index) == want and want


def test_within_distance_in_metres(loaded):
    src = hydrants()
    centre = Point(121.45, 31.15)
    utm = pyproj.Transformer.from_crs(4326, 32651, always_xy=True)
    x, y = utm.transform(src.geometry.x.values, src.geometry.y.values)
    cx, cy = utm.transform(centre.x, centre.y)
    d = np.hypot(x - cx, y - cy)
    for radius in (50, 150, 500):
        res = loaded.query("fire_hydrants", Query(geometry=centre, predicate="dwithin", distance_m=radius))
        assert sorted(res.features.index) == brute_ids(src, d <= radius)


def test_attribute_filters_sort_and_paging(loaded):
    src = hydrants()
    q = Query(filters=[Filter("status", "eq", "faulty")])
    assert loaded.count("fire_hydrants", q) == int((src.status == "faulty").sum())
    # aliases apply to filter values as they do to imported values
    q_alias = Query(filters=[Filter("status", "eq", "damaged")])
    assert loaded.count("fire_hydrants", q_alias) == int((src.status == "faulty").sum())
    q = Query(filters=[Filter("status", "in", ["faulty", "out_of_service"]), Filter("flow_lps", "ge", 12)])
    want = brute_ids(src, src.status.isin(["faulty", "out_of_service"]) & (src.flow_lps >= 12))
    assert sorted(loaded.query("fire_hydrants", q).features.index) == want
    q = Query(filters=[Filter("flow_lps", "eq", None)])
    assert loaded.count("fire_hydrants", q) == int(src.flow_lps.isna().sum())
    q = Query(filters=[Filter("last_inspected", "lt", "2020-01-01")])
    assert loaded.count("fire_hydrants", q) == int((src.last_inspected < "2020-01-01").sum())

    # paging: id order by default, pages are disjoint and complete
    seen = []
    for offset in range(0, 2000, 300):
        page = loaded.query("fire_hydrants", Query(limit=300, offset=offset))
        assert page.number_matched == 2000
        seen += page.features.index.tolist()
    assert seen == list(range(1, 2001))

    res = loaded.query("fire_hydrants", Query(sort=[("last_inspected", False)], limit=50))
    dates = res.features.last_inspected.tolist()
    assert dates == sorted(dates, reverse=True) and dates[0] == src.last_inspected.max()
    res = loaded.query("fire_hydrants", Query(properties=["status"], limit=3))
    assert list(res.features.columns) == ["status", "geometry"]


def test_like_filter_for_names(loaded):
    res = loaded.query("compounds", Query(filters=[Filter("name", "like", "梅陇1")]))
    assert sorted(res.features.name) == sorted(n for n in compounds().name if "梅陇1" in n)


@pytest.mark.parametrize("query,msg", [
    (Query(filters=[Filter("colour", "eq", "x")]), "unknown field 'colour'"),
    (Query(filters=[Filter("flow_lps", "gt", "abc")]), "flow_lps: 'abc' is not a valid number"),
    (Query(filters=[Filter("status", "regex", "x")]), "unknown filter operator"),
    (Query(sort=[("nope", True)]), "cannot sort by unknown field"),
    (Query(properties=["nope"]), "unknown properties"),
    (Query(bbox=(2, 2, 1, 1)), "min must not exceed max"),
    (Query(bbox=(float("nan"), 0, 1, 1)), "finite"),
    (Query(geometry=Point(0, 0), predicate="touches"), "unknown spatial predicate"),
    (Query(geometry=Point(0, 0), predicate="dwithin"), "distance_m"),
])
def test_bad_queries_are_invalid_query(loaded, query, msg):
    with pytest.raises(InvalidQuery, match=msg):
        loaded.query("fire_hydrants", query)


def test_get_and_not_found(loaded):
    f = loaded.get("fire_hydrants", 7)
    src = hydrants().iloc[6]
    assert f["id"] == 7 and f["properties"]["status"] == src.status
    assert f["geometry"].equals(src.geometry)
    with pytest.raises(NotFound):
        loaded.get("fire_hydrants", 999_999)
    with pytest.raises(NotFound):
        loaded.query("no_such_layer")


def test_create_replace_update_delete_and_versions(loaded):
    s = loaded
    v0 = s.version("fire_hydrants")
    fid = s.create("fire_hydrants", {"status": "ok", "kind": "pillar"}, {"type": "Point",
                                                                           "coordinates": [121.455, 31.155]})
    v1 = s.version("fire_hydrants")
    assert v1 != v0
    got = s.get("fire_hydrants", fid)
    assert got["properties"]["status"] == "working" and got["properties"]["kind"] == "above_ground"
    assert fid in s.query("fire_hydrants", Query(bbox=(121.454, 31.154, 121.456, 31.156))).features.index

    s.update("fire_hydrants", fid, {"status": "faulty"})
    assert s.get("fire_hydrants", fid)["properties"] == {**got["properties"], "status": "faulty"}
    s.update("fire_hydrants", fid, geometry=Point(121.30, 31.30))
    assert fid not in s.query("fire_hydrants", Query(bbox=(121.454, 31.154, 121.456, 31.156))).features.index
    assert fid in s.query("fire_hydrants", Query(bbox=(121.29, 31.29, 121.31, 31.31))).features.index

    s.replace("fire_hydrants", fid, {"status": "working"}, Point(121.31, 31.31))
    assert s.get("fire_hydrants", fid)["properties"]["kind"] is None  # replace clears what is not given
    assert s.version("fire_hydrants") not in (v0, v1)

    s.delete("fire_hydrants", fid)
    with pytest.raises(NotFound):
        s.get("fire_hydrants", fid)
    assert s.count("fire_hydrants") == 2000
    assert fid not in s.query("fire_hydrants", Query(bbox=(121.29, 31.29, 121.32, 31.32))).features.index
    with pytest.raises(NotFound):
        s.delete("fire_hydrants", fid)
    with pytest.raises(NotFound):
        s.update("fire_hydrants", fid, {"status": "faulty"})
    with pytest.raises(Conflict):
        s.create("fire_hydrants", {"status": "working"}, Point(121.4, 31.1), feature_id=5)
    # a new feature never reuses a deleted id (audit trails refer to ids)
    assert s.create("fire_hydrants", {"status": "working"}, Point(121.4, 31.1)) > fid


@pytest.mark.parametrize("props,geom,field,reason", [
    ({"status": "exploded"}, Point(121.4, 31.1), "status", "not one of"),
    ({}, Point(121.4, 31.1), "status", "required"),
    ({"status": "working", "flow_lps": "much"}, Point(121.4, 31.1), "flow_lps", "number"),
    ({"status": "working", "colour": "red"}, Point(121.4, 31.1), "colour", "not a field"),
    ({"status": "working"}, shapely.LineString([(121.4, 31.1), (121.5, 31.2)]), "geometry", "LineString"),
    ({"status": "working"}, None, "geometry", "required"),
    ({"status": "working"}, {"type": "Point", "coordinates": "x"}, "geometry", "GeoJSON"),
    ({"status": "working"}, Point(200, 31.1), "geometry", "range"),
])
def test_writes_are_validated_like_imports(loaded, props, geom, field, reason):
    before = loaded.version("fire_hydrants")
    with pytest.raises(InvalidFeature) as e:
        loaded.create("fire_hydrants", props, geom)
    assert any(f == field and reason in r for f, r in e.value.errors), e.value.errors
    assert loaded.version("fire_hydrants") == before


def test_partial_update_cannot_empty_a_required_field(loaded):
    with pytest.raises(InvalidFeature, match="status"):
        loaded.update("fire_hydrants", 3, {"status": None})


def test_import_append_replace_and_conflict(make_store):
    s = make_store()
    s.import_frame("fire_hydrants", hydrants(100), mode="append")
    fresh = hydrants(50, seed=9)
    fresh["id"] = pd.array([pd.NA] * 50, dtype="Int64")
    s.import_frame("fire_hydrants", fresh, mode="append")
    assert s.count("fire_hydrants") == 150
    assert sorted(s.query("fire_hydrants").features.index) == list(range(1, 151))
    with pytest.raises(Conflict, match="already exist: 1, 2, 3"):
        s.import_frame("fire_hydrants", hydrants(10), mode="append")
    assert s.count("fire_hydrants") == 150
    summary = s.import_frame("fire_hydrants", hydrants(10), mode="replace")
    assert (summary.inserted, summary.deleted) == (10, 150)
    assert s.count("fire_hydrants") == 10


def test_another_process_write_is_seen_without_restart(make_store, tmp_path):
    """Another process (a second worker, a CLI import) opens the same store from its settings and writes."""
    store = make_store()
    store.import_frame("fire_hydrants", hydrants(100), mode="replace")
    v = store.version("fire_hydrants")
    if getattr(store, "database_url", None):
        env = {"GEO_SERVICE_DATABASE_URL": store.database_url}
    else:
        env = {"GEO_SERVICE_GPKG": str(store.path), "GEO_SERVICE_DATABASE_URL": ""}
    env = {**os.environ, **env, "GEO_SERVICE_LAYERS": str(store.catalog.folder)}
    script = textwrap.dedent("""
        from shapely.geometry import Point
        from geo_service.settings import Settings
        from geo_service.store import open_store
        s = open_store(Settings())
        s.create("fire_hydrants", {"status": "faulty"}, Point(121.7, 31.4))
        s.delete("fire_hydrants", 1)
        s.close()
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, env=env)
    assert store.version("fire_hydrants") != v
    assert store.count("fire_hydrants") == 100
    hit = store.query("fire_hydrants", Query(bbox=(121.69, 31.39, 121.71, 31.41)))
    assert hit.features.status.tolist() == ["faulty"]
    with pytest.raises(NotFound):
        store.get("fire_hydrants", 1)


def test_a_sixth_layer_is_one_yaml_file(make_store, layers_copy):
    (layers_copy / "elevators.yaml").write_text(textwrap.dedent("""
        title: {zh: 电梯, en: Elevators}
        geometry: Point
        fields:
          installed: {type: integer, required: true, min: 1950, max: 2100, title: {zh: 安装年份, en: Installed}}
          status:
            type: string
            values: {ok: {zh: 正常, en: OK}, overdue: {zh: 超期未检, en: Inspection overdue}}
        style: {color: "#795548"}
    """), encoding="utf-8")
    cat = load_catalog(layers_copy)
    store = make_store(cat)
    fid = store.create("elevators", {"installed": 1998, "status": "overdue"}, Point(121.4, 31.1))
    res = store.query("elevators", Query(filters=[Filter("installed", "lt", 2005)]))
    assert res.features.index.tolist() == [fid] and res.features.status.iloc[0] == "overdue"
    with pytest.raises(InvalidFeature, match="installed"):
        store.create("elevators", {"installed": 1800}, Point(121.4, 31.1))


def test_audit_history_and_if_match(loaded):
    s = loaded
    fid = s.create("fire_hydrants", {"status": "working"}, Point(121.45, 31.15), actor="engineer-wang")
    cur = s.get("fire_hydrants", fid)
    tag = feature_etag(cur["properties"], cur["geometry"])
    s.update("fire_hydrants", fid, {"status": "faulty"}, actor="engineer-li", if_match=tag)
    with pytest.raises(PreconditionFailed, match="changed by someone else"):
        s.update("fire_hydrants", fid, {"status": "working"}, actor="engineer-wang", if_match=tag)
    with pytest.raises(PreconditionFailed):
        s.delete("fire_hydrants", fid, if_match=tag)
    assert s.get("fire_hydrants", fid)["properties"]["status"] == "faulty"
    now = s.get("fire_hydrants", fid)
    s.delete("fire_hydrants", fid, actor="admin", if_match=feature_etag(now["properties"], now["geometry"]))
    h = s.history("fire_hydrants", fid)
    assert [(r["action"], r["actor"]) for r in h] == [("create", "engineer-wang"), ("update", "engineer-li"),
                                                      ("delete", "admin")]
    assert h[0]["before"] is None and h[0]["after"]["properties"]["status"] == "working"
    assert h[1]["before"]["properties"]["status"] == "working" and h[1]["after"]["properties"]["status"] == "faulty"
    assert h[1]["after"]["geometry"] == {"type": "Point", "coordinates": [121.45, 31.15]}
    assert h[2]["after"] is None and all(r["at"].endswith("Z") for r in h)
    assert s.history("fire_hydrants", 1) == []  # imported rows have no edit history


@pytest.mark.parametrize("text", ["a\x00b", "bad \ud800 surrogate"])
def test_text_no_store_can_keep_is_refused(loaded, text):
    with pytest.raises(InvalidFeature, match="kind"):
        loaded.create("fire_hydrants", {"status": "working", "kind": text}, Point(121.4, 31.1))


# ---------------------------------------------------------------- encoded output: GeoJSON pages and tiles

def test_geojson_page_is_the_query_encoded(loaded):
    import orjson

    from geo_service.crs import EPSG_URI, from_crs84

    q = Query(filters=[Filter("status", "eq", "faulty")], sort=[("id", False)], limit=25, offset=5)
    page = loaded.geojson_page("fire_hydrants", q)
    result = loaded.query("fire_hydrants", q)
    assert page.number_matched == result.number_matched and page.number_returned == 25
    feats = [orjson.loads(f) for f in page.features]
    assert [f["id"] for f in feats] == result.features.index.tolist()
    for f in feats:
        row = result.features.loc[f["id"]]
        assert shapely.geometry.shape(f["geometry"]).equals_exact(row.geometry, 1e-8)
        assert set(f["properties"]) == set(loaded.catalog.get("fire_hydrants").field_names)
        assert f["properties"]["status"] == "faulty"
    again = loaded.geojson_page("fire_hydrants", q)  # the embedded store's byte cache answers the same
    assert again == page
    body = orjson.loads(page.collection({"numberMatched": page.number_matched}))
    assert body["type"] == "FeatureCollection" and body["features"] == feats
    assert body["numberMatched"] == result.number_matched
    # a property selection, and another CRS (authority axis order: EPSG:4490 is lat/lon)
    some = loaded.geojson_page("fire_hydrants", Query(ids=[1, 2], properties=["kind"]))
    assert [sorted(orjson.loads(f)["properties"]) for f in some.features] == [["kind"], ["kind"]]
    uri = EPSG_URI.format(code=4490)
    latlon = loaded.geojson_page("fire_hydrants", Query(ids=[1]), crs=uri)
    expected = from_crs84(uri)(np.array([loaded.get("fire_hydrants", 1)["geometry"]], dtype=object))[0]
    got = shapely.geometry.shape(orjson.loads(latlon.features[0])["geometry"])
    assert got.distance(expected) < 1e-7 and got.y > 100  # y holds the longitude in lat/lon order
    loaded.update("fire_hydrants", 1, {"status": "working"})
    assert orjson.loads(loaded.geojson_page("fire_hydrants", Query(ids=[1])).features[0])["properties"][
        "status"] == "working"  # an edit is seen at once (the cache is keyed by the layer version)


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * n)


def _decoded(store, layer: str, z: int, x: int, y: int) -> dict[int, dict]:
    mvt = pytest.importorskip("mapbox_vector_tile")
    body = store.tile(layer, z, x, y)
    if not body:
        return {}
    doc = mvt.decode(body, default_options={"y_coord_down": True})
    assert list(doc) == [layer] and doc[layer]["extent"] == 4096
    return {f["id"]: f for f in doc[layer]["features"]}


def test_tiles_hold_the_features_of_the_tile(loaded):
    from geo_service.crs import lonlat_bounds

    z = 14
    x, y = _tile_xy(121.45, 31.15, z)
    got = _decoded(loaded, "fire_hydrants", z, x, y)
    inside = loaded.query("fire_hydrants", Query(bbox=lonlat_bounds(z, x, y))).features
    assert set(inside.index) <= set(got) and len(got) <= len(inside) + 40  # + the 64-unit buffer's
    fid = int(inside.index[0])
    props = got[fid]["properties"]
    row = loaded.get("fire_hydrants", fid)["properties"]
    assert props == {k: v for k, v in row.items() if v is not None}  # missing values carry no tag
    assert _decoded(loaded, "fire_hydrants", z, 0, 0) == {}  # nothing there: an empty tile
    loaded.delete("fire_hydrants", fid)
    assert fid not in _decoded(loaded, "fire_hydrants", z, x, y)  # edits are seen at once
    with pytest.raises(InvalidQuery, match="outside the tile matrix"):
        loaded.tile("fire_hydrants", 3, 8, 0)
    with pytest.raises(NotFound):
        loaded.tile("nope", 14, x, y)


def test_a_quick_tile_is_the_tile_or_nothing(loaded, monkeypatch):
    """quick_tile (what the API answers on the event loop) never differs from tile(): the same bytes, or
    None where the store would have to wait or cut a lot; and never an old version after an edit."""
    from geo_service.store import geopackage

    z = 14
    x, y = _tile_xy(121.45, 31.15, z)
    if not loaded.reads_in_memory:  # a store that waits on a server leaves every tile to tile()
        assert loaded.quick_tile("fire_hydrants", z, x, y) is None
        return
    assert loaded.quick_tile("fire_hydrants", z, x, y) is None  # the layer is not prepared for tiles yet
    first = loaded.tile("fire_hydrants", z, x - 1, y)
    assert first and loaded.quick_tile("fire_hydrants", z, x - 1, y) == first  # held ready
    quick = loaded.quick_tile("fire_hydrants", z, x, y)  # cut at once from the prepared layer
    assert quick and quick == loaded.tile("fire_hydrants", z, x, y)
    fid = next(iter(_decoded(loaded, "fire_hydrants", z, x, y)))
    loaded.delete("fire_hydrants", fid)
    again = loaded.quick_tile("fire_hydrants", z, x, y)
    assert again is None or again == loaded.tile("fire_hydrants", z, x, y)
    assert fid not in _decoded(loaded, "fire_hydrants", z, x, y)
    loaded.tile("fire_hydrants", z, x, y)  # prepared again for the new version
    assert loaded.quick_tile("fire_hydrants", z, x + 1, y) == loaded.tile("fire_hydrants", z, x + 1, y)
    monkeypatch.setattr(geopackage, "QUICK_TILE_WORK", 0)  # a tile worth more cutting waits for tile()
    assert loaded.quick_tile("fire_hydrants", z, x, y + 1) is None
    assert loaded.quick_tile("fire_hydrants", z, x + 1, y) is not None  # ... unless it is held ready
    assert loaded.quick_tile("nope", z, x, y) is None
    with pytest.raises(InvalidQuery, match="outside the tile matrix"):
        loaded.quick_tile("fire_hydrants", 3, 8, 0)


def test_both_stores_cut_the_same_tiles(tmp_path, catalog):
    """The embedded encoder and PostGIS's ST_AsMVT: same ids, properties and geometry (within a tile unit)."""
    from tests.conftest import STORE_KINDS

    data = {"fire_hydrants": hydrants(3000), "compounds": compounds()}
    stores = []
    try:
        for kind in ("gpkg", "postgis"):
            store = STORE_KINDS[kind](tmp_path, catalog)
            stores.append(store)
            for layer, frame in data.items():
                store.import_frame(layer, frame, mode="replace")
        for layer, (lon, lat), zooms in (("fire_hydrants", (121.45, 31.15), (12, 15)),
                                         ("compounds", (121.4012, 31.1012), (13, 15, 16))):
            for z in zooms:
                x, y = _tile_xy(lon, lat, z)
                a, b = (_decoded(s, layer, z, x, y) for s in stores)
                assert a and set(a) == set(b), (layer, z)
                for fid, fa in a.items():
                    fb = b[fid]
                    assert fa["properties"] == fb["properties"] and fa["type"] == fb["type"]
                    ga, gb = shapely.geometry.shape(fa["geometry"]), shapely.geometry.shape(fb["geometry"])
                    assert shapely.hausdorff_distance(ga, gb) <= 1.0, (layer, z, fid)
    finally:
        for s in stores:
            s.close()


# ---------------------------------------------------------------- what a whole-dataset copy needs

def test_audit_log_and_id_counters(loaded):
    fid = loaded.create("fire_hydrants", {"status": "working"}, Point(121.45, 31.15), actor="ann")
    loaded.delete("fire_hydrants", fid, actor="bob")
    assert loaded.last_id("fire_hydrants") == fid  # deleted ids count: they are never handed out again
    log = loaded.audit_records()
    assert [(r["action"], r["actor"], r["feature_id"]) for r in log[-2:]] == [("create", "ann", fid),
                                                                              ("delete", "bob", fid)]
    assert set(log[-1]) == {"layer", "feature_id", "action", "actor", "at", "before", "after"}
    assert log[-1]["before"]["properties"]["status"] == "working" and log[-1]["after"] is None
    loaded.replace_audit(log[-1:])
    assert loaded.audit_records() == log[-1:]
    assert loaded.history("fire_hydrants", fid) == [{k: log[-1][k] for k in ("action", "actor", "at", "before",
                                                                              "after")}]
    loaded.next_id_floor("fire_hydrants", fid + 100)
    loaded.next_id_floor("fire_hydrants", 5)  # never lowers
    assert loaded.last_id("fire_hydrants") == fid + 100
    assert loaded.create("fire_hydrants", {"status": "working"}, Point(121.45, 31.15)) == fid + 101
    with pytest.raises(NotFound):
        loaded.last_id("nope")


def test_single_feature_writes_respect_the_service_area(make_store, catalog):
    store = make_store()
    store.service_area = (121.0, 30.5, 122.0, 31.5)
    with pytest.raises(InvalidFeature, match="outside the service area") as e:
        store.create("fire_hydrants", {"status": "working"}, Point(116.4, 39.9))
    assert e.value.errors[0][0] == "geometry"
    fid = store.create("fire_hydrants", {"status": "working"}, Point(121.45, 31.15))
    with pytest.raises(InvalidFeature, match="outside the service area"):
        store.update("fire_hydrants", fid, geometry=Point(116.4, 39.9))
    assert store.metric_crs is None  # declared by the contract; None: the UTM zone of the data


def test_documents_are_declared_by_every_store(make_store):
    """The contract names the shared documents: PostGIS has them; the GeoPackage store says None (one host)."""
    from geo_service.store.base import Documents
    from geo_service.store.postgis import PostGISStore

    store = make_store()
    docs = store.documents()
    assert isinstance(docs, Documents) if isinstance(store, PostGISStore) else docs is None
