"""Mapbox Vector Tiles (MVT 2.1) of the catalog layers on the WebMercatorQuad grid, for OGC API - Tiles.

Why an encoder of our own: a tile is a short protobuf message, and writing it from numpy arrays
(varints, zigzag deltas and the point layers' geometry all vectorised) keeps a street-level tile
of a city-sized layer within a few milliseconds, with no protobuf runtime to install. Each layer
is prepared once per version stamp: geometry in Web Mercator, attributes as columns.

Geometry follows the spec: tile grid of 4096 units, y down, clipped to the tile plus a 64-unit
buffer, rounded to the grid; polygon exterior rings have positive area in tile coordinates and
holes negative; every feature keeps its id and its layer's fields as tags. The PostGIS store cuts
the same tiles with ST_AsMVT (postgis_sql.py) from these constants.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..catalog import SOURCE_ID
from ..crs import HALF_WORLD, WORLD_M, lonlat_bounds, mercator, tile_bounds
from .errors import InvalidQuery

__all__ = ["BUFFER", "EXTENT", "MAX_ZOOM", "MVT", "TileSource", "check_tile", "encode_tile", "lonlat_bounds",
           "tile_bounds", "web_mercator_quad"]

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 24
MVT = "application/vnd.mapbox-vector-tile"
POINT, LINESTRING, POLYGON = 1, 2, 3
MOVE_TO, LINE_TO, CLOSE_PATH = 1, 2, 7
# Cutting cost in points: on the synthetic city a point adds about 0.6 us to a tile, a compound polygon about
# 9 us (transform, clip, orientation, rings), so a shape counts as SHAPE_WORK points.
SHAPE_WORK = 15


# ------------------------------------------------------------------ protobuf pieces

def tile_fields(spec) -> list:
    """The fields a tile carries as tags: the catalog's declared ones, which maps style by. The source
    identifier (a long text per feature) stays out: it identifies, the items API has it, and it would
    make every tile a third larger."""
    return [f for f in spec.fields if f.name != SOURCE_ID and f.type != "list"]  # tags hold scalars only


def _uvarint(v: int) -> bytes:
    out = bytearray()
    while v > 0x7F:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _uvarint(number << 3 | 2) + _uvarint(len(payload)) + payload


def zigzag(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.int64)
    return ((v << 1) ^ (v >> 63)).view(np.uint64)


_VARINT_LIMITS = np.array([1 << (7 * k) for k in range(1, 10)], dtype=np.uint64)  # 2 bytes from 128, 3 from 16384...


def varint_lengths(values: np.ndarray) -> np.ndarray:
    """The byte length of each value as a protobuf varint."""
    a = np.asarray(values, dtype=np.uint64)
    n = np.ones(len(a), dtype=np.int64)
    top, shift = int(a.max()) if len(a) else 0, 7
    while top >> shift:
        n += a >= np.uint64(1 << shift)
        shift += 7
    return n


def varints(values: np.ndarray) -> bytes:
    """All values as protobuf varints, one after the other. Every value writes its low 7 bits at its
    first byte in one pass; only the few that need more bytes go round again."""
    a = np.asarray(values, dtype=np.uint64)
    if not len(a):
        return b""
    n = varint_lengths(a)
    ends = np.cumsum(n)
    starts = ends - n
    out = np.empty(int(ends[-1]), dtype=np.uint8)
    more = n > 1
    out[starts] = (a & 0x7F).astype(np.uint8) | (more.view(np.uint8) << 7)
    at, k = np.flatnonzero(more), 1
    while len(at):
        more = n[at] > k + 1
        out[starts[at] + k] = ((a[at] >> np.uint64(7 * k)) & 0x7F).astype(np.uint8) | (more.view(np.uint8) << 7)
        at, k = at[more], k + 1
    return out.tobytes()


def _sums(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-feature sums of consecutive runs of ``counts`` values."""
    csum = np.concatenate([[0], np.cumsum(values)])
    ends = np.cumsum(counts)
    return csum[ends] - csum[ends - counts]


def _runs_at(first: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Positions first[i], first[i] + 1, ... (counts[i] of them) for every i, concatenated."""
    total = int(counts.sum())
    return np.repeat(first - (np.cumsum(counts) - counts), counts) + np.arange(total)


def _features(ids: np.ndarray, types: np.ndarray, tags: np.ndarray, tag_counts: np.ndarray, geom: np.ndarray,
              geom_counts: np.ndarray) -> bytes:
    """Every Feature of the layer, each as field 2 of the Layer message, in one vectorised pass.

    A feature is nothing but varints: 0x12 len | 0x08 id | 0x12 len tags... | 0x18 type | 0x22 len geometry...
    (field keys are one-byte varints), so all features become one integer sequence, encoded at once.
    """
    n = len(ids)
    if not n:
        return b""
    tag_bytes = _sums(varint_lengths(tags), tag_counts)
    geom_bytes = _sums(varint_lengths(geom), geom_counts)
    body = (5 + varint_lengths(ids) + varint_lengths(tag_bytes) + tag_bytes  # 5: the four keys and the type
            + varint_lengths(geom_bytes) + geom_bytes)
    size = 10 + tag_counts + geom_counts
    start = np.cumsum(size) - size
    seq = np.empty(int(size.sum()), dtype=np.uint64)
    seq[(start[:, None] + np.arange(6)).ravel()] = np.column_stack(
        [np.full(n, 0x12), body, np.full(n, 0x08), ids, np.full(n, 0x12), tag_bytes]).ravel()
    seq[(start[:, None] + tag_counts[:, None] + np.arange(6, 10)).ravel()] = np.column_stack(
        [np.full(n, 0x18), types, np.full(n, 0x22), geom_bytes]).ravel()
    seq[_runs_at(start + 6, tag_counts)] = tags
    seq[_runs_at(start + 10 + tag_counts, geom_counts)] = geom
    return varints(seq)


def _value(v: Any) -> bytes:
    """A Value message: bool, unsigned or signed integer, double or string."""
    if isinstance(v, bool | np.bool_):
        return b"\x38" + (b"\x01" if v else b"\x00")
    if isinstance(v, int | np.integer):
        v = int(v)
        return b"\x28" + _uvarint(v) if v >= 0 else b"\x30" + _uvarint((v << 1) ^ (v >> 63))
    if isinstance(v, float | np.floating):
        return b"\x19" + struct.pack("<d", float(v))
    text = (v.isoformat() if hasattr(v, "isoformat") else str(v)).encode()
    return b"\x0a" + _uvarint(len(text)) + text


# ------------------------------------------------------------------ layers ready for tiling

@dataclass
class TileSource:
    """A layer in Web Mercator with its attribute columns (one per version stamp of the layer)."""

    name: str
    ids: np.ndarray
    is_point: np.ndarray
    x: np.ndarray  # points only (NaN elsewhere)
    y: np.ndarray
    geoms: np.ndarray  # Web Mercator geometries (None for points: x and y hold them)
    bounds: np.ndarray  # (n, 4) in Web Mercator
    keys: list[str]  # the fields that hold a value somewhere in the layer
    values: np.ndarray  # every distinct (field, value) of the layer as an encoded Value field (objects: bytes)
    codes: np.ndarray  # (features, keys) int32: the feature's index into values, or -1 for none
    tree: shapely.STRtree  # of the bounds: a tile finds its features without a scan

    @classmethod
    def build(cls, name: str, frame, fields: list[tuple[str, str]]) -> TileSource:
        """From a GeoDataFrame (index: id; lon/lat geometry) and the layer's (field, type) list."""
        geoms = np.asarray(frame.geometry.values, dtype=object)
        ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms) if len(geoms) else np.zeros(0, bool)
        frame, geoms = frame[ok], geoms[ok]
        # Points need only their x and y (no geometry objects to transform: most of the work on a point
        # layer); other shapes are transformed, and indexed by their bounds.
        is_point = shapely.get_type_id(geoms) == 0 if len(geoms) else np.zeros(0, bool)
        x = np.full(len(geoms), np.nan)
        y = np.full(len(geoms), np.nan)
        merc = np.full(len(geoms), None, dtype=object)
        if is_point.any():
            lonlat = shapely.get_coordinates(geoms[is_point])
            x[is_point], y[is_point] = mercator(lonlat[:, 0], lonlat[:, 1])
        shapes = ~is_point
        if shapes.any():
            merc[shapes] = shapely.transform(geoms[shapes], lambda c: np.column_stack(mercator(c[:, 0], c[:, 1])))
        bounds = np.column_stack([x, y, x, y]) if len(geoms) else np.zeros((0, 4))
        if shapes.any():
            bounds[shapes] = shapely.bounds(merc[shapes])
        keys: list[str] = []
        values: list[bytes] = []
        codes = []
        for field, ftype in fields:
            if field not in frame.columns:
                continue
            code, uniques = pd.factorize(frame[field], use_na_sentinel=True)
            if not len(uniques):
                continue
            # numbered field by field, so sorted indices list a tile's values grouped by key, as its keys
            codes.append(np.where(code >= 0, code + len(values), -1))
            keys.append(field)
            values += [_field_bytes(4, _value(int(v) if ftype == "integer" else v))  # gaps make integers floats
                       for v in uniques.tolist()]
        encoded = np.empty(len(values), dtype=object)
        encoded[:] = values
        code_matrix = (np.column_stack(codes) if codes else np.zeros((len(frame), 0))).astype(np.int32)
        tree = shapely.STRtree(shapely.box(bounds[:, 0], bounds[:, 1], bounds[:, 2], bounds[:, 3]))
        return cls(name, frame.index.to_numpy(dtype=np.int64), is_point, x, y, merc, bounds, keys, encoded,
                   code_matrix, tree)


def check_tile(z: int, x: int, y: int) -> None:
    """A tile of the WebMercatorQuad matrix (both stores refuse others the same way)."""
    if not (0 <= z <= MAX_ZOOM) or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidQuery(f"tile {z}/{x}/{y} is outside the tile matrix {z} ({2**z} x {2**z} tiles)")


def _shape_commands(geom) -> tuple[int, list[int]] | None:
    """(MVT geometry type, command integers) of a clipped geometry in tile units (rounded to the grid here)."""
    parts = shapely.get_parts(geom)
    kind = shapely.get_type_id(parts[0]) if len(parts) else -1
    if kind == 0:  # (multi)point
        pts = np.rint(shapely.get_coordinates(parts)).astype(np.int64)
        deltas = zigzag(np.diff(pts, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel()).tolist()
        return POINT, [MOVE_TO | len(pts) << 3, *deltas]
    if kind in (1, 2):  # (multi)linestring: its lines as the parts of one feature
        lines = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
        kept, ints, _ = _line_parts_commands(lines, np.zeros(len(lines), dtype=np.int64), 1)
        return (LINESTRING, ints.tolist()) if kept.any() else None
    if kind == 3:  # polygons left in a collection by clipping
        polys = parts[shapely.get_type_id(parts) == 3]
        kept, ints, _ = polygon_commands(np.array([shapely.multipolygons(polys)], dtype=object))
        return (POLYGON, ints.tolist()) if kept.any() else None
    return None


def _grid_runs(coords: np.ndarray, run_of: np.ndarray, closed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Points rounded to the grid, without repeats within a run (nor, for closed runs, the closing point)."""
    pts = np.rint(coords).astype(np.int64)
    if not len(pts):
        return pts, run_of
    same_run = run_of[1:] == run_of[:-1]
    drop = np.r_[False, same_run & np.all(pts[1:] == pts[:-1], axis=1)]
    if closed:
        drop |= np.r_[~same_run, True]
    return pts[~drop], run_of[~drop]


def _path_commands(pts: np.ndarray, run_of: np.ndarray, geom_of_run: np.ndarray, n_geoms: int, min_points: int,
                   close: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Command integers of paths (polygon rings, line parts) given as grid points in order, each tagged with its
    run: per run MoveTo, LineTo (n - 1) and, closed, ClosePath; runs of fewer than min_points points are dropped.
    The cursor runs on across the runs of one geometry and starts again at 0,0 for the next. Returns which
    geometries kept a run, the integers of those, and how many belong to each."""
    n_run = np.bincount(run_of, minlength=len(geom_of_run))
    good = n_run >= min_points
    pts, run_of = pts[good[run_of]], run_of[good[run_of]]
    if not len(pts):  # everything collapsed (shapes smaller than a grid unit): nothing to draw
        return np.zeros(n_geoms, dtype=bool), np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    geom_of_pt = geom_of_run[run_of]
    deltas = np.diff(pts, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    restart = np.r_[True, geom_of_pt[1:] != geom_of_pt[:-1]]
    deltas[restart] = pts[restart]
    zz = zigzag(deltas.ravel()).reshape(-1, 2)
    kept_runs = np.flatnonzero(good)
    n = n_run[kept_runs]
    size = 2 * n + (3 if close else 2)  # MoveTo, its x y, LineTo, the other points' x y[, ClosePath]
    start = np.cumsum(size) - size
    out = np.empty(int(size.sum()), dtype=np.uint64)
    out[start] = MOVE_TO | 1 << 3
    out[start + 3] = (LINE_TO | ((n - 1) << 3)).astype(np.uint64)
    if close:
        out[start + size - 1] = CLOSE_PATH | 1 << 3
    rank = (np.cumsum(good) - 1)[run_of]
    k = np.arange(len(pts)) - (np.cumsum(n) - n)[rank]
    at = start[rank] + 1 + 2 * k + (k > 0)
    out[at], out[at + 1] = zz[:, 0], zz[:, 1]
    per_geom = np.bincount(geom_of_run[kept_runs], weights=size, minlength=n_geoms).astype(np.int64)
    kept = per_geom > 0
    return kept, out, per_geom[kept]


def polygon_commands(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Command integers of (multi)polygons in tile units, vectorised over every ring in the tile.

    Returns which geometries kept a ring, the integers of those, and how many belong to each. Per
    ring: MoveTo, LineTo (n - 1), ClosePath over its points rounded to the grid, closing point and
    repeated points dropped; rings left with fewer than three points are dropped. The cursor runs
    on across the rings of one geometry and starts again at 0,0 for the next.
    """
    parts, owner = shapely.get_parts(geoms, return_index=True)
    rings, part_of = shapely.get_rings(parts, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    pts, ring_of = _grid_runs(coords, ring_of, closed=True)
    return _path_commands(pts, ring_of, owner[part_of], len(geoms), min_points=3, close=True)


def line_commands(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Command integers of (multi)linestrings in tile units, vectorised over every part in the tile: as
    polygon_commands, per part MoveTo, LineTo (n - 1), without closing; parts left with fewer than two
    points are dropped."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    return _line_parts_commands(parts, owner, len(geoms))


def _line_parts_commands(parts: np.ndarray, owner: np.ndarray, n_geoms: int):
    coords, part_of = shapely.get_coordinates(parts, return_index=True)
    pts, part_of = _grid_runs(coords, part_of, closed=False)
    return _path_commands(pts, part_of, owner, n_geoms, min_points=2, close=False)


def tile_features(source: TileSource, z: int, x: int, y: int) -> np.ndarray:
    """The features whose bounds reach tile z/x/y or its buffer, in layer order (what encode_tile cuts)."""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    pad = BUFFER / (EXTENT / (maxx - minx))  # as encode_tile scales: the same features at the same edges
    return np.sort(source.tree.query(shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)))


def tile_work(source: TileSource, sel: np.ndarray) -> int:
    """What cutting these features costs, in points: a point is one, any other shape (transformed,
    clipped, oriented, its rings walked) counts as SHAPE_WORK points."""
    shapes = int(np.count_nonzero(~source.is_point[sel]))
    return len(sel) - shapes + SHAPE_WORK * shapes


def encode_tile(source: TileSource, z: int, x: int, y: int, sel: np.ndarray | None = None) -> bytes:
    """The MVT tile z/x/y of ``source``: one layer named after it; empty bytes when nothing is there.
    ``sel``: the tile's features when the caller has already looked them up (tile_features)."""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    scale = EXTENT / (maxx - minx)
    if sel is None:
        sel = tile_features(source, z, x, y)
    if not len(sel):
        return b""
    points = sel[source.is_point[sel]]
    shapes = sel[~source.is_point[sel]]
    # points: one MoveTo each, fully vectorised
    px = np.round((source.x[points] - minx) * scale).astype(np.int64)
    py = np.round((maxy - source.y[points]) * scale).astype(np.int64)
    geom_ints = [np.column_stack([np.full(len(points), MOVE_TO | 1 << 3, dtype=np.uint64),
                                  zigzag(px), zigzag(py)]).ravel()]
    geom_counts = [np.full(len(points), 3, dtype=np.int64)]
    types = [np.full(len(points), POINT, dtype=np.int64)]
    order = [points]
    if len(shapes):  # areas and lines: to tile units, clipped to the buffer, exterior rings positive
        local = shapely.transform(source.geoms[shapes],
                                  lambda c: np.column_stack([(c[:, 0] - minx) * scale, (maxy - c[:, 1]) * scale]))
        local = shapely.clip_by_rect(local, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
        local = shapely.orient_polygons(local, exterior_cw=False)
        kinds = shapely.get_type_id(local)
        areas, lines = np.isin(kinds, (3, 6)), np.isin(kinds, (1, 5))
        for mask, commands, mvt_type in ((areas, polygon_commands, POLYGON), (lines, line_commands, LINESTRING)):
            if mask.any():
                kept, ints, counts = commands(local[mask])
                order.append(shapes[mask][kept])
                types.append(np.full(int(kept.sum()), mvt_type, dtype=np.int64))
                geom_ints.append(ints)
                geom_counts.append(counts)
        others = np.flatnonzero(~areas & ~lines & ~shapely.is_empty(local))
        kept_o, s_types, s_ints, s_counts = [], [], [], []
        for i in others.tolist():  # multipoints, and the odd collection clipping leaves
            got = _shape_commands(local[i])
            if got:
                kept_o.append(shapes[i])
                s_types.append(got[0])
                s_ints.extend(got[1])
                s_counts.append(len(got[1]))
        order.append(np.array(kept_o, dtype=np.int64))
        types.append(np.array(s_types, dtype=np.int64))
        geom_ints.append(np.array(s_ints, dtype=np.uint64))
        geom_counts.append(np.array(s_counts, dtype=np.int64))
    order_a = np.concatenate(order)
    if not len(order_a):
        return b""
    keys, values, tag_ints, tag_counts = _tags(source, order_a)
    features = _features(source.ids[order_a], np.concatenate(types), tag_ints, tag_counts,
                         np.concatenate(geom_ints), np.concatenate(geom_counts))
    parts = [_field_bytes(1, source.name.encode()), features, *(_field_bytes(3, k.encode()) for k in keys), *values,
             b"\x28" + _uvarint(EXTENT) + b"\x78\x02"]  # extent, version 2
    return _field_bytes(3, b"".join(parts))


def _tags(source: TileSource, order: np.ndarray) -> tuple[list[str], list[bytes], np.ndarray, np.ndarray]:
    """The tile's keys and (encoded) values tables and each feature's tags: (key, value) index pairs.

    The tables hold only what the tile's features use, in the layer's order; one pass over the
    features' codes renumbers them (a value's tile index is how many used values come before it)."""
    codes = source.codes[order]
    has = codes >= 0
    feature_tags = has.sum(axis=1)
    column = np.nonzero(has)[1]  # row by row: each feature's tags in key order
    code = codes[has]
    used = np.zeros(len(source.values), dtype=bool)
    used[code] = True
    used_keys = np.zeros(len(source.keys), dtype=bool)
    used_keys[column] = True
    tags = np.empty(2 * len(code), dtype=np.uint64)
    tags[0::2] = (np.cumsum(used_keys) - 1)[column]
    tags[1::2] = (np.cumsum(used) - 1)[code]
    keys = [source.keys[k] for k in np.flatnonzero(used_keys).tolist()]
    return keys, source.values[used].tolist(), tags, 2 * feature_tags


# ------------------------------------------------------------------ OGC: the tile matrix set

def web_mercator_quad(max_zoom: int = MAX_ZOOM) -> dict[str, Any]:
    """The WebMercatorQuad tile matrix set (OGC 2D Tile Matrix Set 2.0, JSON encoding)."""
    matrices = []
    for z in range(max_zoom + 1):
        cell = WORLD_M / 256 / 2**z
        matrices.append({"id": str(z), "scaleDenominator": cell / 0.00028, "cellSize": cell,
                         "cornerOfOrigin": "topLeft", "pointOfOrigin": [-HALF_WORLD, HALF_WORLD],
                         "tileWidth": 256, "tileHeight": 256, "matrixWidth": 2**z, "matrixHeight": 2**z})
    return {"id": "WebMercatorQuad", "title": "Google Maps Compatible for the World",
            "uri": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
            "crs": "http://www.opengis.net/def/crs/EPSG/0/3857", "orderedAxes": ["X", "Y"],
            "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
            "tileMatrices": matrices}
