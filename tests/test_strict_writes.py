"""Strict writes (issue 13): a body the server would not fully apply is refused, never half-honoured.

Before, `PATCH {"propertie": {...}}` or `{"foo": 1}` answered 200 and changed nothing, so the client
believed the edit saved; an empty If-Match answered 412 as if it were a stale tag.
"""

from __future__ import annotations

import pytest

from tests.test_api_edits import ITEMS, as_, hydrant, make_client, some_hydrant, store  # noqa: F401 - fixtures


@pytest.fixture
def client(make_client):  # noqa: F811 - the fixture imported above
    return make_client()


def _state(client, fid):
    s = store(client)
    return s.get("fire_hydrants", fid), len(s.history("fire_hydrants", fid)), s.version("fire_hydrants")


@pytest.mark.parametrize("body, named", [
    ({"propertie": {"status": "faulty"}}, "propertie"),
    ({"foo": 1}, "foo"),
    ({"type": "Feature", "properties": {"status": "faulty"}, "colour": "red"}, "colour"),
])
def test_patch_with_unknown_members_is_422_and_changes_nothing(client, body, named):
    fid = some_hydrant(client)
    before = _state(client, fid)
    r = client.patch(f"{ITEMS}/{fid}", json=body, headers=as_("erin"))
    assert r.status_code == 422, r.text
    assert named in [e["field"] for e in r.json()["errors"]]
    assert _state(client, fid) == before  # no change, no audit row, no new version


def test_put_with_an_unknown_member_is_422(client):
    fid = some_hydrant(client)
    before = _state(client, fid)
    body = {**hydrant("faulty"), "propreties": {"status": "working"}}
    r = client.put(f"{ITEMS}/{fid}", json=body, headers=as_("erin"))
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["propreties"]
    assert _state(client, fid) == before


def test_post_with_an_unknown_member_is_422(client):
    n = store(client).count("fire_hydrants")
    r = client.post(ITEMS, json={**hydrant(), "attributes": {}}, headers=as_("erin"))
    assert r.status_code == 422 and "attributes" in r.text
    assert store(client).count("fire_hydrants") == n


@pytest.mark.parametrize("body", [{}, {"type": "Feature"}, {"type": "Feature", "id": 1}])
def test_an_empty_patch_is_400(client, body):
    fid = some_hydrant(client)
    before = _state(client, fid)
    r = client.patch(f"{ITEMS}/{fid}", json={**body, **({"id": fid} if "id" in body else {})}, headers=as_("erin"))
    assert r.status_code == 400 and "changes nothing" in r.json()["description"]
    assert _state(client, fid) == before


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_an_empty_if_match_is_400_not_412(client, method):
    fid = some_hydrant(client)
    kwargs = {} if method == "delete" else {"json": hydrant("faulty") if method == "put" else
                                           {"properties": {"status": "faulty"}}}
    r = getattr(client, method)(f"{ITEMS}/{fid}", headers={**as_("erin"), "If-Match": " "}, **kwargs)
    assert r.status_code == 400 and "If-Match is empty" in r.json()["description"]
    before_status = store(client).get("fire_hydrants", fid)["properties"]["status"]  # still there: not deleted
    assert before_status != "faulty"


def test_geojson_members_that_are_allowed_still_work(client):
    fid = some_hydrant(client)
    body = {"type": "Feature", "id": fid, "bbox": [121.39, 31.12, 121.40, 31.13], "links": [],
            "properties": {"status": "faulty"}}
    r = client.patch(f"{ITEMS}/{fid}", json=body, headers=as_("erin"))
    assert r.status_code == 200 and r.json()["properties"]["status"] == "faulty"
