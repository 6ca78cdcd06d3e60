"""health-check: every figure equals a count made here from the stored features and the other analyses."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from geo_service.analysis.registry import REGISTRY, run
from geo_service.api.app import create_app


@pytest.fixture(scope="module")
def frames(shared_backend):
    store = shared_backend.open_store()
    return {layer.id: store.frame(layer.id) for layer in store.catalog}


@pytest.fixture(scope="module")
def result(frames):
    return REGISTRY["health-check"].run(frames)


def _by_street(values: pd.Series, compounds: pd.DataFrame) -> dict[str, float]:
    return values.groupby(compounds["street"].reindex(values.index)).sum().to_dict()


def test_street_figures_equal_independent_counts(frames, result):
    compounds = frames["compounds"]
    streets = result["streets"].set_index("street")
    old = compounds["build_year"] < 2000
    assert streets["old_compounds"].to_dict() == _by_street(old.astype(int), compounds)
    renovated = old & (compounds["renovation_status"] == "completed")
    assert streets["old_renovated"].to_dict() == _by_street(renovated.astype(int), compounds)
    going = old & compounds["renovation_status"].isin(["planned", "in_progress"])
    assert streets["old_renovating_or_planned"].to_dict() == _by_street(going.astype(int), compounds)
    assert streets["households"].to_dict() == _by_street(compounds["households"], compounds)

    gaps = run("parking-gaps", frames).main
    assert streets["parking_gap_spaces"].to_dict() == _by_street(gaps["gap_spaces"], compounds)
    assert streets["compounds_with_parking_gap"].to_dict() == _by_street((gaps["gap_spaces"] > 0).astype(int),
                                                                          compounds)
    charging = run("charging-coverage", frames).main
    assert streets["compounds_without_ebike_charging"].to_dict() == _by_street(charging["no_charging"].astype(int),
                                                                                compounds)
    water = run("waterlogging", frames).main
    assert streets["compounds_waterlogged"].to_dict() == _by_street((water["waterlogged_points"] > 0).astype(int),
                                                                     compounds)
    fire = run("hydrant-coverage", frames).main
    covered = _by_street(fire["area_m2"] * fire["covered_share"], compounds)
    area = _by_street(fire["area_m2"], compounds)
    for street, share in streets["hydrant_covered_share"].items():
        assert share == pytest.approx(covered[street] / area[street], abs=5e-5)
    circle = run("life-circle", frames).main
    hh = circle["households"]
    in_15 = _by_street(hh * circle["complete_15"], compounds)
    full = _by_street(hh * circle["complete"], compounds)
    total = _by_street(hh, compounds)
    for street in streets.index:
        assert streets.loc[street, "share_households_15min"] == pytest.approx(in_15[street] / total[street], abs=5e-5)
        assert streets.loc[street, "share_households_complete"] == pytest.approx(full[street] / total[street],
                                                                                   abs=5e-5)
    assert 0 < streets["old_compounds"].sum() and 0 < streets["compounds_waterlogged"].sum()


def test_district_rows_add_up_and_the_whole_is_the_summary(result):
    streets, districts = result["streets"], result["districts"].set_index("district")
    for column in ("compounds", "households", "parking_gap_spaces", "old_compounds", "compounds_waterlogged"):
        assert districts.loc["(all)", column] == streets[column].sum() == result.summary[column]
        assert districts.drop(index="(all)")[column].to_dict() == streets.groupby("district")[column].sum().to_dict()


def test_every_column_has_a_definition_and_source(result):
    indicators = result["indicators"].set_index("indicator")
    columns = set(result["streets"].columns) - {"district", "street", "geometry"}
    assert columns == set(indicators.index)
    assert indicators["source"].str.len().min() > 5 and indicators["definition"].str.len().min() > 5


def test_api_csv_is_the_function_table(shared_backend, result):
    with TestClient(create_app(shared_backend.settings())) as client:
        r = client.get("/analysis/health-check", params={"f": "csv", "part": "districts"})
    assert r.status_code == 200, r.text
    got = pd.read_csv(io.StringIO(r.text))
    want = result["districts"]
    assert got["parking_gap_spaces"].tolist() == want["parking_gap_spaces"].tolist()
    assert got["share_households_15min"].tolist() == pytest.approx(want["share_households_15min"].tolist())
