"""The planning layers through the API, on both backends: features with "geometry": null, list fields
as JSON arrays and as filters, references and lifecycles as 422s/409s naming what is allowed, and the
import of a street's plan sheet with Chinese headers."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from geo_service.api.app import create_app
from geo_service.ingest.importer import ImportFailed, import_file
from geo_service.settings import ApiKey
from geo_service.store.base import Query

KEY = "editor-key-erin-456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
PLANS = "/collections/renovation_plans/items"


@pytest.fixture
def client(backend):
    keys = [ApiKey(name="erin", role="editor", sha256=hashlib.sha256(KEY.encode()).hexdigest())]
    with TestClient(create_app(backend.settings(api_keys=keys))) as c:
        yield c


def _compound_ids(client, n=3):
    body = client.get("/collections/compounds/items", params={"limit": n}).json()
    return [f["id"] for f in body["features"]]


def _plan(compound, status="proposed", **props):
    return {"type": "Feature", "geometry": None,
            "properties": {"compound": compound, "year": 2031, "status": status, **props}}


def test_plans_through_the_api(client):
    a, b, _ = _compound_ids(client)
    r = client.post(PLANS, json=_plan(a, categories=["ebike_charging", "电梯"], tier="提升版"), headers=AUTH)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["geometry"] is None
    assert first["properties"]["categories"] == ["ebike_charging", "elevators"]
    r = client.post(PLANS, json=_plan(b, categories=["greenery"]), headers=AUTH)
    second = r.json()["id"]

    page = client.get(PLANS, params={"year": 2031}).json()
    assert {f["id"] for f in page["features"]} == {first["id"], second}
    assert all(f["geometry"] is None for f in page["features"])
    hits = client.get(PLANS, params={"categories": "ebike_charging", "year": 2031}).json()["features"]
    assert [f["id"] for f in hits] == [first["id"]]
    hits = client.get(PLANS, params={"categories": "绿化", "year": 2031}).json()["features"]  # an alias
    assert [f["id"] for f in hits] == [second]
    assert client.get(PLANS, params={"categories": "pool"}).status_code == 400
    cql = client.get(PLANS, params={"filter": "categories = 'greenery'"})
    assert cql.status_code == 400 and "categories=VALUE" in cql.text

    # lifecycle: an illegal jump names the allowed next states; a legal one goes through
    url = f"{PLANS}/{first['id']}"
    r = client.patch(url, json={"properties": {"status": "approved"}}, headers=AUTH)
    assert r.status_code == 422 and "consulting, cancelled" in r.text
    r = client.patch(url, json={"properties": {"status": "consulting", "consulting_on": "2031-03-01"}},
                     headers=AUTH)
    assert r.status_code == 200, r.text
    r = client.put(url, json=_plan(a, status="accepted"), headers=AUTH)
    assert r.status_code == 422 and "public_notice, cancelled" in r.text

    # references: unknown compound 422; deleting a compound a plan names is refused with a message
    assert client.post(PLANS, json=_plan(9_999_999), headers=AUTH).status_code == 422
    r = client.delete(f"/collections/compounds/items/{a}", headers=AUTH)
    assert r.status_code == 409 and "renovation_plans" in r.text
    assert client.get(f"/collections/compounds/items/{a}").status_code == 200


SHEET = """小区名称,街道,年度,改造类别,改造版本,预算,方案状态
{a},{sa},2032,电梯、充电,提升版,120.5,拟定
{b},{sb},2032,"[""greenery"", ""消防""]",基础版,80,征询
"""


def test_plan_sheet_import_matches_compounds_by_name(backend, tmp_path):
    store = backend.open_store()
    try:
        comp = store.query("compounds", Query(properties=["name", "street"], limit=2)).features
        (ia, a), (ib, b) = list(comp["name"].items())
        sa, sb = comp["street"].iloc[0], comp["street"].iloc[1]
        path = tmp_path / "plans.csv"
        path.write_text(SHEET.format(a=a, b=b, sa=sa, sb=sb), encoding="utf-8")
        import_file(store, path, "renovation_plans")
        got = store.query("renovation_plans", Query(filters=[])).features
        got = got[got["year"] == 2032].sort_values("compound")
        assert sorted(got["compound"].tolist()) == sorted([ia, ib])
        row = got[got["compound"] == ia].iloc[0]
        assert row["categories"] == ["elevators", "ebike_charging"] and row["tier"] == "upgrade"
        assert row["budget"] == 120.5
        assert got[got["compound"] == ib].iloc[0]["categories"] == ["greenery", "fire_safety"]

        bad = tmp_path / "bad.csv"
        bad.write_text("小区名称,年度,方案状态\n没有这个小区,2032,拟定\n", encoding="utf-8")
        with pytest.raises(ImportFailed, match="no compounds feature has the id, source id or name '没有这个小区'"):
            import_file(store, bad, "renovation_plans")
    finally:
        store.close()


def test_ambiguous_name_names_the_candidates(make_store, tmp_path):
    import shapely

    store = make_store()
    for i, street in enumerate(["梅陇镇", "古美路街道"]):
        store.create("compounds", {"name": "新村", "street": street, "households": 10},
                     shapely.box(121.4 + i / 100, 31.1, 121.401 + i / 100, 31.101))
    sheet = tmp_path / "p.csv"
    sheet.write_text("小区名称,年度,方案状态\n新村,2030,拟定\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as err:
        import_file(store, sheet, "renovation_plans")
    assert "'新村' names 2 compounds features: id 1 (梅陇镇), id 2 (古美路街道)" in str(err.value)
    sheet.write_text("小区名称,街道,年度,方案状态\n新村,古美路街道,2030,拟定\n", encoding="utf-8")
    import_file(store, sheet, "renovation_plans")
    assert store.frame("renovation_plans")["compound"].tolist() == [2]


def test_keyed_reimport_follows_the_lifecycle(make_store, tmp_path):
    import shapely

    store = make_store()
    store.create("compounds", {"name": "春申", "households": 10}, shapely.box(121.4, 31.1, 121.401, 31.101))
    sheet = tmp_path / "p.csv"
    sheet.write_text("方案编号,小区名称,年度,方案状态\nP1,春申,2030,拟定\n", encoding="utf-8")
    import_file(store, sheet, "renovation_plans", mode="upsert")
    sheet.write_text("方案编号,小区名称,年度,方案状态\nP1,春申,2030,已验收\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="cannot go from 'proposed' to 'accepted'"):
        import_file(store, sheet, "renovation_plans", mode="upsert")
    sheet.write_text("方案编号,小区名称,年度,方案状态\nP1,春申,2030,征询\n", encoding="utf-8")
    report = import_file(store, sheet, "renovation_plans", mode="upsert")
    assert report.updated == 1
    assert store.frame("renovation_plans")["status"].tolist() == ["consulting"]


def test_compound_plan_endpoint(client):
    a = _compound_ids(client, 1)[0]
    body = client.get(f"/compounds/{a}/plan", params={"year": 2040}).json()
    assert body["year"] == 2040 and body["plan"] is None and "tier" in body["suggested"]
    r = client.post(PLANS, json=_plan(a, status="approved", tier="basic") | {"properties": {
        "compound": a, "year": 2040, "status": "approved", "tier": "basic"}}, headers=AUTH)
    assert r.status_code == 201, r.text
    body = client.get(f"/compounds/{a}/plan", params={"year": 2040}).json()
    assert body["plan"]["tier_zh"] == "基础版" and body["plan"]["status_zh"] == "已批准"
    assert client.get("/compounds/99999999/plan").status_code == 404


def test_sheet_without_plan_ids_is_keyed_on_compound_and_year(make_store, tmp_path):
    import shapely

    store = make_store()
    store.create("compounds", {"name": "春申", "households": 10}, shapely.box(121.4, 31.1, 121.401, 31.101))
    sheet = tmp_path / "p.csv"
    sheet.write_text("小区名称,年度,改造类别,预算,方案状态\n春申,2030,充电,50,拟定\n", encoding="utf-8")
    import_file(store, sheet, "renovation_plans", mode="upsert")
    sheet.write_text("小区名称,年度,改造类别,预算,方案状态\n春申,2030,充电、消防,65,征询\n", encoding="utf-8")
    report = import_file(store, sheet, "renovation_plans", mode="upsert")
    assert (report.imported, report.updated) == (0, 1)
    (plan,) = store.frame("renovation_plans").to_dict("records")
    assert plan["source_id"] == "1-2030" and plan["budget"] == 65 and plan["status"] == "consulting"
    assert plan["categories"] == ["fire_safety", "ebike_charging"] or plan["categories"] == [
        "ebike_charging", "fire_safety"]
    with pytest.raises(ImportFailed, match="already stored"):  # append: one plan per compound and year
        import_file(store, sheet, "renovation_plans")


def test_one_plan_per_compound_and_year(make_store, tmp_path):
    import shapely

    from geo_service.store.base import Conflict

    store = make_store()
    store.create("compounds", {"name": "春申", "households": 10}, shapely.box(121.4, 31.1, 121.401, 31.101))
    first = store.create("renovation_plans", {"compound": 1, "year": 2030, "status": "proposed"}, None)
    with pytest.raises(Conflict, match=f"feature {first} already has compound=1, year=2030"):
        store.create("renovation_plans", {"compound": 1, "year": 2030, "status": "proposed"}, None)
    other = store.create("renovation_plans", {"compound": 1, "year": 2031, "status": "proposed"}, None)
    with pytest.raises(Conflict, match="already has"):
        store.update("renovation_plans", other, {"year": 2030})
    store.update("renovation_plans", first, {"status": "consulting"})  # its own key is no clash
    sheet = tmp_path / "p.csv"
    sheet.write_text("方案编号,小区名称,年度,方案状态\nX-1,春申,2030,拟定\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match=f"compound=1, year=2030: already feature {first}"):
        import_file(store, sheet, "renovation_plans", mode="upsert")
    assert store.count("renovation_plans") == 2


def test_import_names_compounds_by_id_or_source_id(make_store, tmp_path):
    import shapely

    store = make_store()
    for i in range(3):
        store.create("compounds", {"name": f"村{i}", "households": 10, "source_id": f"MH-{i:03d}"},
                     shapely.box(121.4 + i / 100, 31.1, 121.401 + i / 100, 31.101))
    sheet = tmp_path / "p.csv"
    sheet.write_text("小区,年度,方案状态\n2,2030,拟定\nMH-002,2030,拟定\n", encoding="utf-8")
    import_file(store, sheet, "renovation_plans")
    assert sorted(store.frame("renovation_plans")["compound"]) == [2, 3]
    sheet.write_text("小区,年度,方案状态\n99,2031,拟定\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="no compounds feature has the id, source id or name '99'"):
        import_file(store, sheet, "renovation_plans")


def test_street_plan_workbook_imports_like_the_sheet(make_store, tmp_path):
    """Issue 16 item 6: a street office's .xlsx (a merged title row above Chinese headers) goes into
    renovation_plans with compounds named by name, and a second delivery upserts on compound and year."""
    import openpyxl
    import shapely

    store = make_store()
    for i, name in enumerate(["春申一村", "春申二村"]):
        store.create("compounds", {"name": name, "street": "梅陇镇", "households": 100},
                     shapely.box(121.4 + i / 100, 31.1, 121.401 + i / 100, 31.101))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "2030年计划"
    sheet.append(["梅陇镇 2030 年美丽家园改造计划"])
    sheet.merge_cells("A1:F1")
    sheet.append(["小区名称", "街道", "年度", "改造类别", "预算", "方案状态"])
    sheet.append(["春申一村", "梅陇镇", 2030, "电梯、充电", 120.5, "拟定"])
    sheet.append(["春申二村", "梅陇镇", 2030, "消防", 80, "征询"])
    path = tmp_path / "plans.xlsx"
    book.save(path)
    report = import_file(store, path, "renovation_plans", mode="upsert")
    assert report.imported == 2
    plans = store.frame("renovation_plans").sort_values("compound")
    assert plans["compound"].tolist() == [1, 2] and plans["budget"].tolist() == [120.5, 80.0]
    assert plans["categories"].iloc[0] == ["elevators", "ebike_charging"]
    assert plans["status"].tolist() == ["proposed", "consulting"]
    sheet["E3"] = 150  # the next delivery: a new budget for 春申一村
    book.save(path)
    again = import_file(store, path, "renovation_plans", mode="upsert")
    assert (again.imported, again.updated, again.unchanged) == (0, 1, 1)
    assert store.frame("renovation_plans").sort_values("compound")["budget"].tolist() == [150.0, 80.0]
