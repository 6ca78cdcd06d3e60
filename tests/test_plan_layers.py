"""Catalog abilities used by the planning layers, on every store: layers without geometry, references
between layers (``ref:``), list fields, and lifecycles declared with ``transitions:``."""

from __future__ import annotations

import itertools

import pytest
import shapely
from shapely.geometry import box

from geo_service.store.base import Conflict, Filter, InvalidFeature, Query

PLAN_STATES = ["proposed", "consulting", "public_notice", "approved", "in_progress", "completed", "accepted",
               "cancelled"]
PLAN_NEXT = {"proposed": {"consulting", "cancelled"}, "consulting": {"public_notice", "cancelled"},
             "public_notice": {"approved", "cancelled"}, "approved": {"in_progress", "cancelled"},
             "in_progress": {"completed", "cancelled"}, "completed": {"accepted", "cancelled"},
             "accepted": {"cancelled"}, "cancelled": set()}
AGREEMENT_STATES = ["proposed", "negotiating", "signed", "active", "expired", "terminated"]
AGREEMENT_NEXT = {"proposed": {"negotiating", "terminated"}, "negotiating": {"signed", "terminated"},
                  "signed": {"active", "terminated"}, "active": {"expired", "terminated"},
                  "expired": set(), "terminated": set()}


@pytest.fixture
def store(make_store):
    s = make_store()
    s.create("compounds", {"name": "春申小区", "households": 800, "street": "梅陇镇"},
             box(121.40, 31.10, 121.402, 31.102), feature_id=1)
    s.create("compounds", {"name": "莲花小区", "households": 500, "street": "古美路街道"},
             box(121.41, 31.10, 121.412, 31.102), feature_id=2)
    s.create("parking_facilities", {"kind": "public", "capacity": 100}, shapely.Point(121.403, 31.101),
             feature_id=1)
    return s


def plan(store, **props):
    base = {"compound": 1, "year": 2027, "status": "proposed"}
    return store.create("renovation_plans", {**base, **props}, None)


def test_layer_without_geometry_has_null_geometry(store):
    fid = plan(store, tier="upgrade", categories=["elevators"])
    assert store.get("renovation_plans", fid)["geometry"] is None
    page = store.geojson_page("renovation_plans")
    assert b'"geometry":null' in page.features[0]
    assert store.extent("renovation_plans") is None
    with pytest.raises(InvalidFeature, match="has no geometry"):
        store.create("renovation_plans", {"compound": 1, "year": 2027, "status": "proposed"},
                     shapely.Point(121.4, 31.1))


def test_list_field_round_trip_and_filter(store):
    a = plan(store, categories=["电梯", "ebike_charging"])  # a label alias and a code
    b = plan(store, compound=2, categories="楼道、消防")  # spreadsheet text
    assert store.get("renovation_plans", a)["properties"]["categories"] == ["elevators", "ebike_charging"]
    assert store.get("renovation_plans", b)["properties"]["categories"] == ["stairwells", "fire_safety"]
    store.update("renovation_plans", a, {"categories": ["greenery"]})
    assert store.get("renovation_plans", a)["properties"]["categories"] == ["greenery"]

    def ids(flt):
        return sorted(store.query("renovation_plans", Query(filters=[flt])).features.index.tolist())

    assert ids(Filter("categories", "eq", "greenery")) == [a]
    assert ids(Filter("categories", "eq", "消防")) == [b]
    assert ids(Filter("categories", "in", ["greenery", "stairwells"])) == [a, b]
    assert ids(Filter("categories", "ne", "greenery")) == [b]
    with pytest.raises(InvalidFeature, match="not one of"):
        plan(store, categories=["swimming_pool"])


def test_reference_unknown_and_delete_refused(store):
    with pytest.raises(InvalidFeature, match="no compounds feature with id 99"):
        plan(store, compound=99)
    fid = plan(store)
    with pytest.raises(InvalidFeature, match="no compounds feature"):
        store.update("renovation_plans", fid, {"compound": 77})
    with pytest.raises(Conflict, match="renovation_plans feature"):
        store.delete("compounds", 1)
    assert store.count("compounds") == 2
    store.delete("renovation_plans", fid)
    store.delete("compounds", 1)
    assert store.count("compounds") == 1


def _walk_to(store, layer, fid, path):
    for state in path:
        store.update(layer, fid, {"status": state})


def _path(nexts, start, target):
    """A legal route from start to target (breadth first)."""
    seen, frontier = {start: [start]}, [start]
    while frontier:
        nxt = []
        for s in frontier:
            for t in sorted(nexts[s]):
                if t not in seen:
                    seen[t] = seen[s] + [t]
                    nxt.append(t)
        frontier = nxt
    return seen[target][1:]


@pytest.mark.parametrize("layer", ["renovation_plans", "parking_agreements"])
def test_every_transition(store, layer):
    states, nexts = (PLAN_STATES, PLAN_NEXT) if layer == "renovation_plans" else (AGREEMENT_STATES, AGREEMENT_NEXT)
    line = shapely.LineString([(121.401, 31.101), (121.403, 31.101)])
    geometry = None if layer == "renovation_plans" else line
    props = {"compound": 1, "year": 2027} if layer == "renovation_plans" else {"compound": 1, "lot": 1, "spaces": 10}
    for before, after in itertools.product(states, states):
        fid = store.create(layer, {**props, "status": "proposed"}, geometry)
        _walk_to(store, layer, fid, _path(nexts, "proposed", before))
        assert store.get(layer, fid)["properties"]["status"] == before
        if after == before or after in nexts[before]:
            store.update(layer, fid, {"status": after})
            assert store.get(layer, fid)["properties"]["status"] == after
        else:
            with pytest.raises(InvalidFeature, match=f"cannot go from '{before}' to '{after}'") as err:
                store.update(layer, fid, {"status": after})
            allowed = ", ".join(s for s in states if s in nexts[before]) or "none"
            assert allowed.split(",")[0] in str(err.value)
            assert store.get(layer, fid)["properties"]["status"] == before
        store.delete(layer, fid)
