"""CQL2 filters: parsing and checking against the catalog, numpy evaluation, parameterised SQL.

The corpus adapts the CQL2 standard's example expressions (comparisons, LIKE, BETWEEN, IN, IS NULL,
CASEI, spatial and temporal functions, property-property) to this catalog. Each is evaluated three
ways that must agree: `cql.evaluate` over column arrays (the GeoPackage store's way), the SQL of
`cql.to_sql` on PostGIS, and an independent pandas/shapely evaluation written here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geo_service.store import cql
from tests.test_store_contract import compounds, hydrants

BOX = (121.42, 31.12, 121.45, 31.15)
POLY = "POLYGON((121.41 31.11, 121.46 31.11, 121.46 31.16, 121.41 31.16, 121.41 31.11))"

H = hydrants(800)
C = compounds()


def _date(s):
    return pd.to_datetime(s).dt.date if hasattr(s, "dt") else pd.to_datetime(s)


HYDRANT_CORPUS = [  # (CQL2 text, independent pandas/shapely mask)
    ("status = 'faulty'", lambda f: f.status == "faulty"),
    ("status <> 'working'", lambda f: f.status != "working"),
    ("flow_lps > 12.5", lambda f: f.flow_lps > 12.5),
    ("flow_lps <= 11 OR flow_lps IS NULL", lambda f: (f.flow_lps <= 11) | f.flow_lps.isna()),
    ("NOT (flow_lps > 12)", lambda f: f.flow_lps <= 12),  # NULL stays unknown: not returned
    ("flow_lps BETWEEN 11 AND 13", lambda f: f.flow_lps.between(11, 13)),
    ("status IN ('faulty', 'out_of_service')", lambda f: f.status.isin(["faulty", "out_of_service"])),
    ("kind LIKE 'under%'", lambda f: f.kind.str.startswith("under")),
    ("kind LIKE '_all'", lambda f: f.kind == "wall"),
    ("CASEI(kind) = CASEI('WALL')", lambda f: f.kind == "wall"),
    ("flow_lps IS NULL", lambda f: f.flow_lps.isna()),
    ("NOT flow_lps IS NULL AND status = 'working'", lambda f: f.flow_lps.notna() & (f.status == "working")),
    ("id < 50 OR id >= 790", lambda f: (f.id < 50) | (f.id >= 790)),
    (f"S_INTERSECTS(geometry, BBOX({', '.join(map(str, BOX))}))",
     lambda f: shapely.intersects(f.geometry.values, shapely.box(*BOX))),
    (f"S_WITHIN(geometry, {POLY}) AND status = 'working'",
     lambda f: shapely.within(f.geometry.values, shapely.from_wkt(POLY)) & (f.status == "working")),
    (f"S_DISJOINT(geometry, {POLY})", lambda f: shapely.disjoint(f.geometry.values, shapely.from_wkt(POLY))),
    ("T_BEFORE(last_inspected, DATE('2020-06-01'))",
     lambda f: pd.to_datetime(f.last_inspected) < pd.Timestamp("2020-06-01")),
    ("T_AFTER(last_inspected, DATE('2023-01-01')) AND status IN ('faulty','under_repair')",
     lambda f: (pd.to_datetime(f.last_inspected) > pd.Timestamp("2023-01-01"))
     & f.status.isin(["faulty", "under_repair"])),
    ("T_DURING(last_inspected, INTERVAL('2020-01-01', '2020-12-31'))",
     lambda f: pd.to_datetime(f.last_inspected).between(pd.Timestamp("2020-01-01"), pd.Timestamp("2020-12-31"),
                                                         inclusive="neither")),
    ("T_DURING(last_inspected, INTERVAL('2023-06-01', '..'))",
     lambda f: pd.to_datetime(f.last_inspected) > pd.Timestamp("2023-06-01")),
    ("last_inspected >= DATE('2024-01-01')", lambda f: pd.to_datetime(f.last_inspected) >= pd.Timestamp("2024-01-01")),
]

COMPOUND_CORPUS = [
    ("name LIKE '%1%村'", lambda f: f.name.str.contains("1") & f.name.str.endswith("村")),
    ("build_year < 2000 AND households > 1000", lambda f: (f.build_year < 2000) & (f.households > 1000)),
    ("households > build_year", lambda f: f.households > f.build_year),  # property-property
    ("street = '梅陇镇' AND NOT build_year BETWEEN 1990 AND 2010",
     lambda f: (f.street == "梅陇镇") & ~f.build_year.between(1990, 2010)),
    ("S_CONTAINS(geometry, POINT(121.4315 31.1215))",
     lambda f: shapely.contains(f.geometry.values, shapely.Point(121.4315, 31.1215))),
    (f"S_OVERLAPS(geometry, {POLY}) OR S_TOUCHES(geometry, {POLY})",
     lambda f: shapely.overlaps(f.geometry.values, shapely.from_wkt(POLY))
     | shapely.touches(f.geometry.values, shapely.from_wkt(POLY))),
]


def columns(frame, spec) -> cql.Columns:
    values = {fs.name: frame[fs.name].astype(object).where(frame[fs.name].notna(), None).to_numpy()
              for fs in spec.fields if fs.name in frame.columns}
    return cql.Columns(frame["id"].astype(int).to_numpy(), np.asarray(frame.geometry.values, dtype=object), values)


def expected_ids(frame, mask_fn) -> list[int]:
    mask = pd.Series(mask_fn(frame), index=frame.index).fillna(False).astype(bool)
    return sorted(frame["id"][mask].astype(int).tolist())


@pytest.mark.parametrize("text, truth", HYDRANT_CORPUS + COMPOUND_CORPUS, ids=lambda v: v if isinstance(v, str) else "")
def test_numpy_evaluation_equals_an_independent_one(catalog, text, truth):
    frame, layer = (H, "fire_hydrants") if (text, truth) in HYDRANT_CORPUS else (C, "compounds")
    spec = catalog.get(layer)
    node = cql.parse(text, spec)
    got = sorted(frame["id"][cql.evaluate(node, columns(frame, spec))].astype(int).tolist())
    assert got == expected_ids(frame, truth)


def test_cql2_json_is_the_same_filter(catalog):
    spec = catalog.get("fire_hydrants")
    as_json = {"op": "and", "args": [{"op": "=", "args": [{"property": "status"}, "faulty"]},
                                     {"op": ">", "args": [{"property": "flow_lps"}, 12]}]}
    a = cql.evaluate(cql.parse(as_json, spec, "cql2-json"), columns(H, spec))
    b = cql.evaluate(cql.parse("status = 'faulty' AND flow_lps > 12", spec), columns(H, spec))
    assert (a == b).all() and a.any()


@pytest.mark.parametrize("text, words", [
    ("status = ", ["line 1, column 10", "expected"]),
    ("colour = 'red'", ["'colour' is not a queryable", "status"]),
    ("flow_lps = 'high'", ["cannot be compared"]),
    ("kind LIKE 5", ["cannot be compared"]),
    ("flow_lps LIKE '1%'", ["LIKE compares text"]),
    ("pg_sleep(10) = 1", ["unknown or unsupported function 'pg_sleep'"]),
    ("S_INTERSECTS(status, POINT(1 2))", ["two geometries"]),
    ("T_BEFORE(status, DATE('2020-01-01'))", ["date property"]),
    ("last_inspected < DATE('2020-13-45')", ["is not a date"]),
    ("status = 'x'; DROP TABLE fire_hydrants", ["cannot parse"]),
])
def test_bad_filters_say_what_and_where(catalog, text, words):
    with pytest.raises(cql.CqlError) as e:
        cql.parse(text, catalog.get("fire_hydrants"))
    for w in words:
        assert w in str(e.value), str(e.value)
    assert e.value.status == 400


def test_filter_crs_converts_geometry_literals(catalog):
    """filter-crs: a literal in EPSG:4326 (lat, lon order) means the same place as CRS84 (lon, lat)."""
    spec = catalog.get("fire_hydrants")
    lonlat = cql.parse(f"S_INTERSECTS(geometry, BBOX({BOX[0]}, {BOX[1]}, {BOX[2]}, {BOX[3]}))", spec)
    latlon = cql.parse(f"S_INTERSECTS(geometry, POLYGON(({BOX[1]} {BOX[0]}, {BOX[1]} {BOX[2]}, {BOX[3]} {BOX[2]}, "
                       f"{BOX[3]} {BOX[0]}, {BOX[1]} {BOX[0]})))", spec,
                       crs="http://www.opengis.net/def/crs/EPSG/0/4326")
    cols = columns(H, spec)
    assert (cql.evaluate(lonlat, cols) == cql.evaluate(latlon, cols)).all()


# ------------------------------------------------------------------ the same corpus as SQL on PostGIS

@pytest.fixture(scope="module")
def pg_store(catalog):
    from tests import pg

    store = pg.throwaway_store(catalog)
    store.import_frame("fire_hydrants", H, mode="replace")
    store.import_frame("compounds", C, mode="replace")
    yield store
    store.close()


@pytest.mark.parametrize("text, truth", HYDRANT_CORPUS + COMPOUND_CORPUS, ids=lambda v: v if isinstance(v, str) else "")
def test_sql_equals_the_independent_evaluation(pg_store, catalog, text, truth):
    from psycopg import sql

    frame, layer = (H, "fire_hydrants") if (text, truth) in HYDRANT_CORPUS else (C, "compounds")
    condition, params = cql.to_sql(cql.parse(text, catalog.get(layer)), catalog.get(layer))
    query = sql.SQL("SELECT id FROM {} WHERE {} ORDER BY id").format(sql.Identifier(layer), condition)
    with pg_store._pool.connection() as conn:
        got = [r[0] for r in conn.execute(query, params)]
    assert got == expected_ids(frame, truth)


@pytest.mark.parametrize("text", ["kind = 'x'' OR ''1''=''1'", "kind = '--'", "kind LIKE '%; DROP TABLE x; --'",
                                  "kind = 'a\\'b'", "kind = '\\u0027'"])
def test_literals_never_become_sql(pg_store, catalog, text):
    from psycopg import sql

    try:
        condition, params = cql.to_sql(cql.parse(text, catalog.get("fire_hydrants")), catalog.get("fire_hydrants"))
    except cql.CqlError:
        return  # refused is fine; pasted into SQL is not
    rendered = condition.as_string(None) if hasattr(condition, "as_string") else str(condition)
    assert "DROP" not in rendered and "'" not in rendered.replace("'UTC'", "")
    with pg_store._pool.connection() as conn:
        conn.execute(sql.SQL("SELECT count(*) FROM fire_hydrants WHERE {}").format(condition), params).fetchone()
        assert conn.execute("SELECT count(*) FROM fire_hydrants").fetchone()[0] == len(H)
