"""Source ids and keyed re-import (issue 11 items 1-2), on both stores: the file's own ids kept as
``source_id``, upsert/sync changing exactly what changed, append refusing stored keys, and the store
unchanged (content hash) after every refused import."""

from __future__ import annotations

import hashlib
import json

import orjson
import pytest
from fastapi.testclient import TestClient

from geo_service.api.app import create_app
from geo_service.catalog import CatalogError, load_layer
from geo_service.ingest.importer import ImportFailed, import_file
from geo_service.ingest.keyed import plan_changes
from geo_service.settings import Settings
from geo_service.store.base import Conflict, Filter, Query
from geo_service.store.geopackage import GeoPackageStore

from .test_ingest_common import CATALOG, feature_collection, point, write_csv, write_json
from .test_ingest_osm import node, osm, square

LAYER = "fire_hydrants"
HEADER = ["编号", "lon", "lat", "kind", "status"]


def rows(n: int, start: int = 0) -> list[list]:
    return [[f"XHS-{i:04d}", round(121.40 + (i % 40) * 0.001, 6), round(31.20 + (i // 40) * 0.001, 6),
             "pillar", "working"] for i in range(start, start + n)]


def store_hash(store) -> str:
    """Everything a refused import must leave alone: features, versions and the audit log."""
    h = hashlib.sha256()
    for spec in store.catalog:
        frame = store.frame(spec.id).sort_index()
        h.update(frame.drop(columns=frame.geometry.name).to_json().encode())
        h.update(b"".join(g.wkb for g in frame.geometry))
        h.update(str(store.version(spec.id)).encode())
    h.update(orjson.dumps(store.audit_records(), default=str))
    return h.hexdigest()


def by_key(store) -> dict[str, dict]:
    frame = store.frame(LAYER)
    return {k: {"id": int(i), **{c: frame.loc[i, c] for c in ("kind", "status")}, "geom": frame.loc[i].geometry}
            for i, k in zip(frame.index, frame["source_id"], strict=True)}


def test_source_id_from_chinese_id_column_is_stored_and_filterable(make_store, tmp_path):
    store = make_store()
    src = write_csv(tmp_path / "h.csv", HEADER, rows(5))
    report = import_file(store, src, LAYER)
    assert report.key_column == "编号" and "编号" not in report.ignored_columns
    assert "source ids: column 编号" in report.describe()
    found = store.query(LAYER, Query(filters=[Filter("source_id", "eq", "XHS-0002")])).features
    assert len(found) == 1 and found["source_id"].iloc[0] == "XHS-0002"


def test_geojson_integer_string_and_feature_level_ids(make_store, tmp_path):
    store = make_store()
    ints = feature_collection([({"id": i, "status": "ok"}, point(121.4 + i / 1000, 31.2)) for i in (1, 2)])
    import_file(store, write_json(tmp_path / "ints.geojson", ints), LAYER)  # crashed: Index data must be 1-dim
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "JN1", "properties": {"status": "ok"}, "geometry": point(121.41, 31.21)},
        {"type": "Feature", "id": "JN2", "properties": {"status": "ok"}, "geometry": point(121.42, 31.21)}]}
    import_file(store, write_json(tmp_path / "strs.geojson", doc), LAYER)
    mixed = feature_collection([({"code": c, "status": "ok"}, point(121.43 + k / 1000, 31.2))
                                for k, c in enumerate([7, "A-7", 8.0])])
    import_file(store, write_json(tmp_path / "mixed.geojson", mixed), LAYER)
    assert sorted(store.frame(LAYER)["source_id"]) == sorted(["1", "2", "JN1", "JN2", "7", "A-7", "8"])


def test_key_option_and_missing_key_column(make_store, tmp_path):
    store = make_store()
    src = write_csv(tmp_path / "h.csv", ["no", "lon", "lat", "status"], [["a1", 121.4, 31.2, "ok"]])
    assert import_file(store, src, LAYER, key="NO").key_column == "no"
    before = store_hash(store)
    with pytest.raises(ImportFailed, match="--key nope: the file has no column 'nope'"):
        import_file(store, src, LAYER, key="nope")
    assert store_hash(store) == before


def test_keys_repeated_in_one_file_name_both_rows(make_store, tmp_path):
    store = make_store()
    data = rows(4)
    data[3][0] = data[1][0]
    src = write_csv(tmp_path / "dup.csv", HEADER, data)
    before = store_hash(store)
    with pytest.raises(ImportFailed) as e:
        import_file(store, src, LAYER)
    text = str(e.value)
    assert "row 3" in text and "key 'XHS-0001' also on row(s) 5 of this file" in text
    assert "key 'XHS-0001' also on row(s) 3 of this file" in text
    assert store_hash(store) == before


def test_append_refuses_stored_keys_unless_allowed(make_store, tmp_path):
    store = make_store()
    src = write_csv(tmp_path / "h.csv", HEADER, rows(12))
    import_file(store, src, LAYER)
    before = store_hash(store)
    with pytest.raises(ImportFailed) as e:
        import_file(store, src, LAYER)
    assert "12 source id(s) of this file are already stored" in str(e.value)
    assert "XHS-0000, XHS-0001" in str(e.value) and "--mode upsert" in str(e.value)
    assert store_hash(store) == before
    assert import_file(store, src, LAYER, allow_duplicates=True).imported == 12
    assert store.count(LAYER) == 24


def test_keyed_mode_needs_keys(make_store, tmp_path):
    store = make_store()
    src = write_csv(tmp_path / "nokey.csv", ["lon", "lat", "status"], [[121.4, 31.2, "ok"]])
    before = store_hash(store)
    with pytest.raises(ImportFailed, match="name one with --key COLUMN"):
        import_file(store, src, LAYER, mode="upsert")
    data = rows(3)
    data[1][0] = ""
    with pytest.raises(ImportFailed, match="no source id in column '编号'"):
        import_file(store, write_csv(tmp_path / "blank.csv", HEADER, data), LAYER, mode="sync")
    assert store_hash(store) == before


def test_sync_changes_exactly_what_changed_and_keeps_api_edits(make_store, tmp_path):
    """The issue's test: 1,000 rows, 10 API edits, then 20 changed / 5 removed / 5 new under sync."""
    store = make_store()
    first = rows(1000)
    import_file(store, write_csv(tmp_path / "q1.csv", HEADER, first), LAYER, mode="sync")
    hand = store.create(LAYER, {"status": "working"}, point(121.45, 31.25), actor="planner")
    stored = by_key(store)
    edited = [f"XHS-{i:04d}" for i in range(100, 110)]
    for k in edited:  # API edits of a field the file does not carry
        store.update(LAYER, stored[k]["id"], {"flow_lps": 15.0}, actor="planner")
    second = [list(r) for r in first]
    changed = list(range(0, 20))
    for i in changed:
        second[i][4] = "faulty"
    second[19][1] = 121.5  # one moves as well
    removed = {r[0] for r in second[995:]}
    second = second[:995] + rows(5, start=2000)
    version = store.version(LAYER)
    report = import_file(store, write_csv(tmp_path / "q2.csv", HEADER, second), LAYER, mode="sync")
    assert (report.imported, report.updated, report.deleted, report.unchanged) == (5, 20, 5, 975)
    assert "5 inserted, 20 updated, 5 deleted, 975 unchanged" in report.describe()
    after = by_key(store)
    assert set(after) - {None} == (set(stored) - removed - {None}) | {f"XHS-{i:04d}" for i in range(2000, 2005)}
    for k in set(stored) - removed - {None}:
        assert after[k]["id"] == stored[k]["id"]  # ids stable
    assert after["XHS-0019"]["geom"].x == pytest.approx(121.5)
    assert all(after[f"XHS-{i:04d}"]["status"] == "faulty" for i in changed)
    assert store.get(LAYER, hand)["properties"]["status"] == "working"  # hand-made: not from a source, kept
    for k in edited:
        assert store.get(LAYER, stored[k]["id"])["properties"]["flow_lps"] == 15.0
    audit = [r for r in store.audit_records() if r["actor"] == "import q2.csv"]
    assert sorted(r["action"] for r in audit) == ["create"] * 5 + ["delete"] * 5 + ["update"] * 20
    assert store.history(LAYER, stored["XHS-0003"]["id"])[-1]["after"]["properties"]["status"] == "faulty"
    assert [r["actor"] for r in store.history(LAYER, stored["XHS-0500"]["id"])] == ["import q1.csv"]  # not re-versioned
    assert store.version(LAYER) != version
    # the same file again: nothing changes, the version stays
    version, before = store.version(LAYER), store_hash(store)
    again = import_file(store, tmp_path / "q2.csv", LAYER, mode="sync")
    assert (again.imported, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 1000)
    assert "0 inserted, 0 updated, 0 deleted, 1,000 unchanged" in again.describe()
    assert store.version(LAYER) == version and store_hash(store) == before


def test_upsert_keeps_features_absent_from_the_file(make_store, tmp_path):
    store = make_store()
    import_file(store, write_csv(tmp_path / "a.csv", HEADER, rows(10)), LAYER, mode="upsert")
    part = rows(3)
    part[0][4] = "faulty"
    report = import_file(store, write_csv(tmp_path / "b.csv", HEADER, part + rows(2, start=50)), LAYER,
                         mode="upsert")
    assert (report.imported, report.updated, report.deleted, report.unchanged) == (2, 1, 0, 2)
    assert store.count(LAYER) == 12


def test_keyed_import_refused_when_the_layer_changed_meanwhile(make_store, tmp_path):
    store = make_store()
    import_file(store, write_csv(tmp_path / "a.csv", HEADER, rows(3)), LAYER)
    valid = store.frame(LAYER).reset_index(drop=True)
    valid.loc[0, "status"] = "faulty"
    changes = plan_changes(store, LAYER, valid, ["status"], "upsert", actor="t")
    store.create(LAYER, {"status": "working"}, point(121.45, 31.25))
    before = store_hash(store)
    with pytest.raises(Conflict, match="changed while the import was being prepared"):
        store.apply_changes(LAYER, changes)
    assert store_hash(store) == before


def test_source_id_is_declared_once_for_all_layers(catalog, tmp_path):
    assert all(spec.field_names[-1] == "source_id" for spec in catalog)
    bad = tmp_path / "x.yaml"
    bad.write_text(json.dumps({"id": "x", "title": "x", "geometry": "Point",
                               "fields": {"source_id": {"type": "string"}}}), encoding="utf-8")
    with pytest.raises(CatalogError, match="declared for every layer"):
        load_layer(bad)


def test_osm_elements_keep_their_osm_ids_and_reimport_matches_them(make_store, tmp_path):
    store = make_store()
    body = "\n".join([node(1, 121.40, 31.20, emergency="fire_hydrant"),
                      node(2, 121.41, 31.21, emergency="fire_hydrant"),
                      square(100, 10, 121.40, 31.20, landuse="residential", name="康乐小区")])
    path = osm(tmp_path, body)
    assert import_file(store, path, LAYER).key_column == "osm_id"
    assert import_file(store, path, "compounds").imported == 1
    assert sorted(store.frame(LAYER)["source_id"]) == ["node/1", "node/2"]
    assert store.frame("compounds")["source_id"].tolist() == ["way/100"]
    again = import_file(store, path, LAYER, mode="sync")
    assert (again.imported, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 2)


def test_source_id_through_the_api_items_filter_and_compound_search(tmp_path):
    store = GeoPackageStore(tmp_path / "s.gpkg", CATALOG)
    doc = feature_collection([({"OBJECTID": k, "name": n, "households": 100}, {
        "type": "Polygon", "coordinates": [[[x, 31.2], [x + 0.002, 31.2], [x + 0.002, 31.202], [x, 31.2]]]})
        for k, n, x in [("XQ-7", "梅陇三村", 121.40), ("XQ-8", "莲花苑", 121.41)]])
    import_file(store, write_json(tmp_path / "xq.geojson", doc), "compounds")
    client = TestClient(create_app(Settings(gpkg=tmp_path / "s.gpkg", database_url=None), store=store))
    r = client.get("/collections/compounds/items", params={"source_id": "XQ-8"})
    assert r.status_code == 200, r.text
    assert [f["properties"]["name"] for f in r.json()["features"]] == ["莲花苑"]
    found = client.get("/compounds/search", params={"q": "XQ-7"}).json()["results"]
    assert [(x["name"], x["match"]) for x in found] == [("梅陇三村", "source_id")]
    store.close()


def test_append_refuses_text_ids_that_are_not_feature_ids(make_store, tmp_path):
    """Overpass exports carry feature-level ids like "node/33996967": not feature ids, still source ids."""
    store = make_store()
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f"node/{n}", "properties": {"status": "ok"}, "geometry": point(7.4 + n / 1e10, 51.3)}
        for n in (33996967, 190116612)]}
    src = write_json(tmp_path / "overpass.geojson", doc)
    import_file(store, src, LAYER)
    before = store_hash(store)
    with pytest.raises(ImportFailed, match="already in fire_hydrants: node/33996967, node/190116612"):
        import_file(store, src, LAYER)
    assert store_hash(store) == before
