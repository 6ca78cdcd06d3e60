"""OGC API - Features Part 3 and CQL2 2.0: one test per conformance class the service declares, on both stores.

Each sends an expression from the class (the standard's examples adapted to this catalog) and compares
the ids with an independent pandas/shapely evaluation of the demo file.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import shapely

from tests.test_api_filter import client, frames, ids, places  # noqa: F401 - fixtures

P3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"


def truth_ids(frame, mask) -> list[int]:
    return sorted(frame.index[pd.Series(mask, index=frame.index).fillna(False).astype(bool)].tolist())


def declared(client) -> set[str]:  # noqa: F811
    return set(client.get("/conformance").json()["conformsTo"])


def test_req_filter_filter_param(client, frames):  # noqa: F811
    assert P3 + "filter" in declared(client)
    f = frames["fire_hydrants"]
    assert ids(client, "fire_hydrants", filter="status = 'faulty'") == truth_ids(f, f.status == "faulty")


def test_req_features_filter_items_and_paging(client, frames):  # noqa: F811
    assert P3 + "features-filter" in declared(client)
    doc = client.get("/collections/fire_hydrants/items", params={"filter": "status = 'faulty'", "limit": 5}).json()
    f = frames["fire_hydrants"]
    assert doc["numberMatched"] == int((f.status == "faulty").sum()) and doc["numberReturned"] == 5


def test_req_cql2_text(client, frames):  # noqa: F811
    assert CQL2 + "cql2-text" in declared(client)
    f = frames["fire_hydrants"]
    assert ids(client, "fire_hydrants", filter="kind = 'wall' OR flow_lps > 18", **{"filter-lang": "cql2-text"}) \
        == truth_ids(f, (f.kind == "wall") | (f.flow_lps > 18))


def test_req_cql2_json(client, frames):  # noqa: F811
    assert CQL2 + "cql2-json" in declared(client)
    expr = {"op": "or", "args": [{"op": "=", "args": [{"property": "kind"}, "wall"]},
                                 {"op": ">", "args": [{"property": "flow_lps"}, 18]}]}
    f = frames["fire_hydrants"]
    assert ids(client, "fire_hydrants", filter=json.dumps(expr), **{"filter-lang": "cql2-json"}) \
        == truth_ids(f, (f.kind == "wall") | (f.flow_lps > 18))


def test_req_basic_cql2_comparisons_logic_and_null(client, frames):  # noqa: F811
    assert CQL2 + "basic-cql2" in declared(client)
    f = frames["fire_hydrants"]
    assert ids(client, "fire_hydrants", filter="NOT (status <> 'working') AND flow_lps >= 12") \
        == truth_ids(f, (f.status == "working") & (f.flow_lps >= 12))
    assert ids(client, "fire_hydrants", filter="flow_lps IS NULL") == truth_ids(f, f.flow_lps.isna())
    assert ids(client, "fire_hydrants", filter="NOT flow_lps IS NULL") == truth_ids(f, f.flow_lps.notna())


def test_req_advanced_comparison_operators(client, frames):  # noqa: F811
    assert CQL2 + "advanced-comparison-operators" in declared(client)
    f, c = frames["fire_hydrants"], frames["compounds"]
    assert ids(client, "fire_hydrants", filter="flow_lps BETWEEN 10 AND 12") == truth_ids(f, f.flow_lps.between(10, 12))
    assert ids(client, "fire_hydrants", filter="status IN ('faulty', 'unknown')") == truth_ids(
        f, f.status.isin(["faulty", "unknown"]))
    assert ids(client, "compounds", filter="name LIKE '%村'") == truth_ids(c, c.name.str.endswith("村"))


def test_req_case_insensitive_comparison(client, frames):  # noqa: F811
    assert CQL2 + "case-insensitive-comparison" in declared(client)
    f = frames["fire_hydrants"]
    assert ids(client, "fire_hydrants", filter="CASEI(status) = casei('FAULTY')") == truth_ids(f, f.status == "faulty")


def test_req_basic_spatial_functions(client, frames, places):  # noqa: F811
    assert CQL2 + "basic-spatial-functions" in declared(client)
    f = frames["fire_hydrants"]
    box = tuple(round(v, 6) for v in places[0])
    text = f"S_INTERSECTS(geometry, BBOX({','.join(f'{v:.6f}' for v in box)}))"
    assert ids(client, "fire_hydrants", filter=text) == truth_ids(f, shapely.intersects(f.geometry.values,
                                                                                         shapely.box(*box)))
    pt = f.geometry.iloc[3]
    assert ids(client, "fire_hydrants", filter=f"S_INTERSECTS(geometry, POINT({pt.x!r} {pt.y!r}))") == \
        truth_ids(f, shapely.intersects(f.geometry.values, pt))


@pytest.mark.parametrize("fn", ["S_WITHIN", "S_CONTAINS", "S_DISJOINT", "S_EQUALS", "S_TOUCHES", "S_OVERLAPS",
                                "S_CROSSES"])
def test_req_spatial_functions(client, frames, places, fn):  # noqa: F811
    assert CQL2 + "spatial-functions" in declared(client)
    c = frames["compounds"]
    box = shapely.box(*(round(v, 6) for v in places[0]))
    wkt = shapely.to_wkt(box, rounding_precision=6)
    ops = {"S_WITHIN": shapely.within, "S_CONTAINS": shapely.contains, "S_DISJOINT": shapely.disjoint,
           "S_EQUALS": shapely.equals, "S_TOUCHES": shapely.touches, "S_OVERLAPS": shapely.overlaps,
           "S_CROSSES": shapely.crosses}
    assert ids(client, "compounds", filter=f"{fn}(geometry, {wkt})") == truth_ids(
        c, ops[fn](c.geometry.values, shapely.from_wkt(wkt)))


def test_req_temporal_functions(client, frames):  # noqa: F811
    assert CQL2 + "temporal-functions" in declared(client)
    f = frames["fire_hydrants"]
    when = pd.to_datetime(f.last_inspected)
    assert ids(client, "fire_hydrants", filter="T_BEFORE(last_inspected, DATE('2023-01-01'))") == truth_ids(
        f, when < pd.Timestamp("2023-01-01"))
    assert ids(client, "fire_hydrants", filter="T_AFTER(last_inspected, TIMESTAMP('2024-06-01T00:00:00Z'))") == \
        truth_ids(f, when > pd.Timestamp("2024-06-01"))
    assert ids(client, "fire_hydrants", filter="T_DURING(last_inspected, INTERVAL('2023-01-01', '2023-12-31'))") == \
        truth_ids(f, (when > pd.Timestamp("2023-01-01")) & (when < pd.Timestamp("2023-12-31")))


def test_req_property_property(client, frames):  # noqa: F811
    assert CQL2 + "property-property" in declared(client)
    c = frames["compounds"]
    assert ids(client, "compounds", filter="parking_spaces < households") == truth_ids(
        c, c.parking_spaces < c.households)
