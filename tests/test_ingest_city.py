"""The synthetic city of shared/peers/make_city.py imports as it is, every layer, values mapped by the aliases."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pyogrio
import pytest

from geo_service.catalog.validation import validate_frame
from geo_service.ingest.readers import read_source

from .test_ingest_common import CATALOG, PROJECT, layer_frame, run_import, store_path_fixture  # noqa: F401

MAKE_CITY = PROJECT.parent / "shared" / "peers" / "make_city.py"


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    if not MAKE_CITY.exists():
        pytest.skip(f"{MAKE_CITY} is missing (the shared peers folder is not beside the checkout)")
    out = tmp_path_factory.mktemp("city") / "city.gpkg"
    subprocess.run([sys.executable, str(MAKE_CITY), "--scale", "0.05", "--out", str(out), "--no-check"],
                   check=True, capture_output=True, timeout=300)
    return out


def test_every_layer_imports_as_it_is(city, store_path):
    # the peers' city generator makes the five asset layers; not the planning (issue 16) or walking (issue 17) ones
    in_file = {name for name, _ in pyogrio.list_layers(city)}
    assert in_file >= {"compounds", "fire_hydrants", "parking_facilities", "ebike_charging_sites",
                       "waterlogging_points"}
    for layer in [i for i in CATALOG.ids() if i in in_file]:
        source = len(pyogrio.read_dataframe(city, layer=layer, read_geometry=False))
        report = run_import(store_path, city, layer)
        assert (report.imported, report.rejected) == (source, 0), report.describe()
        assert report.ignored_columns == []


def test_city_values_map_through_the_aliases(city, store_path):
    for layer in ("fire_hydrants", "parking_facilities", "waterlogging_points"):
        run_import(store_path, city, layer)
    hydrants = layer_frame(store_path, "fire_hydrants")
    assert set(hydrants["status"]) == {"working", "faulty", "under_repair", "out_of_service"}
    assert set(hydrants["kind"]) == {"above_ground", "underground", "wall"}
    assert hydrants["last_inspected"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert "commercial" in set(layer_frame(store_path, "parking_facilities")["kind"])
    assert set(layer_frame(store_path, "waterlogging_points")["cause"]) == {
        "external_backflow", "internal_drainage", "other"}
    # the GeoPackage's id column (its FID) is kept
    assert sorted(hydrants.index)[:3] == [1, 2, 3]


def test_read_and_validate_speed(city):
    started = time.perf_counter()
    data = read_source(city, layer_id="fire_hydrants")
    validate_frame(data.frame, CATALOG.get("fire_hydrants"), row_numbers=data.row_numbers)
    assert time.perf_counter() - started < 2.0
