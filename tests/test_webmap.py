"""The web map's server side: viewport data, clusters, colourings, the page's assets, escaping, exports.

In-process (TestClient) on one copy of the demo district; the browser tests are in
test_webmap_browser.py.
"""

from __future__ import annotations

import math
import re
import shutil

import numpy as np
import orjson
import pytest
import shapely
from fastapi.testclient import TestClient

from geo_service import styles
from geo_service.catalog import load_catalog
from geo_service.settings import Settings
from geo_service.store.base import Query
from geo_service.web import assets, viewport
from geo_service.web.data import MapData

XSS = "<img src=x onerror=alert(1)>"
pytestmark = pytest.mark.skipif(bool(assets.missing()), reason=f"web map assets missing: {assets.FETCH_HINT}")


def app_with_map(settings, store=None):
    from geo_service.api.app import create_app

    return create_app(settings, store)


def add_xss_compound(store) -> int:
    """A compound whose name is markup, beside the demo district (tests check it stays text)."""
    minx, miny, maxx, maxy = store.extent("compounds")
    x, y = minx - 0.004, miny - 0.004
    return store.create("compounds", {"name": XSS, "households": 321, "street": XSS},
                        shapely.box(x, y, x + 0.002, y + 0.0015))


@pytest.fixture(scope="module")
def setup(demo_gpkg, tmp_path_factory):
    from geo_service.store.geopackage import GeoPackageStore

    folder = tmp_path_factory.mktemp("webmap")
    gpkg = folder / "demo.gpkg"
    shutil.copy(demo_gpkg, gpkg)
    settings = Settings(gpkg=gpkg, static_maps_dir=folder / "static_maps")
    store = GeoPackageStore(gpkg, load_catalog(settings.layers))
    xss_id = add_xss_compound(store)
    with TestClient(app_with_map(settings, store)) as client:
        yield client, store, settings, xss_id
    store.close()


def test_map_page_links_only_its_own_assets(setup):
    client, *_ = setup
    r = client.get("/map")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    refs = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert refs and all(u.startswith("http://testserver/static/") for u in refs), refs
    for path in (*assets.CSS, *assets.JS):
        assert f"/static/{path}?v=" in html
    assert "cdn" not in html.lower() and "unpkg" not in html and "jsdelivr" not in html
    assert len(r.content) < 100_000  # the page holds no features: they load by viewport
    for url in refs:
        assert client.get(url.replace("http://testserver", "")).status_code == 200


def test_static_route_stays_in_its_folder(setup):
    client, *_ = setup
    assert client.get("/static/webmap.js").status_code == 200
    for bad in ("/static/../settings.py", "/static/%2e%2e/settings.py", "/static/vendor/../../cli.py",
                "/static/nope.js"):
        assert client.get(bad).status_code == 404, bad


def test_views_cluster_when_dense_and_list_features_when_not(setup):
    client, store, *_ = setup
    box = store.extent("fire_hydrants")
    bbox = ",".join(map(str, box))
    whole = client.get(f"/map/data/fire_hydrants?bbox={bbox}&zoom=11").json()
    total = store.count("fire_hydrants")
    assert whole["mode"] == "clusters" and whole["numberMatched"] == total
    assert sum(c[2] for c in whole["clusters"]) + len(whole["singles"]) == total
    assert len(whole["clusters"]) < 200  # a few hundred cells, never the layer
    keys = {c["key"] for c in styles.layer_scheme(store.catalog.get("fire_hydrants")).legend("en")["classes"]}
    assert {c[3] for c in whole["clusters"]} <= keys
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    small = (x, y, x + 0.004, y + 0.003)
    near = client.get("/map/data/fire_hydrants?bbox=" + ",".join(map(str, small)) + "&zoom=18").json()
    assert near["mode"] == "features"
    assert {f["id"] for f in near["features"]} == set(store.query("fire_hydrants", Query(bbox=small)).features.index)
    assert all(f["properties"]["_c"] in keys for f in near["features"])


def test_compounds_coloured_by_fields_and_analyses(setup):
    client, store, *_ = setup
    bbox = ",".join(map(str, store.extent("compounds")))
    for color_by in ("renovation_tier", "build_year", "housing_type", "parking-gaps", "hydrant-coverage"):
        r = client.get(f"/map/data/compounds?bbox={bbox}&zoom=14&color_by={color_by}")
        assert r.status_code == 200, (color_by, r.text)
        body = r.json()
        assert body["mode"] == "features" and body["scheme"] == color_by
        keys = MapData(store).scheme("compounds", color_by).keys()
        assert {f["properties"]["_c"] for f in body["features"]} <= set(keys)
    gaps = client.get(f"/map/data/compounds?bbox={bbox}&zoom=14&color_by=parking-gaps").json()["features"]
    assert any(f["properties"]["_v"] for f in gaps)  # the analysis value rides along for the popup
    page = client.get("/map?color_by=parking-gaps")
    assert page.status_code == 200 and "无缺口" in page.text  # the matching legend
    for bad in ("name", "no-such-analysis"):
        r = client.get(f"/map/data/compounds?bbox={bbox}&zoom=14&color_by={bad}")
        assert r.status_code == 400 and "color_by" in r.json()["description"]
    assert client.get("/map?color_by=nope").status_code == 400


def test_bad_requests(setup):
    client, *_ = setup
    assert client.get("/map/data/nope?bbox=0,0,1,1&zoom=3").status_code == 404
    assert client.get("/map/data/compounds?bbox=0,0,1&zoom=3").status_code == 400
    assert client.get("/map/data/compounds?bbox=2,0,1,1&zoom=3").status_code == 400
    assert client.get("/map/data/compounds?bbox=0,0,1,1&zoom=99").status_code == 400
    assert client.get("/map/data/compounds?bbox=0,0,1,1&zoom=3&foo=1").status_code == 400
    assert client.get("/map/overlays/nope?bbox=0,0,1,1&zoom=3").status_code == 404
    assert client.get("/map/compounds/999999").status_code == 404
    assert client.get("/map?layers=compounds,nope").status_code == 400


def test_overlays(setup):
    client, store, *_ = setup
    bbox = ",".join(map(str, store.extent("compounds")))
    far = client.get(f"/map/overlays/hydrant-circles?bbox={bbox}&zoom=10").json()
    assert far["mode"] == "zoom_in" and far["minZoom"] == 14
    minx, miny, *_ = store.extent("compounds")
    near = client.get(f"/map/overlays/hydrant-circles?bbox={minx},{miny},{minx + 0.01},{miny + 0.01}&zoom=16").json()
    assert near["mode"] == "points" and near["radius_m"] == 150.0 and near["points"]
    lines = client.get(f"/map/overlays/shared-parking?bbox={bbox}&zoom=14").json()
    assert lines["mode"] == "features"
    assert all(f["geometry"]["type"] == "LineString" for f in lines["features"])
    areas = client.get(f"/map/overlays/hydrant-uncovered?bbox={bbox}&zoom=14").json()
    assert areas["mode"] == "features"
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in areas["features"])


def test_data_from_markup_stays_text(setup):
    client, store, settings, xss_id = setup
    page = client.get(f"/map/compounds/{xss_id}").text
    assert XSS not in page  # escaped in <title> and the title box, \u003c-escaped in the script config
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    script = re.search(r"CompoundMap\.init\([^,]+, (\{.*?\}), \{\s*groups", page, re.S).group(1)
    assert "<" not in script and ">" not in script
    x, y = shapely.get_coordinates(store.get("compounds", xss_id)["geometry"].centroid)[0]
    view = client.get(f"/map/data/compounds?bbox={x - .01},{y - .01},{x + .01},{y + .01}&zoom=16").json()
    assert XSS in [f["properties"].get("name") for f in view["features"]]  # JSON carries the text as it is


def test_export_is_self_contained(setup, tmp_path):
    from geo_service.web.export import export_map

    _, store, settings, _ = setup
    gpkg_id = int(store.query("compounds", Query(filters=Query.equals(name="梅陇三村"))).features.index[0])
    path = export_map(store, settings, compound=gpkg_id, out=tmp_path / "m.html")
    html = path.read_text(encoding="utf-8")
    assert not re.findall(r'<(?:script|link)[^>]+(?:src|href)=', html)  # everything inlined
    assert "url(images/" not in html  # CSS images as data: URIs
    assert "梅陇三村" in html and path.stat().st_size < 2_000_000
    street = export_map(store, settings, street="梅陇镇")
    assert street.parent == settings.static_maps_dir and street.name == "map-street-梅陇镇.html"


# ------------------------------------------------------------------ the pieces

def test_grid_clusters_keep_every_feature():
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(121.3, 121.5, 5000), rng.uniform(31.0, 31.2, 5000)
    index = viewport.LayerIndex.build(np.arange(1, 5001), shapely.points(lon, lat), rng.integers(0, 3, 5000))
    pos = index.in_bbox((121.3, 31.0, 121.4, 31.1))
    clusters, singles = viewport.grid_clusters(index, pos, 13, ["a", "b", "c", "_none"])
    assert sum(c[2] for c in clusters) + len(singles) == len(pos)
    assert all(121.3 <= c[0] <= 121.4 and 31.0 <= c[1] <= 31.1 for c in clusters)
    assert {s[0] for s in singles} <= set(index.ids[pos].tolist())


def test_nice_breaks_and_classes():
    years = np.arange(1955, 2021)
    edges = styles.nice_breaks(years)
    assert all(e % 5 == 0 for e in edges) and list(edges) == sorted(edges)
    scheme = styles.numeric_scheme("y", styles.Title("年", "Year"), "y", (1980.0, 2000.0), styles.SEQUENTIAL, True)
    assert scheme.classify([1970, 1980, 1999, 2000, None]).tolist() == [0, 1, 1, 2, 3]
    assert [c["label"] for c in scheme.legend("en")["classes"]] == ["< 1980", "1980–1999", "≥ 2000", "No data"]
    hyd = styles.ANALYSIS_SCHEMES["hydrant-coverage"]
    assert hyd.classify([0.5, 0.8, 0.95, 1.0]).tolist() == [0, 1, 2, 3]


def test_view_bytes_are_geojson_features(setup):
    _, store, *_ = setup
    md = MapData(store)
    body = orjson.loads(md.view("compounds", store.extent("compounds"), 15))
    assert body["mode"] == "features"
    f = body["features"][0]
    assert f["type"] == "Feature" and isinstance(f["id"], int) and f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert set(f["properties"]) <= {"name", "_c"}  # the page fetches the rest from the item on click


# ------------------------------------------------------------------ OGC API - Tiles (Mapbox Vector Tiles)

def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)


def test_tileset_metadata(setup):
    client, *_ = setup
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json()
    assert tms["crs"].endswith("EPSG/0/3857") and tms["tileMatrices"][14]["matrixWidth"] == 2**14
    assert client.get("/tileMatrixSets").json()["tileMatrixSets"][0]["id"] == "WebMercatorQuad"
    listed = client.get("/collections/compounds/tiles").json()["tilesets"]
    assert listed[0]["dataType"] == "vector" and listed[0]["tileMatrixSetURI"].endswith("WebMercatorQuad")
    ts = client.get("/collections/compounds/tiles/WebMercatorQuad").json()
    item = next(link for link in ts["links"] if link["rel"] == "item")
    assert item["type"] == "application/vnd.mapbox-vector-tile" and item["templated"]
    assert item["href"].endswith("/collections/compounds/tiles/WebMercatorQuad/{tileMatrix}/{tileCol}/{tileRow}")
    layer = ts["layers"][0]
    assert layer["geometryDimension"] == 2 and "households" in layer["propertiesSchema"]["properties"]
    conforms = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conforms
    assert client.get("/collections/nope/tiles/WebMercatorQuad").status_code == 404
    assert client.get("/collections/compounds/tiles/WebMercatorQuad/3/8/0").status_code == 404  # beyond the matrix
    empty = client.get("/collections/compounds/tiles/WebMercatorQuad/14/0/0")
    assert empty.status_code == 200 and empty.content == b""


def test_vector_tiles_decode_and_read_in_gdal(setup, tmp_path):
    """Decoded with mapbox-vector-tile and read by GDAL's MVT driver: same features, same places."""
    import pyogrio

    client, store, *_ = setup
    row = store.query("compounds", Query(filters=Query.equals(name="梅陇三村"))).features
    fid, geom = int(row.index[0]), row.geometry.iloc[0]
    x, y = _tile_of(*shapely.get_coordinates(geom.representative_point())[0], 14)
    r = client.get(f"/collections/compounds/tiles/WebMercatorQuad/14/{x}/{y}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    tiles_mod = pytest.importorskip("mapbox_vector_tile")
    layer = tiles_mod.decode(r.content, default_options={"y_coord_down": True})["compounds"]
    assert layer["extent"] == 4096
    from geo_service.crs import lonlat_bounds

    inside = set(store.query("compounds", Query(bbox=lonlat_bounds(14, x, y))).features.index)
    got = {f["id"] for f in layer["features"]}
    assert inside <= got
    mine = next(f for f in layer["features"] if f["id"] == fid)
    assert mine["properties"]["name"] == "梅陇三村"
    assert mine["properties"]["households"] == int(row["households"].iloc[0])
    ring = np.array(mine["geometry"]["coordinates"][0], dtype=float)
    area = 0.5 * np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1])
    assert area > 0  # exterior rings: positive area in tile coordinates (y down), as MVT 2.1 asks
    path = tmp_path / "14" / str(x) / f"{y}.pbf"
    path.parent.mkdir(parents=True)
    path.write_bytes(r.content)
    frame = pyogrio.read_dataframe(path, layer="compounds").to_crs(4326)  # georeferenced from z/x/y
    read = frame.set_index("mvt_id").geometry[fid]
    assert read.symmetric_difference(geom).area / geom.area < 0.02
    points = client.get(f"/collections/fire_hydrants/tiles/WebMercatorQuad/14/{x}/{y}").content
    hyd = tiles_mod.decode(points)["fire_hydrants"]["features"]
    in_tile = set(store.query("fire_hydrants", Query(bbox=lonlat_bounds(14, x, y))).features.index)
    assert in_tile and in_tile <= {f["id"] for f in hyd}  # and those in the buffer around it
    assert all(f["geometry"]["type"] == "Point" and "status" in f["properties"] for f in hyd)


def test_tiles_revalidate_by_etag_and_follow_edits_on_both_paths(demo_gpkg, tmp_path, monkeypatch):
    """Street-level tiles are answered on the event loop, coarser or bigger ones in the threadpool: both give
    the store's tile, a 304 for the client's current copy, and a new tag and content after an edit."""
    from geo_service.store import geopackage
    from geo_service.store.geopackage import GeoPackageStore

    tiles_mod = pytest.importorskip("mapbox_vector_tile")
    gpkg = tmp_path / "demo.gpkg"
    shutil.copy(demo_gpkg, gpkg)
    settings = Settings(gpkg=gpkg, static_maps_dir=tmp_path / "static_maps")
    store = GeoPackageStore(gpkg, load_catalog(settings.layers))
    fid = int(store.query("fire_hydrants", Query(filters=Query.equals(status="working"), limit=1)).features.index[0])
    lon, lat = store.get("fire_hydrants", fid)["geometry"].coords[0]

    def status(body: bytes) -> str:
        return next(f["properties"]["status"] for f in tiles_mod.decode(body)["fire_hydrants"]["features"]
                    if f["id"] == fid)

    try:
        with TestClient(app_with_map(settings, store)) as client:
            for z, work in ((15, geopackage.QUICK_TILE_WORK), (12, 0)):  # 0: every cut goes to the threadpool
                monkeypatch.setattr(geopackage, "QUICK_TILE_WORK", work)
                url = "/collections/fire_hydrants/tiles/WebMercatorQuad/{}/{}/{}".format(z, *_tile_of(lon, lat, z))
                r = client.get(url)
                assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
                assert r.content == store.tile("fire_hydrants", z, *_tile_of(lon, lat, z))
                etag = r.headers["etag"]
                again = client.get(url, headers={"If-None-Match": etag})
                assert again.status_code == 304 and again.headers["etag"] == etag and not again.content
                store.update("fire_hydrants", fid, {"status": "faulty" if status(r.content) != "faulty" else "working"})
                after = client.get(url, headers={"If-None-Match": etag})
                assert after.status_code == 200 and after.headers["etag"] != etag
                assert status(after.content) != status(r.content)
            assert client.get("/collections/fire_hydrants/tiles/WebMercatorQuad/14/16384/0").status_code == 404
            assert client.get("/collections/nope/tiles/WebMercatorQuad/14/0/0").status_code == 404
    finally:
        store.close()


def test_missing_assets_are_named_not_served_from_a_cdn(setup, monkeypatch, tmp_path):
    client, *_ = setup
    monkeypatch.setattr(assets, "STATIC_DIR", tmp_path)
    r = client.get("/map")
    assert r.status_code == 503 and "fetch_web_assets.sh" in r.json()["description"]
    assert "fetch_web_assets.sh" in client.get("/static/vendor/leaflet/leaflet.js").json()["description"]
