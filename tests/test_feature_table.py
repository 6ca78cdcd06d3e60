"""The CSV of a layer's features for people (items?f=csv): labels with codes, yes/no, coordinates, no formulas."""

from __future__ import annotations

import csv
import io

import geopandas as gpd
import shapely

from geo_service.web.feature_table import csv_bytes


def rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_labels_codes_booleans_and_points(catalog):
    spec = catalog.get("ebike_charging_sites")
    frame = gpd.GeoDataFrame({"name": ["=HYPERLINK(\"http://x\")", "北区车棚"], "status": ["faulty", None],
                              "has_sprinkler": [True, None]},
                             geometry=[shapely.Point(121.123456789, 31.1), shapely.Point(121.2, 31.2)],
                             index=[7, 9], crs="EPSG:4326")
    zh = rows(csv_bytes(spec, frame, "zh"))
    head = zh[0]
    assert head[0] == "编号" and head[-2:] == ["经度", "纬度"] and len(head) == len(set(head))
    status = head.index(spec.field("status").title.zh)
    assert head[status + 1].endswith("代码")
    assert zh[1][status:status + 2] == ["故障", "faulty"] and zh[2][status:status + 2] == ["", ""]
    assert zh[1][head.index(spec.field("has_sprinkler").title.zh)] == "是"
    assert zh[1][head.index(spec.field("name").title.zh)].startswith("'=")  # shown as text, never run
    assert zh[1][-2:] == ["121.1234568", "31.1"]  # 7 decimals, about 1 cm
    en = rows(csv_bytes(spec, frame, "en"))
    assert en[0][0] == "id" and "Faulty" in en[1] and "Yes" in en[1]


def test_other_geometries_as_wkt_or_none(catalog):
    spec = catalog.get("compounds")
    frame = gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.box(121, 31, 121.001, 31.001)], index=[1],
                             crs="EPSG:4326")
    out = rows(csv_bytes(spec, frame, "zh"))
    assert out[0][-1] == "WKT" and out[1][-1].startswith("POLYGON ((121")
    assert rows(csv_bytes(spec, frame, "zh", with_geometry=False))[0][-1] != "WKT"
