"""OSM extracts as they are (issue 11 item 6): unnamed residential areas get a generated name, broken
multipolygon rings are dropped when the rest is a valid area, irreparable areas are skipped by OSM id."""

from __future__ import annotations

import subprocess

import pytest
import shapely

from geo_service.ingest.importer import import_file

from .test_ingest_osm import node, osm, square


def relation(rid: int, members: list[tuple[int, str]], **tags: str) -> str:
    inner = "".join(f'<member type="way" ref="{w}" role="{role}"/>' for w, role in members)
    inner += '<tag k="type" v="multipolygon"/>'
    inner += "".join(f'<tag k="{k.replace("__", ":")}" v="{v}"/>' for k, v in tags.items())
    return f'<relation id="{rid}" version="1">{inner}</relation>'


def spike(way: int, first_node: int, lon: float, lat: float) -> str:
    """A closed way of two distinct nodes: a ring of too few points."""
    nodes = node(first_node, lon, lat) + node(first_node + 1, lon + 0.001, lat)
    return f'{nodes}<way id="{way}" version="1"><nd ref="{first_node}"/><nd ref="{first_node + 1}"/>' \
           f'<nd ref="{first_node}"/></way>'


def extract(tmp_path):
    return osm(tmp_path, "\n".join([
        square(100, 10, 121.40, 31.20, landuse="residential", name="康乐小区"),
        square(101, 20, 121.41, 31.20, landuse="residential"),
        square(102, 30, 121.42, 31.20, landuse="residential"),
        square(103, 40, 121.43, 31.20),
        spike(104, 50, 121.45, 31.20),
        square(105, 60, 121.44, 31.20),
        relation(900, [(103, "outer"), (104, "outer")], landuse="residential", name="梅陇三村"),
        relation(901, [(104, "outer")], landuse="residential", name="坏小区"),
        relation(902, [(105, "outer"), (104, "inner")], amenity="parking", name="P1"),
        relation(903, [(104, "outer")], amenity="parking", name="P2"),
    ]))


@pytest.fixture
def store(make_store):
    return make_store()


def test_unnamed_areas_are_imported_with_a_generated_name_and_counted(store, tmp_path):
    report = import_file(store, extract(tmp_path), "compounds")
    names = sorted(store.frame("compounds")["name"])
    assert names == ["康乐小区", "未命名小区 (OSM way 101)", "未命名小区 (OSM way 102)", "梅陇三村"]
    assert report.imported == 4
    assert any(w.startswith("2 unnamed areas named by their OSM id") for w in report.warnings)
    assert sorted(store.frame("compounds")["source_id"]) == ["relation/900", "way/100", "way/101", "way/102"]


def test_a_broken_ring_is_dropped_and_the_rest_kept(store, tmp_path):
    report = import_file(store, extract(tmp_path), "compounds")
    frame = store.frame("compounds")
    kept = frame.loc[frame["name"] == "梅陇三村"].geometry.iloc[0]
    assert kept.is_valid and shapely.equals(kept, shapely.box(121.43, 31.20, 121.432, 31.202))
    assert any("broken ring or member" in w and "relation/900 (梅陇三村)" in w for w in report.warnings)


def test_an_area_with_nothing_valid_is_skipped_by_its_osm_id(store, tmp_path):
    report = import_file(store, extract(tmp_path), "compounds")
    assert "坏小区" not in set(store.frame("compounds")["name"])
    assert any("skipped, no valid ring left: relation/901 (坏小区)" in w for w in report.warnings)


def test_parking_multipolygons_with_a_broken_member_import_in_the_default_mode(store, tmp_path):
    report = import_file(store, extract(tmp_path), "parking_facilities")
    frame = store.frame("parking_facilities")
    assert frame["name"].tolist() == ["P1"] and report.imported == 1
    assert frame.geometry.iloc[0].is_valid
    assert any("relation/903 (P2)" in w for w in report.warnings)


def test_the_same_through_a_pbf_made_by_osmium(store, tmp_path):
    """The real format of extracts: osmium-tool writes the XML as .osm.pbf."""
    pbf = tmp_path / "t.osm.pbf"
    subprocess.run(["osmium", "cat", "--overwrite", "-o", str(pbf), str(extract(tmp_path))], check=True)
    report = import_file(store, pbf, "compounds")
    assert report.imported == 4
    assert "未命名小区 (OSM way 101)" in set(store.frame("compounds")["name"])
