"""Keyed re-import (``--mode upsert|sync``): match a file's rows to stored features by ``source_id``.

Only what differs is written: a matched row updates the fields the file carries and its geometry
when they changed (same feature id, so API edits to fields the file does not carry stay); a new
key inserts; under ``sync`` a stored feature whose key the file no longer has is deleted, but only
features that came from a source (a ``source_id``): hand-made ones stay. An unchanged file writes
nothing and the layer version stays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from ..catalog import SOURCE_ID, LayerSpec
from ..catalog.validation import plain_value
from ..store.base import FeatureChange, FeatureChanges, FeatureStore, NewFeature

KEYED_MODES = ("upsert", "sync")


def plan_changes(store: FeatureStore, layer: str, incoming: gpd.GeoDataFrame | Iterable[gpd.GeoDataFrame],
                 carried: list[str], mode: str, actor: str) -> FeatureChanges:
    """The inserts, updates and deletes that bring ``layer`` in line with ``incoming`` (validated rows,
    one frame or its chunks one after another)."""
    spec = store.catalog.get(layer)
    base_version = store.version(layer)
    stored = store.frame(layer)
    by_key: dict[str, int] = {}
    for fid, key in zip(stored.index.tolist(), stored[SOURCE_ID].tolist(), strict=True):
        if key is not None and key == key and key not in by_key:  # the lowest id wins a repeated key
            by_key[key] = int(fid)
    fields = [f for f in spec.field_names if f in carried or f == SOURCE_ID]
    changes = FeatureChanges(base_version=base_version, actor=actor)
    seen: set[str] = set()
    for chunk in [incoming] if isinstance(incoming, gpd.GeoDataFrame) else incoming:
        _plan_chunk(spec, chunk, fields, stored, by_key, seen, changes)
    if mode == "sync":
        changes.deletes = sorted(fid for key, fid in by_key.items() if key not in seen)
    return changes


def _plan_chunk(spec: LayerSpec, incoming: gpd.GeoDataFrame, fields: list[str], stored, by_key: dict[str, int],
                seen: set[str], changes: FeatureChanges) -> None:
    """One chunk: matched rows are compared column by column on whole arrays, so only the rows that
    differ cost Python work (200,000 unchanged rows: a second, not a minute)."""
    keys = incoming[SOURCE_ID].tolist()
    seen.update(keys)
    fids = np.array([by_key.get(k, -1) for k in keys], dtype=np.int64)
    matched = fids >= 0
    geoms = incoming.geometry.to_numpy(dtype=object)
    for pos in np.flatnonzero(~matched):
        props = {f: plain_value(v) for f, v in zip(fields, incoming[fields].iloc[pos].tolist(), strict=True)}
        changes.inserts.append(NewFeature(props, geoms[pos]))
    if not matched.any():
        return
    current = stored.loc[fids[matched]]
    new = incoming.loc[matched]
    differs = {f: ~_same_column(current[f].to_numpy(dtype=object), new[f].to_numpy(dtype=object)) for f in fields}
    before, after = current.geometry.to_numpy(dtype=object), geoms[matched]
    # a layer without geometry (renovation plans) holds None on both sides: not a move
    moved = ~(shapely.equals_exact(before, after, tolerance=1e-9)
              | (shapely.is_missing(before) & shapely.is_missing(after)))
    any_diff = moved.copy()
    for mask in differs.values():
        any_diff |= mask
    changes.unchanged += int((~any_diff).sum())
    for k in np.flatnonzero(any_diff):
        changed = {f: plain_value(new[f].iloc[k]) for f in fields if differs[f][k]}
        changes.updates.append(FeatureChange(int(fids[matched][k]), changed, geoms[matched][k] if moved[k] else None))


def _same_column(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise ``_same`` of two object arrays (stored and incoming values of one field)."""
    return np.fromiter((_same(plain_value(x), plain_value(y)) for x, y in zip(a, b, strict=True)), dtype=bool,
                       count=len(a))


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return a == b
