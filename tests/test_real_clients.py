"""Real OGC clients against a real server (`geo-service serve`) on a copy of the demo district,
once on each store kind (GeoPackage, PostGIS).

GDAL's OAPIF driver (the one bundled in the pyogrio wheel) and OWSLib must read exactly what the
store holds: every collection, every feature with its id, attributes and geometry, with a bbox,
across many pages. The server runs with small pages (maximum 250, default 40), so every full read
pages; its access log shows how each client paged.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geo_service.catalog import LayerSpec
from geo_service.store.base import Query

from .servers import running_server

pyogrio = pytest.importorskip("pyogrio")
owslib_features = pytest.importorskip("owslib.ogcapi.features")

MAX_LIMIT, DEFAULT_LIMIT = 250, 40
PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@pytest.fixture(scope="module")
def served(shared_backend, tmp_path_factory):
    """(base URL, reference store, access log path), on each store kind: the server and the reference
    store read the same dataset (neither writes)."""
    log = tmp_path_factory.mktemp("real_clients") / "server.log"
    env = {**shared_backend.env, "GEO_SERVICE_MAX_LIMIT": str(MAX_LIMIT),
           "GEO_SERVICE_DEFAULT_LIMIT": str(DEFAULT_LIMIT), "GEO_SERVICE_READ_REQUIRES_KEY": "false",
           "PYTHONUNBUFFERED": "1"}
    with pytest.MonkeyPatch.context() as mp:
        for var in PROXY_VARS:  # GDAL (curl) and requests must talk to 127.0.0.1 directly
            mp.delenv(var, raising=False)
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        mp.setenv("no_proxy", "127.0.0.1,localhost")
        with running_server(env, log=log) as base:
            yield base, shared_backend.open_store(), log


def requests_since(log, mark: int) -> list[str]:
    """Request lines (method and target) the server logged after byte `mark` of its log."""
    text = log.read_text(encoding="utf-8", errors="replace")[mark:]
    return re.findall(r'"GET ([^ ]+) HTTP/1\.1" \d{3}', text)


def log_mark(log) -> int:
    return len(log.read_text(encoding="utf-8", errors="replace")) if log.exists() else 0


def _plain(fs_type: str, v):
    """A cell as a comparable Python value: GDAL and the store differ in missing-value and date types."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if hasattr(v, "item"):
        v = v.item()
    if fs_type == "date":
        return str(v)[:10]
    if fs_type == "integer":
        return int(v)
    if fs_type == "number":
        return round(float(v), 9)
    if fs_type == "boolean":
        return bool(v)
    return v


def assert_same_features(df, frame, spec: LayerSpec) -> None:
    """GDAL's dataframe (index: FID) holds exactly the store's features, attributes and geometries."""
    assert sorted(df.index.tolist()) == sorted(frame.index.tolist())
    df = df.loc[frame.index]
    for fs in spec.fields:
        got = [_plain(fs.type, v) for v in df[fs.name].tolist()]
        want = [_plain(fs.type, v) for v in frame[fs.name].tolist()]
        assert got == want, fs.name
    same = shapely.equals_exact(shapely.normalize(df.geometry.values), shapely.normalize(frame.geometry.values),
                                tolerance=1e-9)
    assert same.all()


def hydrant_box(store) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = store.frame("fire_hydrants").total_bounds
    return x0 + (x1 - x0) * 0.25, y0 + (y1 - y0) * 0.2, x0 + (x1 - x0) * 0.75, y0 + (y1 - y0) * 0.6


# ------------------------------------------------------------------ GDAL (OAPIF driver)

def test_gdal_lists_every_collection(served):
    base, store, _ = served
    layers = pyogrio.list_layers("OAPIF:" + base)
    assert [name for name, _ in layers] == [spec.id for spec in store.catalog]


@pytest.mark.parametrize("layer", ["fire_hydrants", "compounds", "parking_facilities"])
def test_gdal_reads_every_feature_as_stored(served, layer):
    base, store, log = served
    mark = log_mark(log)
    df = pyogrio.read_dataframe("OAPIF:" + base, layer=layer, fid_as_index=True)
    assert_same_features(df, store.frame(layer), store.catalog.get(layer))
    assert df.crs.to_string() in ("OGC:CRS84", "EPSG:4326")
    pages = [r for r in requests_since(log, mark) if f"/collections/{layer}/items?" in r and "offset=" in r]
    assert len(pages) == math.ceil(store.count(layer) / MAX_LIMIT) - 1  # the first page has no offset


def test_gdal_pages_with_the_maximum_the_definition_declares(served):
    """GDAL reads limit's maximum from /api (through the collection's own path) and follows `next`."""
    base, store, log = served
    mark = log_mark(log)
    df = pyogrio.read_dataframe("OAPIF:" + base, layer="fire_hydrants", fid_as_index=True)
    assert len(df) == store.count("fire_hydrants")
    items = [r for r in requests_since(log, mark) if r.startswith("/collections/fire_hydrants/items?")]
    full_pages = [r for r in items if "crs=" in r]  # the first, limit=20 request only probes the schema
    assert all(f"limit={MAX_LIMIT}" in r for r in full_pages)
    offsets = sorted(int(m) for r in full_pages for m in re.findall(r"offset=(\d+)", r))
    assert offsets == list(range(MAX_LIMIT, store.count("fire_hydrants"), MAX_LIMIT))


def test_gdal_with_a_trailing_slash_still_reads_everything(served):
    """With "OAPIF:http://host/" GDAL looks up "collections/<id>/items" (no leading slash) in /api, misses
    the declared maximum and asks for its own default of 1000. The server answers a limit above the
    maximum with the maximum and a next link (Part 1 allows it; a 400 would break GDAL here)."""
    base, store, log = served
    mark = log_mark(log)
    df = pyogrio.read_dataframe("OAPIF:" + base + "/", layer="fire_hydrants", fid_as_index=True)
    assert_same_features(df, store.frame("fire_hydrants"), store.catalog.get("fire_hydrants"))
    items = [r for r in requests_since(log, mark) if r.startswith("/collections/fire_hydrants/items?")]
    assert any("limit=1000" in r for r in items) and any(f"limit={MAX_LIMIT}&offset=" in r for r in items)


def test_gdal_page_size_option(served):
    base, store, log = served
    mark = log_mark(log)
    df = pyogrio.read_dataframe("OAPIF:" + base, layer="ebike_charging_sites", fid_as_index=True, PAGE_SIZE=7)
    assert_same_features(df, store.frame("ebike_charging_sites"), store.catalog.get("ebike_charging_sites"))
    pages = [r for r in requests_since(log, mark) if "/collections/ebike_charging_sites/items?" in r
             and "limit=7" in r and "crs=" in r]  # without crs: GDAL's probe of the first features
    assert len(pages) == math.ceil(store.count("ebike_charging_sites") / 7)


def test_gdal_bbox(served):
    base, store, _ = served
    box = hydrant_box(store)
    df = pyogrio.read_dataframe("OAPIF:" + base, layer="fire_hydrants", bbox=box, fid_as_index=True)
    expected = store.query("fire_hydrants", Query(bbox=box)).features
    assert 0 < len(expected) < store.count("fire_hydrants")
    assert_same_features(df, expected, store.catalog.get("fire_hydrants"))


def test_gdal_sends_attribute_filters_to_the_server(served):
    base, store, log = served
    mark = log_mark(log)
    df = pyogrio.read_dataframe("OAPIF:" + base, layer="fire_hydrants", where="status = 'faulty'",
                                fid_as_index=True)
    frame = store.frame("fire_hydrants")
    assert sorted(df.index) == sorted(frame.index[frame["status"] == "faulty"])
    # GDAL sends the where clause as a query parameter or, now that filter-lang offers cql-text, as filter=
    assert any("status=faulty" in r or "filter=" in r and "status" in r for r in requests_since(log, mark))


def test_gdal_reads_in_cgcs2000_gauss_kruger(served):
    """Part 2 with a real client: GDAL asks for EPSG:4549 and gets the store's points, within 1 mm."""
    base, store, log = served
    mark = log_mark(log)
    df = pyogrio.read_dataframe("OAPIF:" + base, layer="fire_hydrants", fid_as_index=True, CRS="EPSG:4549")
    assert df.crs.to_epsg() == 4549
    assert any("crs=http%3A%2F%2Fwww.opengis.net%2Fdef%2Fcrs%2FEPSG%2F0%2F4549" in r
               or "crs=http://www.opengis.net/def/crs/EPSG/0/4549" in r for r in requests_since(log, mark))
    frame = store.frame("fire_hydrants").loc[df.index]
    easting, northing = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:4549", always_xy=True).transform(
        frame.geometry.x.values, frame.geometry.y.values)
    assert np.abs(df.geometry.x.values - easting).max() < 1e-3  # GDAL hands out x = easting
    assert np.abs(df.geometry.y.values - northing).max() < 1e-3


# ------------------------------------------------------------------ OWSLib

@pytest.fixture(scope="module")
def owslib(served):
    return owslib_features.Features(served[0])


def test_owslib_lists_every_collection(owslib, served):
    _, store, _ = served
    assert owslib.feature_collections() == [spec.id for spec in store.catalog]


def test_owslib_collection_metadata(owslib, served):
    _, store, _ = served
    for spec in store.catalog:
        c = owslib.collection(spec.id)
        assert c["itemType"] == "feature"
        if not spec.has_geometry:  # issue 16: a table of plans has no spatial extent
            assert "spatial" not in c.get("extent", {})
            continue
        assert c["extent"]["spatial"]["bbox"][0] == pytest.approx(list(store.frame(spec.id).total_bounds), abs=1e-9)


def test_owslib_items_with_bbox_and_limit(owslib, served):
    _, store, _ = served
    box = hydrant_box(store)
    doc = owslib.collection_items("fire_hydrants", bbox=list(box), limit=15)
    expected = store.query("fire_hydrants", Query(bbox=box, sort=[("id", True)]))
    assert doc["numberMatched"] == expected.number_matched and doc["numberReturned"] == 15
    assert [f["id"] for f in doc["features"]] == expected.features.index[:15].tolist()


def test_owslib_pages_by_offset(owslib, served):
    _, store, _ = served
    seen, offset, limit = [], 0, 180  # 180 < MAX_LIMIT: the client's own page size
    while True:
        doc = owslib.collection_items("parking_facilities", limit=limit, offset=offset)
        assert doc["numberMatched"] == store.count("parking_facilities")
        seen += [f["id"] for f in doc["features"]]
        if not any(link["rel"] == "next" for link in doc["links"]):
            break
        offset += limit
    frame = store.frame("parking_facilities")
    assert seen == frame.index.tolist() and len(set(seen)) == len(seen)


def test_owslib_reads_the_definition_and_queryables(owslib, served):
    _, store, _ = served
    api = owslib.api()  # found through the service-desc link typed application/vnd.oai.openapi+json;version=3.0
    assert api["openapi"].startswith("3.0")
    assert api["components"]["parameters"]["limit"]["schema"]["maximum"] == MAX_LIMIT
    queryables = owslib.collection_queryables("compounds")
    assert list(queryables["properties"]) == [f.name for f in store.catalog.get("compounds").fields if f.filterable]

