"""Coordinates real exports get wrong (issue 11 item 3), on both stores: Null Island always refused,
outliers by robust distance from the median point (placeholders cannot hide each other), a
configurable floor, and warnings for shared and whole-degree coordinates."""

from __future__ import annotations

import numpy as np
import pytest

from geo_service.ingest.importer import ImportFailed, import_file

from .test_ingest_common import write_csv
from .test_ingest_keyed import store_hash

LAYER = "fire_hydrants"
HEADER = ["lon", "lat", "status"]


def city(n: int, seed: int = 1) -> list[list]:
    """``n`` points over Jinan (about 30 x 20 km)."""
    rng = np.random.default_rng(seed)
    return [[round(x, 6), round(y, 6), "ok"] for x, y in zip(rng.uniform(116.85, 117.15, n),
                                                             rng.uniform(36.58, 36.76, n), strict=True)]


@pytest.mark.parametrize("where", [(0, 0), (0.0000001, -0.0000002), (0.005, 0.004)])
def test_null_island_is_refused_with_its_own_message_even_alone(make_store, tmp_path, where):
    store = make_store()
    before = store_hash(store)
    src = write_csv(tmp_path / "one.csv", HEADER, [[*where, "ok"]])
    with pytest.raises(ImportFailed, match=r"row 2: geometry: Null Island: .* is \(0, 0\), the placeholder"):
        import_file(store, src, LAYER)
    assert store_hash(store) == before


def test_charging_export_with_placeholders_and_strays(make_store, tmp_path):
    """The issue's charging-station export: 41 of 992 rows at (0, 0) and a few 180-1,000 km away."""
    store = make_store()
    data = city(945)
    data += [[0, 0, "ok"]] * 41
    strays = [[119.0, 36.7], [117.0, 45.5], [121.47, 31.23], [114.3, 30.6], [113.6, 34.75], [118.8, 32.0]]
    data += [[x, y, "ok"] for x, y in strays]
    src = write_csv(tmp_path / "charging.csv", HEADER, data)
    before = store_hash(store)
    with pytest.raises(ImportFailed) as e:
        import_file(store, src, LAYER)
    assert store_hash(store) == before
    text = str(e.value)
    assert "47 of 992 rows have errors" in text
    assert "Null Island" in text and "row 988: geometry: far outside the rest of the data: (119.0, 36.7) is 179 km" \
        in text
    report = import_file(store, src, LAYER, skip_invalid=True)
    assert (report.imported, report.rejected) == (945, 47)


def test_outlier_floor_is_configurable(make_store, tmp_path):
    store = make_store()
    data = city(40) + [[118.0, 36.67, "ok"]]  # about 90 km east of the centre
    src = write_csv(tmp_path / "h.csv", HEADER, data)
    before = store_hash(store)
    with pytest.raises(ImportFailed, match=r"row 42: .* is \d\d km from its centre .*limit \d\d km"):
        import_file(store, src, LAYER, outlier_floor_km=50)
    assert store_hash(store) == before
    assert import_file(store, src, LAYER).imported == 41  # the default floor, 100 km, keeps it


def test_a_national_dataset_is_not_an_outlier_of_itself(make_store, tmp_path):
    store = make_store()
    rng = np.random.default_rng(5)
    data = [[round(x, 4), round(y, 4), "ok"] for x, y in zip(rng.uniform(100, 122, 60), rng.uniform(22, 42, 60),
                                                             strict=True)]
    assert import_file(store, write_csv(tmp_path / "cn.csv", HEADER, data), LAYER).imported == 60


def test_shared_and_whole_degree_coordinates_are_warned_with_counts(make_store, tmp_path):
    store = make_store()
    data = city(30) + [[117.0123, 36.6611, "ok"]] * 4 + [[117.0, 37.0, "ok"], [117.0, 36.0, "ok"]]
    report = import_file(store, write_csv(tmp_path / "h.csv", HEADER, data), LAYER, allow_duplicates=True)
    assert report.imported == 36
    assert "4 features share exactly the coordinate (117.0123, 36.6611)" in report.describe()
    assert "2 feature(s) have whole-degree coordinates" in report.describe()
