"""The embedded MVT encoder (store/mvt.py) on its own: varints against the protobuf rule, and tiles of a
layer with every geometry kind and value type, read back by mapbox-vector-tile and by a protobuf walk
that checks the keys and values tables hold exactly what the tile's features use."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon

from geo_service.store import mvt

mvt_decode = pytest.importorskip("mapbox_vector_tile").decode


def reference_varint(v: int) -> bytes:
    """The protobuf base-128 varint, one value at a time (the rule, written the plain way)."""
    out = bytearray()
    while True:
        low, v = v & 0x7F, v >> 7
        out.append(low | (0x80 if v else 0))
        if not v:
            return bytes(out)


def test_varints_follow_the_protobuf_rule_at_every_length():
    edges = [0, 1, 127, 128, 255, 16383, 16384, 2**21 - 1, 2**21, 2**28, 2**35 - 1, 2**56, 2**63, 2**64 - 1]
    rng = np.random.default_rng(3)
    values = np.array(edges + rng.integers(0, 2**63, 500, dtype=np.int64).tolist()
                      + rng.integers(0, 300, 500).tolist(), dtype=np.uint64)
    assert mvt.varints(values) == b"".join(reference_varint(int(v)) for v in values)
    assert mvt.varint_lengths(values).tolist() == [len(reference_varint(int(v))) for v in values]
    assert mvt.varints(np.zeros(0, dtype=np.uint64)) == b""
    assert mvt.zigzag(np.array([0, -1, 1, -2, 2**31 - 1, -(2**31)])).tolist() == [0, 1, 2, 3, 2**32 - 2, 2**32 - 1]


def _layer() -> gpd.GeoDataFrame:
    """Points, a multipoint, a polygon with a hole, a line; integers with gaps, a field no feature fills,
    booleans, floats, dates and texts (one repeated, so values are shared)."""
    hole = Polygon([(121.4001, 31.1001), (121.4009, 31.1001), (121.4009, 31.1009), (121.4001, 31.1009)],
                   [[(121.4003, 31.1003), (121.4006, 31.1003), (121.4006, 31.1006), (121.4003, 31.1006)]])
    geoms = [Point(121.4002, 31.1002), Point(121.4004, 31.1004), MultiPoint([(121.4005, 31.1005), (121.4007, 31.1002)]),
             hole, LineString([(121.4000, 31.1000), (121.4008, 31.1008)]), Point(121.6, 31.3)]
    return gpd.GeoDataFrame({
        "name": ["甲", "乙", "甲", None, "丙", "远"],
        "floors": pd.array([3, None, 7, 12, None, 1], dtype="Int64"),
        "empty": [None] * 6,
        "ok": [True, False, True, None, False, True],
        "flow": [12.5, np.nan, 0.25, np.nan, 3.0, 1.0],
        "since": [dt.date(2020, 1, 2), None, dt.date(2020, 1, 2), dt.date(1999, 9, 9), None, None],
    }, geometry=geoms, index=pd.Index([11, 12, 13, 14, 15, 16], name="id"), crs="EPSG:4326")


FIELDS = [("name", "string"), ("floors", "integer"), ("empty", "string"), ("ok", "boolean"), ("flow", "number"),
          ("since", "date")]


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    return z, int((lon + 180) / 360 * n), int((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * n)


def _tables(body: bytes) -> tuple[list[bytes], list[bytes]]:
    """The layer's keys (field 3) and values (field 4), read by walking the protobuf fields."""
    def fields(buf: bytes):
        i = 0
        while i < len(buf):
            key, i = _read_varint(buf, i)
            number, wire = key >> 3, key & 7
            if wire == 0:
                value, i = _read_varint(buf, i)
            elif wire == 2:
                size, i = _read_varint(buf, i)
                value, i = buf[i:i + size], i + size
            else:  # fixed 64 / 32 bits
                width = 8 if wire == 1 else 4
                value, i = buf[i:i + width], i + width
            yield number, value

    (number, layer), = fields(body)
    assert number == 3
    keys = [v for n, v in fields(layer) if n == 3]
    values = [v for n, v in fields(layer) if n == 4]
    return keys, values


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        value |= (b & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not b & 0x80:
            return value, i


def test_a_tile_carries_each_feature_with_its_own_values_and_only_the_used_tables():
    frame = _layer()
    src = mvt.TileSource.build("things", frame, FIELDS)
    assert src.keys == ["name", "floors", "ok", "flow", "since"]  # a field no feature fills is no key at all
    z, x, y = _tile_of(121.4005, 31.1005, 16)
    body = mvt.encode_tile(src, z, x, y)
    doc = mvt_decode(body, default_options={"y_coord_down": True})["things"]
    got = {f["id"]: f for f in doc["features"]}
    assert set(got) == {11, 12, 13, 14, 15}  # the far point is in another tile
    assert got[11]["properties"] == {"name": "甲", "floors": 3, "ok": True, "flow": 12.5, "since": "2020-01-02"}
    assert got[12]["properties"] == {"name": "乙", "ok": False}  # gaps carry no tag
    assert got[13]["properties"] == {"name": "甲", "floors": 7, "ok": True, "flow": 0.25, "since": "2020-01-02"}
    assert got[14]["properties"] == {"floors": 12, "since": "1999-09-09"}
    assert [got[i]["geometry"]["type"] for i in (11, 13, 14, 15)] == ["Point", "MultiPoint", "Polygon",
                                                                       "LineString"]
    assert len(got[14]["geometry"]["coordinates"]) == 2  # the hole survives
    keys, values = _tables(body)
    assert keys == [b"name", b"floors", b"ok", b"flow", b"since"]
    # each distinct value once, only those used here: 甲 乙 丙 | 3 7 12 | True False | 12.5 0.25 3.0 | 2 dates
    assert len(values) == 3 + 3 + 2 + 3 + 2 and len(set(values)) == len(values)

    # the far point's tile: only its own values, renumbered from 0
    z, x, y = _tile_of(121.6, 31.3, 16)
    body = mvt.encode_tile(src, z, x, y)
    assert mvt_decode(body)["things"]["features"][0]["properties"] == {"name": "远", "floors": 1, "ok": True,
                                                                       "flow": 1.0}
    keys, values = _tables(body)
    assert keys == [b"name", b"floors", b"ok", b"flow"] and len(values) == 4


def test_looked_up_features_give_the_same_tile_and_their_work():
    frame = _layer()
    src = mvt.TileSource.build("things", frame, FIELDS)
    for lon, lat, z in ((121.4005, 31.1005, 16), (121.4005, 31.1005, 12), (121.6, 31.3, 18), (0.0, 0.0, 10)):
        t = _tile_of(lon, lat, z)
        sel = mvt.tile_features(src, *t)
        assert mvt.encode_tile(src, *t, sel) == mvt.encode_tile(src, *t)
        shapes = sum(frame.geometry.iloc[i].geom_type != "Point" for i in sel)
        assert mvt.tile_work(src, sel) == len(sel) - shapes + mvt.SHAPE_WORK * shapes
    assert mvt.encode_tile(src, *_tile_of(0.0, 0.0, 10)) == b""  # nothing there


def zig(v: int) -> int:
    return (v << 1) ^ (v >> 63)


def test_lines_vectorised_as_one_line_at_a_time():
    """line_commands (every line of a tile at once) writes what the per-line walk writes, for lines with
    repeated points, parts that collapse to one grid point, and several parts sharing one cursor."""
    from shapely.geometry import MultiLineString

    rng = np.random.default_rng(8)
    geoms = []
    for _ in range(300):
        parts = []
        for _ in range(int(rng.integers(1, 4))):
            n = int(rng.integers(1, 7))
            pts = rng.uniform(-64, 4160, (n, 2))
            if rng.random() < 0.3:  # a repeated point, or a part within one grid cell
                pts = np.repeat(pts, 2, axis=0) if rng.random() < 0.5 else pts[:1] + rng.uniform(0, 0.3, (n, 2))
            if len(pts) >= 2:
                parts.append(pts)
        if parts:
            geoms.append(LineString(parts[0]) if len(parts) == 1 else MultiLineString(parts))
    geoms = np.array(geoms, dtype=object)
    kept, ints, counts = mvt.line_commands(geoms)
    expected_kept, expected = [], []
    for g in geoms:  # the MVT 2.1 rule, one line and one point at a time
        cursor, out = (0, 0), []
        for part in shapely.get_parts(g):
            pts = [tuple(int(v) for v in p) for p in np.rint(shapely.get_coordinates(part))]
            pts = [p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1]]
            if len(pts) < 2:
                continue
            moves = []
            for p in pts:
                moves += [zig(p[0] - cursor[0]), zig(p[1] - cursor[1])]
                cursor = p
            out += [1 | 1 << 3, moves[0], moves[1], 2 | (len(pts) - 1) << 3, *moves[2:]]
        expected_kept.append(bool(out))
        expected += out
    assert kept.tolist() == expected_kept and 0 < kept.sum() < len(geoms)
    assert ints.tolist() == expected and counts.sum() == len(expected)


def test_shapes_smaller_than_a_grid_unit_leave_an_empty_tile_not_an_error():
    """At a coarse zoom a small compound or a short line rounds to one grid point: dropped, and a tile
    holding nothing else is empty (this raised an IndexError before)."""
    frame = gpd.GeoDataFrame({"name": ["小", "短", "大"]}, geometry=[
        Polygon([(121.40000, 31.10000), (121.40002, 31.10000), (121.40002, 31.10002)]),
        LineString([(121.40010, 31.10010), (121.40011, 31.10011)]),
        Polygon([(125.0, 35.0), (125.01, 35.0), (125.01, 35.01), (125.0, 35.01)])],
        index=pd.Index([1, 2, 3], name="id"), crs="EPSG:4326")
    src = mvt.TileSource.build("things", frame, [("name", "string")])
    assert mvt.encode_tile(src, *_tile_of(121.4, 31.1, 8)) == b""
    for geoms in ([frame.geometry.iloc[0]], []):
        kept, ints, counts = mvt.polygon_commands(np.array(geoms, dtype=object))
        assert not kept.any() and len(ints) == 0 and len(counts) == 0
    kept, ints, _ = mvt.line_commands(np.array([LineString([(0.1, 0.1), (0.2, 0.2)])], dtype=object))
    assert kept.tolist() == [False] and len(ints) == 0
    big = mvt_decode(mvt.encode_tile(src, *_tile_of(125.005, 35.005, 8)))["things"]["features"]
    assert [f["id"] for f in big] == [3]  # the big one, at the same zoom, is drawn
