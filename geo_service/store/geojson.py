"""GeoJSON encoding of query results, and the per-feature byte cache of the embedded store.

A feature's GeoJSON changes only when the feature does, so each is encoded once and its bytes
kept, keyed by the layer's version stamp; a page is the join of those bytes (``GeoJSONPage``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from ..catalog.validation import plain_value as plain

Transform = Callable[[np.ndarray], np.ndarray]


class GeoJSONPage(NamedTuple):
    """A page of features already encoded: each a GeoJSON Feature's UTF-8 bytes, in query order."""

    features: list[bytes]
    number_matched: int

    @property
    def number_returned(self) -> int:
        return len(self.features)

    def collection(self, members: Mapping[str, Any]) -> bytes:
        """The FeatureCollection: the features spliced in as they are, then ``members`` (links, counts...)."""
        return collection_bytes(self.features, members)


def collection_bytes(features: list[bytes], extra: Mapping[str, Any]) -> bytes:
    tail = orjson.dumps(dict(extra))[1:]  # '"numberMatched":...}' reuses the members' encoding
    return b'{"type":"FeatureCollection","features":[' + b",".join(features) + b"]" + (
        b"," + tail if len(tail) > 1 else b"}")


def encode_features(frame, transform: Transform | None = None, precision: int | None = None) -> list[bytes]:
    """Encode each row of a GeoDataFrame (index: id) as a GeoJSON Feature."""
    if not len(frame):
        return []
    geoms = frame.geometry.values
    geoms = np.asarray(geoms, dtype=object) if transform is None else transform(np.asarray(geoms, dtype=object))
    if precision is not None:
        geoms = shapely.set_precision(geoms, 10.0 ** -precision)
    geo_json = shapely.to_geojson(geoms)
    props = frame.drop(columns=frame.geometry.name)
    cols = list(props.columns)
    columns = [[plain(v) for v in props[c].tolist()] for c in cols]
    out = []
    for i, fid in enumerate(frame.index.tolist()):
        p = orjson.dumps({c: columns[k][i] for k, c in enumerate(cols)})
        g = geo_json[i].encode() if geo_json[i] is not None else b"null"
        out.append(b'{"type":"Feature","id":%d,"geometry":%s,"properties":%s}' % (int(fid), g, p))
    return out


def geometry_dict(geom: BaseGeometry | None) -> dict | None:
    return None if geom is None else orjson.loads(shapely.to_geojson(geom))


class FeatureCache:
    """Encoded features with all their properties, per layer, output CRS and layer version.

    The default representation (CRS84) is what nearly every request asks for; a client working in
    another CRS (GDAL or QGIS in CGCS2000) pages through it repeatedly too, so each CRS asked for
    gets its own entry. An entry is dropped whole when the layer's version changes or it grows
    past the bound."""

    def __init__(self, max_features_per_layer: int = 500_000):
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[int, dict[int, bytes]]] = {}
        self._max = max_features_per_layer

    def features(self, layer: str, version: int, ids: list[int], crs: str,
                 encode_missing: Callable[[list[int]], list[bytes]]) -> list[bytes]:
        """The features ``ids`` (every field) as GeoJSON bytes in ``crs`` ("" for CRS84), in that order.

        Only features not cached for this version are encoded: ``encode_missing`` gets their indices
        in ``ids`` and returns their bytes, in that order. A warm page is dict lookups and nothing else."""
        with self._lock:
            cached_version, cache = self._entries.get((layer, crs), (None, {}))
            if cached_version != version:
                cache = {}
                self._entries[(layer, crs)] = (version, cache)
        try:
            return [cache[fid] for fid in ids]
        except KeyError:
            pass
        missing = [i for i, fid in enumerate(ids) if fid not in cache]
        fresh = encode_missing(missing)
        with self._lock:
            if len(cache) + len(fresh) > self._max:
                cache.clear()
            for i, b in zip(missing, fresh, strict=True):
                cache[ids[i]] = b
        found = dict(zip((ids[i] for i in missing), fresh, strict=True))
        return [cache.get(fid) or found[fid] for fid in ids]
