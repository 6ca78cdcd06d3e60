"""PostGIS-specific behaviour beyond the shared contract (tests/test_store_contract.py runs that):
schema creation and upgrades, other processes' writes, the 412 race, db copy both ways,
the database fast path, outages as 503, and an injection corpus at the store level."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import shapely
from shapely.geometry import Point

from geo_service.store.base import (
    Filter,
    InvalidFeature,
    InvalidQuery,
    NotFound,
    PreconditionFailed,
    Query,
    Unavailable,
    feature_etag,
)
from tests import pg
from tests.test_store_contract import compounds, hydrants


@pytest.fixture
def cluster():
    return pg.shared_cluster()


@pytest.fixture
def store(catalog):
    s = pg.throwaway_store(catalog)
    s.import_frame("fire_hydrants", hydrants(500), mode="replace")
    s.import_frame("compounds", compounds(), mode="replace")
    yield s
    s.close()


def _table_fingerprint(store) -> dict:
    """Row count and a content hash of every table the store owns (to prove nothing changed)."""
    from psycopg import sql

    out = {}
    with store._pool.connection() as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")]
        for t in tables:
            out[t] = conn.execute(sql.SQL("SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), "
                                          "'')) FROM {} x").format(sql.Identifier(t))).fetchone()
    return out


# ---------------------------------------------------------------- schema

def test_db_init_is_idempotent_and_records_the_version(cluster, catalog):
    from geo_service.store.postgis import PostGISStore
    from geo_service.store.postgis_schema import SCHEMA_VERSION

    url = cluster.create_database(bare=True)
    for _ in range(2):
        r = subprocess.run([sys.executable, "-m", "geo_service.cli", "db", "init", "--url", url],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert f"schema version {SCHEMA_VERSION}" in r.stdout
    with PostGISStore(url, catalog, auto_init=False) as s, s._pool.connection() as conn:
        # each migration recorded once, up to the current one (2: the shared documents of report jobs)
        assert conn.execute("SELECT version FROM gcs_schema_version ORDER BY 1").fetchall() == [
            (v,) for v in range(1, SCHEMA_VERSION + 1)]
        kinds = dict(conn.execute("SELECT f_table_name, type FROM geometry_columns"))
        assert kinds["fire_hydrants"] == "POINT" and kinds["compounds"] == "GEOMETRY"
        indexes = {r[0] for r in conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'fire_hydrants'")}
        assert any("USING gist (geom)" in d for d in indexes) and any("(status)" in d for d in indexes)
        assert s.health()["ok"] is True


def test_a_spec_gaining_a_field_gets_the_column(cluster, layers_copy):
    from geo_service.catalog import load_catalog

    s1 = pg.throwaway_store(load_catalog(layers_copy))
    s1.create("fire_hydrants", {"status": "working"}, Point(121.4, 31.1))
    path = layers_copy / "fire_hydrants.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "style:", "  owner: {type: string, title: {zh: 产权单位, en: Owner}}\nstyle:"), encoding="utf-8")
    from geo_service.store.postgis import PostGISStore

    with PostGISStore(s1.database_url, load_catalog(layers_copy)) as s2:
        fid = s2.create("fire_hydrants", {"status": "working", "owner": "物业"}, Point(121.41, 31.11))
        assert s2.get("fire_hydrants", fid)["properties"]["owner"] == "物业"
        assert s2.count("fire_hydrants") == 2
    s1.close()


def test_import_and_demo_commands_write_to_the_database_url(cluster, catalog, tmp_path):
    import os

    from geo_service.store.postgis import PostGISStore

    url = cluster.create_database(bare=True)  # no schema yet: the commands create it
    src = tmp_path / "hydrants.geojson"
    hydrants(30).drop(columns="id").to_file(src, driver="GeoJSON")
    env = {**os.environ, "GEO_SERVICE_DATABASE_URL": url}
    for args in (["demo", "--scale", "0.05"], ["import", str(src), "--layer", "fire_hydrants"]):
        r = subprocess.run([sys.executable, "-m", "geo_service.cli", *args], env=env, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
    with PostGISStore(url, catalog) as s:
        assert s.count("compounds") > 0
        demo_hydrants = s.count("fire_hydrants") - 30
        assert demo_hydrants > 0
        assert s.count("fire_hydrants", Query(ids=range(demo_hydrants + 1, demo_hydrants + 31))) == 30


# ---------------------------------------------------------------- many processes, one truth

def test_another_process_write_is_seen_at_once(store):
    v = store.version("fire_hydrants")
    script = textwrap.dedent(f"""
        from shapely.geometry import Point
        from geo_service.catalog import load_catalog
        from geo_service.store.postgis import PostGISStore
        with PostGISStore({store.database_url!r}, load_catalog({str(store.catalog.folder)!r})) as s:
            s.create("fire_hydrants", {{"status": "faulty"}}, Point(121.7, 31.4), actor="other-process")
            s.delete("fire_hydrants", 1, actor="other-process")
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert store.version("fire_hydrants") != v
    assert store.count("fire_hydrants") == 500
    hit = store.query("fire_hydrants", Query(bbox=(121.69, 31.39, 121.71, 31.41)))
    assert hit.features.status.tolist() == ["faulty"]
    with pytest.raises(NotFound):
        store.get("fire_hydrants", 1)
    assert [r["actor"] for r in store.history("fire_hydrants", 1)] == ["other-process"]


def test_two_editors_with_the_same_etag_one_wins_the_other_gets_412(store, catalog):
    from geo_service.store.postgis import PostGISStore

    cur = store.get("fire_hydrants", 5)
    tag = feature_etag(cur["properties"], cur["geometry"])
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def edit(s, value):
        barrier.wait()
        try:
            s.update("fire_hydrants", 5, {"flow_lps": value}, actor=f"editor-{value}", if_match=tag)
            outcomes.append("ok")
        except PreconditionFailed:
            outcomes.append("412")

    others = [PostGISStore(store.database_url, catalog) for _ in range(5)]  # as if five other workers
    try:
        threads = [threading.Thread(target=edit, args=(s, 20.0 + i)) for i, s in enumerate([store, *others])]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        for s in others:
            s.close()
    assert sorted(outcomes) == ["412"] * 5 + ["ok"]
    assert [r["action"] for r in store.history("fire_hydrants", 5)] == ["update"]


# ---------------------------------------------------------------- fast path

def test_geojson_page_matches_query(store):
    import orjson

    q = Query(bbox=(121.40, 31.10, 121.45, 31.15), filters=[Filter("status", "in", ["working", "faulty"])],
              sort=[("flow_lps", False)], limit=40, offset=3)
    feats, matched = store.geojson_page("fire_hydrants", q)
    ref = store.query("fire_hydrants", q)
    assert matched == ref.number_matched > 40
    docs = [orjson.loads(b) for b in feats]
    assert [d["id"] for d in docs] == ref.features.index.tolist()
    for d, (_fid, row) in zip(docs, ref.features.iterrows(), strict=True):
        assert d["type"] == "Feature" and set(d["properties"]) == set(store.catalog.get("fire_hydrants").field_names)
        assert d["properties"]["status"] == row.status and d["properties"]["last_inspected"] == row.last_inspected
        got = shapely.geometry.shape(d["geometry"])
        assert got.distance(row.geometry) < 1e-8
    feats, _ = store.geojson_page("compounds", Query(properties=["name"], limit=2))
    assert [list(orjson.loads(b)["properties"]) for b in feats] == [["name"], ["name"]]


# ---------------------------------------------------------------- copy both ways

def test_db_copy_round_trip_keeps_ids_audit_and_id_history(store, cluster, tmp_path):
    fid = store.create("fire_hydrants", {"status": "working"}, Point(121.45, 31.15), actor="王工")
    store.update("fire_hydrants", fid, {"status": "faulty"}, actor="李工")
    gone = store.create("fire_hydrants", {"status": "working"}, Point(121.46, 31.16), actor="王工")
    store.delete("fire_hydrants", gone, actor="admin")
    gpkg = tmp_path / "copy.gpkg"
    back = cluster.create_database(bare=True)
    for src, dst in ((store.database_url, f"gpkg:{gpkg}"), (f"gpkg:{gpkg}", back)):
        r = subprocess.run([sys.executable, "-m", "geo_service.cli", "db", "copy", "--from", src, "--to", dst],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    from geo_service.store.postgis import PostGISStore

    with PostGISStore(back, store.catalog) as copy:
        for layer in ("fire_hydrants", "compounds"):
            a, b = store.query(layer).features, copy.query(layer).features
            assert a.index.tolist() == b.index.tolist()
            assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
            assert bool(np.all(shapely.equals_exact(a.geometry.values, b.geometry.values, 0)))
        assert [(h["action"], h["actor"]) for h in copy.history("fire_hydrants", fid)] == [
            ("create", "王工"), ("update", "李工")]
        assert copy.history("fire_hydrants", fid) == store.history("fire_hydrants", fid)
        assert copy.create("fire_hydrants", {"status": "working"}, Point(121.4, 31.1)) > gone  # no id reuse


# ---------------------------------------------------------------- outages

def test_unreachable_database_is_unavailable_quickly(catalog):
    from geo_service.store.postgis import PostGISStore
    from tests.servers import free_port

    with PostGISStore(f"postgresql://nobody@127.0.0.1:{free_port()}/none", catalog, pool_timeout=1.0) as s:
        for call in (lambda: s.count("fire_hydrants"), lambda: s.version("fire_hydrants"),
                     lambda: s.create("fire_hydrants", {"status": "working"}, Point(121.4, 31.1))):
            t0 = time.monotonic()
            with pytest.raises(Unavailable):
                call()
            assert time.monotonic() - t0 < 5
        health = s.health()
        assert health["ok"] is False and health["status"].startswith("unavailable")


def test_statement_timeout_is_a_503_not_a_hang(store):
    from geo_service.store.postgis import PostGISStore

    with PostGISStore(store.database_url, store.catalog, statement_timeout_ms=200) as s, \
            s._pool.connection() as conn:
        conn.execute("BEGIN")
        conn.execute("LOCK TABLE fire_hydrants IN ACCESS EXCLUSIVE MODE")
        t0 = time.monotonic()
        with pytest.raises(Unavailable):
            store.count("fire_hydrants")  # the other store's lock_timeout (3 s) or statement_timeout ends it
        assert time.monotonic() - t0 < 6
        conn.execute("ROLLBACK")


# ---------------------------------------------------------------- injection corpus (store level)

CORPUS = [
    "'", "''", '"', "\\", "' OR '1'='1", "working' OR 'a'='a", "1; DROP TABLE fire_hydrants; --",
    "x'); DELETE FROM gcs_audit; --", "/* */ working", "-- comment", "$$; DROP TABLE compounds; $$",
    "%", "_", "%' OR 1=1 --", "E'\\x27'", "working\x00", "\x00", "ｗｏｒｋｉｎｇ", "work\u200bing",
    "\u202eworking", "İ", "𝔀𝓸𝓻𝓴𝓲𝓷𝓰", "\ud800", "\"fire_hydrants\"", "geom", "id", "1e309", "NaN",
    "2020-01-01'::date --", "梅陇1村'; DROP TABLE gcs_layer_state; --",
]


def test_injection_corpus_through_queries_changes_nothing(store, catalog, tmp_path):
    from geo_service.store.geopackage import GeoPackageStore

    ref = GeoPackageStore(tmp_path / "ref.gpkg", catalog)
    ref.import_frame("fire_hydrants", hydrants(500), mode="replace")
    ref.import_frame("compounds", compounds(), mode="replace")
    before = _table_fingerprint(store)
    checked = 0
    for value in CORPUS:
        queries = [("compounds", Query(filters=[Filter("name", op, value)])) for op in ("eq", "ne", "lt", "like")]
        queries += [("compounds", Query(filters=[Filter("name", "in", [value, "梅陇1村"])])),
                    ("fire_hydrants", Query(filters=[Filter("status", "eq", value)])),
                    ("fire_hydrants", Query(filters=[Filter("last_inspected", "ge", value)])),
                    ("fire_hydrants", Query(filters=[Filter("flow_lps", "gt", value)])),
                    ("fire_hydrants", Query(filters=[Filter(value, "eq", "working")])),
                    ("fire_hydrants", Query(filters=[Filter("status", value, "working")])),
                    ("fire_hydrants", Query(sort=[(value, True)])),
                    ("fire_hydrants", Query(properties=[value])),
                    ("fire_hydrants", Query(predicate=value, geometry=Point(121.45, 31.15)))]
        for layer, q in queries:
            try:
                want = sorted(ref.query(layer, q).features.index)
            except ValueError:  # InvalidQuery (or a bad number in the reference)
                want = None
            try:
                got = sorted(store.query(layer, q).features.index)
            except InvalidQuery:
                got = None
            # same answer as the embedded store, or a 400 where PostgreSQL cannot take the value (NUL etc.)
            assert got == want or (got is None and any(c in value for c in "\x00\ud800")), (layer, q, got, want)
            checked += 1
        with pytest.raises(NotFound):
            store.query(value)
    ref.close()
    assert checked > 300
    assert _table_fingerprint(store) == before


def test_injection_corpus_through_writes_is_stored_verbatim_or_refused(store):
    before = {t: v for t, v in _table_fingerprint(store).items() if t != "compounds"}
    box = shapely.box(121.6, 31.3, 121.601, 31.301)
    created = []
    for value in CORPUS:
        try:
            fid = store.create("compounds", {"name": value, "street": value, "households": 10}, box, actor=value)
        except InvalidFeature as e:
            assert any(c in value for c in "\x00\ud800"), (value, e.errors)
            continue
        created.append(fid)
        got = store.get("compounds", fid)["properties"]
        assert got["name"] == value.strip() and got["street"] == value.strip()
        assert store.history("compounds", fid)[0]["actor"] == value
    assert len(created) == len(CORPUS) - 3
    after = _table_fingerprint(store)
    assert {t: v for t, v in after.items() if t not in ("compounds", "gcs_audit", "gcs_layer_state")} == {
        t: v for t, v in before.items() if t not in ("gcs_audit", "gcs_layer_state")}
    assert after["compounds"][0] == 60 + len(created)


def test_documents_are_shared_through_the_database(cluster, catalog):
    """Report jobs and their files live here so every host sees them (a second store = another host)."""
    from geo_service.store.postgis import PostGISStore

    url = cluster.create_database()
    store = PostGISStore(url, catalog, min_size=0)
    docs = store.documents()
    assert docs.get("report_job", "abc123") is None
    docs.put("report_job", "abc123", {"status": "queued", "名称": "梅陇"})
    docs.put("report_file", "abc123", {"name": "x.pdf"}, blob=b"%PDF-1.7 \x00\xff")
    with PostGISStore(url, catalog, min_size=0) as other:
        assert other.documents().get("report_job", "abc123") == ({"status": "queued", "名称": "梅陇"}, None)
        other.documents().put("report_job", "abc123", {"status": "done"})
        assert other.documents().get("report_file", "abc123", with_blob=True) == ({"name": "x.pdf"},
                                                                                   b"%PDF-1.7 \x00\xff")
    assert docs.get("report_job", "abc123")[0] == {"status": "done"}
    docs.put("report_file", "abc123", {"name": "x.pdf", "meta": {}})  # no blob given: the stored one stays
    assert docs.get("report_file", "abc123", with_blob=True)[1] == b"%PDF-1.7 \x00\xff"
    store.close()
    cluster.drop_database(url.rsplit("/", 1)[1])
