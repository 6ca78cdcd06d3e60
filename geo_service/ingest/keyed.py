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
    geoms = incoming.geometry.values
    for pos, row in enumerate(incoming[fields].itertuples(index=False, name=None)):
        props = {f: plain_value(v) for f, v in zip(fields, row, strict=True)}
        key = props[SOURCE_ID]
        seen.add(key)
        fid = by_key.get(key)
        if fid is None:
            changes.inserts.append(NewFeature(props, geoms[pos]))
            continue
        change = _difference(spec, stored.loc[fid], props, geoms[pos], fid)
        if change is None:
            changes.unchanged += 1
        else:
            changes.updates.append(change)


def _difference(spec: LayerSpec, current, props: dict[str, Any], geom, fid: int) -> FeatureChange | None:
    changed = {f: v for f, v in props.items() if not _same(plain_value(current[f]), v)}
    new_geom = None if shapely.equals_exact(current.geometry, geom, tolerance=1e-9) else geom
    if not changed and new_geom is None:
        return None
    return FeatureChange(fid, changed, new_geom)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return a == b
