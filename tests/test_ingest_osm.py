"""The OSM mapping: GDAL's other_tags parser and the tag rules of each layer (on small .osm XML files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo_service.ingest.osm import parse_other_tags, read_osm

from .test_ingest_common import CATALOG


@pytest.mark.parametrize(("text", "expected"), [
    (None, {}),
    ("", {}),
    ('"a"=>"1","b"=>"2"', {"a": "1", "b": "2"}),
    ('"note"=>"x, y","k"=>"v"', {"note": "x, y", "k": "v"}),
    ('"desc"=>"a => b","k2"=>"c"', {"desc": "a => b", "k2": "c"}),
    ('"q"=>"say \\"hi\\", ok","bs"=>"C:\\\\temp"', {"q": 'say "hi", ok', "bs": "C:\\temp"}),
    ('"name:zh"=>"康乐小区","addr:households"=>"520"', {"name:zh": "康乐小区", "addr:households": "520"}),
    ('"odd\\"key"=>"v"', {'odd"key': "v"}),
    ('"empty"=>"","n"=>NULL', {"empty": "", "n": ""}),
])
def test_parse_other_tags(text, expected):
    assert parse_other_tags(text) == expected


def osm(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "t.osm"
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n{body}\n</osm>\n',
                    encoding="utf-8")
    return path


def node(i: int, lon: float, lat: float, **tags: str) -> str:
    inner = "".join(f'<tag k="{k.replace("__", ":")}" v="{v}"/>' for k, v in tags.items())
    return f'<node id="{i}" version="1" lat="{lat}" lon="{lon}">{inner}</node>'


def square(way: int, first_node: int, lon: float, lat: float, **tags: str) -> str:
    corners = [(lon, lat), (lon + 0.002, lat), (lon + 0.002, lat + 0.002), (lon, lat + 0.002)]
    nodes = "".join(node(first_node + k, x, y) for k, (x, y) in enumerate(corners))
    refs = "".join(f'<nd ref="{first_node + k}"/>' for k in (0, 1, 2, 3, 0))
    inner = "".join(f'<tag k="{k.replace("__", ":")}" v="{v}"/>' for k, v in tags.items())
    return f'{nodes}<way id="{way}" version="1">{refs}{inner}</way>'


def test_hydrant_status_and_kind_rules(tmp_path):
    body = "\n".join([
        node(1, 121.40, 31.20, emergency="fire_hydrant"),
        node(2, 121.40, 31.21, emergency="fire_hydrant", fire_hydrant__type="wall", operational_status="ok"),
        node(3, 121.40, 31.22, emergency="fire_hydrant", operational_status="needs_maintenance"),
        node(4, 121.40, 31.23, disused__emergency="fire_hydrant", fire_hydrant__type="pillar"),
        node(5, 121.40, 31.24, emergency="fire_hydrant", operational_status="mysterious",
             fire_hydrant__type="pipe", flow_rate="1200", check_date="2023"),
        node(6, 121.40, 31.25, emergency="fire_hydrant", flow_rate="20 l/s"),
        node(7, 121.40, 31.26, emergency="defibrillator"),
    ])
    frame, warnings = read_osm(osm(tmp_path, body), CATALOG.get("fire_hydrants"))
    assert frame["status"].tolist() == ["working", "working", "faulty", "out_of_service", "unknown", "working"]
    assert frame["kind"].tolist() == [None, "wall", None, "above_ground", None, None]
    assert frame["flow_lps"].tolist()[4:] == [20.0, 20.0]
    assert frame["last_inspected"].tolist()[4] is None  # check_date=2023 is no date: blanked, warned
    assert any("last_inspected could not be used" in w for w in warnings)


def test_compounds_name_unnamed_areas_and_default_households(tmp_path):
    """Issue 11 item 6 changed this: unnamed residential areas are named after their OSM id, not skipped."""
    body = "\n".join([
        square(100, 10, 121.40, 31.20, landuse="residential", name="康乐小区", building__flats="300",
               start_date="1992-05", addr__district="闵行区"),
        square(101, 20, 121.41, 31.20, landuse="residential", name="无户数小区"),
        square(102, 30, 121.42, 31.20, landuse="residential"),
        square(103, 40, 121.43, 31.20, landuse="commercial", name="商场"),
    ])
    frame, warnings = read_osm(osm(tmp_path, body), CATALOG.get("compounds"))
    assert frame["name"].tolist() == ["康乐小区", "无户数小区", "未命名小区 (OSM way 102)"]
    assert frame["households"].tolist() == [300, 0, 0]
    assert frame["build_year"].tolist()[0] == 1992 and frame["district"].tolist()[0] == "闵行区"
    assert any("1 unnamed areas named by their OSM id" in w for w in warnings)
    assert any("households set to 0 (unknown)" in w for w in warnings)


def test_charging_only_for_two_wheelers_and_ports_from_sockets(tmp_path):
    body = "\n".join([
        node(1, 121.40, 31.20, amenity="charging_station", scooter="yes", socket__schuko="6", socket__type2="2",
             socket__type2__output="22 kW"),
        node(2, 121.40, 31.21, amenity="charging_station", motorcar="no"),
        node(3, 121.40, 31.22, amenity="charging_station", motorcar="yes", capacity="8"),
        node(4, 121.40, 31.23, amenity="charging_station"),
        square(100, 10, 121.41, 31.20, amenity="charging_station", bicycle="designated", capacity="20"),
    ])
    frame, warnings = read_osm(osm(tmp_path, body), CATALOG.get("ebike_charging_sites"))
    assert frame["ports"].tolist() == [8, 0, 20]
    assert set(frame.geom_type) == {"Point"}
    assert any("2 charging station(s) skipped" in w for w in warnings)
    assert any("ports set to 0" in w for w in warnings)


def test_parking_kinds(tmp_path):
    body = "\n".join([
        square(100, 10, 121.40, 31.20, landuse="residential", name="小区"),
        node(1, 121.401, 31.201, amenity="parking", access="private"),  # inside the residential area
        node(2, 121.45, 31.25, amenity="parking", access="private"),
        node(3, 121.46, 31.25, amenity="parking", access="customers", capacity="~50"),
        node(4, 121.47, 31.25, amenity="parking", parking="street_side"),
        node(5, 121.48, 31.25, amenity="parking", fee="yes", opening_hours="Mo-Fr 08:00-18:00"),
    ])
    frame, warnings = read_osm(osm(tmp_path, body), CATALOG.get("parking_facilities"))
    assert frame["kind"].tolist() == ["compound", "office", "commercial", "street", "public"]
    assert frame["capacity"].tolist()[2] is None
    assert any("capacity could not be used" in w and "'~50'" in w for w in warnings)
    assert frame["open_hours"].tolist()[4] == "Mo-Fr 08:00-18:00"
