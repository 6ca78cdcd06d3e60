"""The API (GET /analysis/{name}) and the CLI (geo-service analyse) give the numbers the functions give,
on each store kind (GeoPackage, PostGIS)."""

from __future__ import annotations

import inspect
import io
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from geo_service.analysis import defaults as D
from geo_service.analysis.registry import REGISTRY
from geo_service.api.app import create_app
from geo_service.cli import app as cli_app

NAMES = list(REGISTRY)


@pytest.fixture(scope="module")
def demo_frames(shared_backend):
    """The demo layers as the store kind under test reads them (the reference the API must agree with)."""
    store = shared_backend.open_store()
    return {layer.id: store.frame(layer.id) for layer in store.catalog}


@pytest.fixture(scope="module")
def expected(demo_frames):
    """Each analysis run directly on the store's frames with its defaults."""
    return {name: REGISTRY[name].run(demo_frames) for name in NAMES}


@pytest.fixture
def client(backend):
    with TestClient(create_app(backend.settings())) as c:
        yield c


def _same_table(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same rows and values (floats to 1e-9), ignoring dtypes JSON/CSV cannot carry."""
    assert len(got) == len(want)
    for column in want.columns:
        a, b = got[column].tolist(), want[column].tolist()
        for x, y in zip(a, b, strict=True):
            if x is None or (isinstance(x, float) and np.isnan(x)) or x == "" or pd.isna(x):
                assert y is None or y == "" or pd.isna(y), (column, x, y)
            elif _number(x) is not None and _number(y) is not None:
                assert _number(x) == pytest.approx(_number(y), rel=1e-9, abs=1e-9), (column, x, y)
            else:
                assert str(x) == str(y), (column, x, y)


def _number(v) -> float | None:
    """v as a float when it is a number or a numeric string (CSV cells lose their types)."""
    if isinstance(v, bool | np.bool_):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _properties(body: dict) -> pd.DataFrame:
    return pd.DataFrame([f["properties"] for f in body["features"]], index=[f["id"] for f in body["features"]])


@pytest.mark.parametrize("name", NAMES)
def test_api_returns_the_function_numbers(client, expected, name):
    result = expected[name]
    response = client.get(f"/analysis/{name}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["analysis"] == name
    assert body["numberReturned"] == len(result.main)
    assert body["summary"] == json.loads(json.dumps(result.summary))
    assert body["parameters"] == {p.name: p.default for p in REGISTRY[name].params}
    want = result.main.drop(columns=result.main.geometry.name)
    _same_table(_properties(body), want)
    assert [f["id"] for f in body["features"]] == list(want.index)
    # CSV: the same table
    table = pd.read_csv(io.BytesIO(client.get(f"/analysis/{name}?f=csv").content), encoding="utf-8-sig")
    _same_table(_codes_back(table).set_index(table.columns[0]), _in_english(want))


def _in_english(want: pd.DataFrame) -> pd.DataFrame:
    """What an English CSV holds of a result: no x_zh twins, x_en in the place of x."""
    want = want.drop(columns=[c for c in want.columns if c.endswith("_zh")])
    twins = {c: c[:-3] for c in want.columns if c.endswith("_en") and c[:-3] in want.columns}
    return want.drop(columns=list(twins.values())).rename(columns=twins)


def _codes_back(table: pd.DataFrame) -> pd.DataFrame:
    """A CSV for people read back as codes: x_code replaces the label column x, Yes/No become booleans."""
    codes = [c for c in table.columns if c.endswith("_code")]
    table = table.drop(columns=[c[:-5] for c in codes]).rename(columns={c: c[:-5] for c in codes})
    for c in table.columns:
        if not pd.api.types.is_numeric_dtype(table[c]) and table[c].notna().any() \
                and set(table[c].dropna()) <= {"Yes", "No"}:
            table[c] = table[c].map({"Yes": True, "No": False})
    return table


def test_other_parts_and_chinese_headers(client, expected):
    body = client.get("/analysis/waterlogging", params={"part": "hotspots"}).json()
    assert body["part"] == "hotspots" and body["numberReturned"] == len(expected["waterlogging"]["hotspots"])
    assert all(f["geometry"]["type"] == "Polygon" for f in body["features"])
    lines = client.get("/analysis/shared-parking").json()["features"]
    assert lines and all(f["geometry"]["type"] == "LineString" for f in lines)
    csv = client.get("/analysis/renovation-priorities", params={"f": "csv", "lang": "zh"}).content.decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("编号,名称,区,街道/镇") and "建议版本" in csv.splitlines()[0]
    assert client.get("/analysis/hydrant-coverage", params={"part": "buildings"}).status_code == 404  # no layer


def test_query_parameters_are_typed_and_validated(client, demo_frames):
    got = client.get("/analysis/hydrant-coverage", params={"radius_m": "120"}).json()
    want = REGISTRY["hydrant-coverage"].run(demo_frames, {"radius_m": 120}).main
    assert got["parameters"]["radius_m"] == 120.0
    _same_table(_properties(got), want.drop(columns="geometry"))
    for query, text in (({"radius_m": "abc"}, "radius_m"), ({"radius_m": "-5"}, "radius_m"),
                        ({"radius": "5"}, "unknown parameter"), ({"f": "xml"}, "f"),
                        ({"small_flat_m2": "200"}, "small_flat_m2")):
        name = "parking-gaps" if "small_flat_m2" in query else "hydrant-coverage"
        response = client.get(f"/analysis/{name}", params=query)
        assert response.status_code == 400, query
        assert response.json()["code"] == "InvalidParameterValue" and text in response.json()["description"]
    assert client.get("/analysis/no-such-thing").status_code == 404
    rules = client.get("/analysis/waterlogging", params={"exclude_fixed": "false", "min_points": "2"}).json()
    assert rules["parameters"]["exclude_fixed"] is False and rules["parameters"]["min_points"] == 2


def test_settings_override_defaults_and_the_query_overrides_settings(backend):
    settings = backend.settings(analysis_params={"hydrant-coverage": {"radius_m": 120},
                                                         "renovation-priorities": {"weight_fire": 3}})
    with TestClient(create_app(settings)) as c:
        assert c.get("/analysis/hydrant-coverage").json()["parameters"]["radius_m"] == 120
        assert c.get("/analysis/hydrant-coverage?radius_m=130").json()["parameters"]["radius_m"] == 130
        renovation = c.get("/analysis/renovation-priorities").json()["parameters"]
        assert renovation["radius_m"] == 120 and renovation["weight_fire"] == 3  # what it uses follows too
    bad = backend.settings(analysis_params={"hydrant-coverage": {"radius_m": "wide"}})
    with TestClient(create_app(bad)) as c:
        assert c.get("/analysis/hydrant-coverage").status_code == 500


def test_results_are_cached_until_the_data_changes(client):
    first = client.get("/analysis/hydrant-coverage")
    etag = first.headers["etag"]
    assert client.get("/analysis/hydrant-coverage").headers["etag"] == etag
    assert client.get("/analysis/hydrant-coverage", headers={"If-None-Match": etag}).status_code == 304
    cache = client.app.state.analysis_cache
    assert len(cache._data) == 1
    # break every working hydrant of the worst-covered compound's neighbourhood: the numbers must change
    store = client.app.state.store
    hydrants = store.frame("fire_hydrants")
    target = hydrants.index[hydrants["status"] == "working"][0]
    store.update("fire_hydrants", int(target), {"status": "faulty"}, actor="test")
    second = client.get("/analysis/hydrant-coverage")
    assert second.headers["etag"] != etag
    before, after = first.json(), second.json()
    assert after["layerVersions"]["fire_hydrants"] != before["layerVersions"]["fire_hydrants"]
    assert after["summary"]["working_hydrants"] == before["summary"]["working_hydrants"] - 1
    assert after["summary"]["broken_hydrants"] == before["summary"]["broken_hydrants"] + 1


def test_listing_and_openapi_come_from_the_registry(client):
    listing = client.get("/analysis").json()["analyses"]
    assert [a["name"] for a in listing] == NAMES
    hydrants = next(a for a in listing if a["name"] == "hydrant-coverage")
    radius = next(p for p in hydrants["parameters"] if p["name"] == "radius_m")
    assert radius["default"] == 150.0 and "GB 50974-2014" in radius["source"] and radius["type"] == "number"
    spec = client.get("/api").json()
    for name in NAMES:
        params = {p["name"] for p in spec["paths"][f"/analysis/{name}"]["get"]["parameters"]}
        assert params == {p.name for p in REGISTRY[name].params} | {"f", "part", "lang"}
    radius_doc = next(p for p in spec["paths"]["/analysis/hydrant-coverage"]["get"]["parameters"]
                      if p["name"] == "radius_m")
    assert "150" in radius_doc["description"] and "GB 50974" in radius_doc["description"]


def test_every_default_lives_in_defaults_and_matches_the_function_signatures():
    declared = {id(p) for value in vars(D).values() if isinstance(value, tuple) for p in value}
    for analysis in REGISTRY.values():
        assert all(id(p) in declared for p in analysis.params)
        assert all(p.source for p in analysis.params)
        signature = inspect.signature(analysis.func).parameters
        for p in analysis.params:
            if p.name in signature:
                assert signature[p.name].default == p.default, (analysis.name, p.name)
            else:  # routed through **kwargs to a function that declares it
                assert any(s.kind is inspect.Parameter.VAR_KEYWORD for s in signature.values()), p.name
        assert {"metric_crs", *analysis.layers} <= set(signature)


# ----------------------------------------------------------------------------------- CLI

@pytest.fixture
def runner(backend, monkeypatch):
    for var, value in backend.env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("GEO_SERVICE_CONFIG", raising=False)
    return CliRunner()


@pytest.mark.parametrize("name", ["parking-gaps", "charging-coverage", "renovation-priorities"])
def test_cli_prints_the_function_numbers(runner, expected, name):
    result = runner.invoke(cli_app, ["analyse", name])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    want = expected[name].main
    _same_table(_codes_back(table).set_index("id"), _in_english(want.drop(columns=want.geometry.name)))


def test_cli_writes_files_and_takes_params(runner, demo_frames, tmp_path):
    gpkg = tmp_path / "water.gpkg"
    result = runner.invoke(cli_app, ["analyse", "waterlogging", "--out", str(gpkg)])
    assert result.exit_code == 0, result.output
    import pyogrio

    assert [name for name, _ in pyogrio.list_layers(gpkg)] == ["compounds", "points", "hotspots"]
    hotspots = gpd.read_file(gpkg, layer="hotspots")
    assert len(hotspots) == len(REGISTRY["waterlogging"].run(demo_frames)["hotspots"])

    out = tmp_path / "hydrants.geojson"
    result = runner.invoke(cli_app, ["analyse", "hydrant-coverage", "--param", "radius_m=120", "--out", str(out)])
    assert result.exit_code == 0, result.output
    got = json.loads(out.read_text(encoding="utf-8"))
    want = REGISTRY["hydrant-coverage"].run(demo_frames, {"radius_m": 120}).main
    _same_table(_properties(got), want.drop(columns="geometry"))

    csv = tmp_path / "plan.csv"
    result = runner.invoke(cli_app, ["analyse", "renovation-priorities", "--out", str(csv), "--lang", "zh",
                                     "-p", "weight_fire=0"])
    assert result.exit_code == 0, result.output
    plan = pd.read_csv(csv, encoding="utf-8-sig")
    assert "建议版本" in plan.columns and "改造项目" in plan.columns
    want = REGISTRY["renovation-priorities"].run(demo_frames, {"weight_fire": 0}).main
    assert plan["优先得分"].tolist() == pytest.approx(want["score"].tolist())


def test_cli_rejects_bad_input(runner):
    assert runner.invoke(cli_app, ["analyse", "nope"]).exit_code == 2
    bad = runner.invoke(cli_app, ["analyse", "parking-gaps", "--param", "ratio_pre2000=lots"])
    assert bad.exit_code == 2 and "ratio_pre2000" in bad.output
    assert runner.invoke(cli_app, ["analyse", "parking-gaps", "--param", "nonsense"]).exit_code == 2
