"""What an import must keep true across layers and features: one feature per ``key_fields`` value
(one plan per compound and year), declared lifecycles on keyed re-imports, and no deletion of a feature
another layer refers to. The same rules hold for edits through the API (store/base.py); an import runs
them on the whole file before its one write transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ..catalog import SOURCE_ID, LayerSpec
from ..catalog.validation import transition_errors
from ..store.base import Conflict, FeatureStore, InvalidFeature, Query
from .keys import key_text, source_ids


def keys_from_fields(frame: pd.DataFrame, spec: LayerSpec) -> pd.DataFrame | None:
    """For a file without an id column, a layer with ``key_fields``: the frame with a source id made of
    those fields' values ("38-2028": compound 38's plan for 2028), so upsert/sync match one plan per
    compound and year; None when the layer has no key fields or the file lacks one of them."""
    if not spec.key_fields or not set(spec.key_fields) <= set(frame.columns):
        return None
    parts = [source_ids(frame[k]).tolist() for k in spec.key_fields]
    frame = frame.copy()
    frame[SOURCE_ID] = [None if any(p is None for p in row) else "-".join(row) for row in zip(*parts, strict=True)]
    return frame


def check_unique_keys(store: FeatureStore, layer: str, new_rows: Iterable[dict], leaving: set[int]) -> None:
    """New features must not repeat a stored feature's ``key_fields`` (one plan per compound and year)."""
    spec = store.catalog.get(layer)
    if not spec.key_fields:
        return
    stored = store.query(layer, Query(properties=list(spec.key_fields))).features
    taken = {tuple(key_text(v) for v in row): int(fid) for fid, row in
             zip(stored.index, stored[list(spec.key_fields)].itertuples(index=False), strict=True)
             if int(fid) not in leaving}
    problems = []
    for props in new_rows:
        key = tuple(key_text(props.get(k)) for k in spec.key_fields)
        if None in key:
            continue
        shown = ", ".join(f"{k}={v}" for k, v in zip(spec.key_fields, key, strict=True))
        if key in taken:
            where = f"feature {taken[key]}" if taken[key] > 0 else "an earlier row of the file"
            problems.append(f"{shown}: already {where}; there is one per {' and '.join(spec.key_fields)} (give "
                            f"that feature's source id, or leave the id column out to match on them)")
        taken[key] = 0
    if problems:
        raise Conflict(f"{layer}: {len(problems)} row(s) would repeat a stored feature: " + "; ".join(problems[:10]))


def check_lifecycle(store: FeatureStore, layer: str, changes) -> None:
    """A keyed re-import follows the layer's declared lifecycle as an edit does (InvalidFeature names the
    feature, its source id and the allowed next states)."""
    spec = store.catalog.get(layer)
    if not spec.transitions:
        return
    problems = []
    for change in changes.updates:
        current = store.get(layer, change.id)["properties"]
        for name, reason in transition_errors(spec, current, change.properties):
            problems.append((name, f"feature {change.id} (source id {current.get(SOURCE_ID)!r}): {reason}"))
    if problems:
        raise InvalidFeature(problems)


def check_replace_keeps_referenced(store: FeatureStore, layer: str, kept_ids: set[int]) -> None:
    """--mode replace deletes every stored feature the file does not give again by id: refused while
    another layer refers to one of them."""
    if not store.catalog.referrers(layer):
        return
    stored = store.query(layer, Query(properties=[])).features.index.tolist()
    store.check_not_referenced(layer, [i for i in stored if i not in kept_ids])


def key_field_rows(chunks: Iterable[pd.DataFrame], spec: LayerSpec) -> list[dict]:
    """The key fields of every row to be written (only for layers that declare them)."""
    if not spec.key_fields:
        return []
    wanted = list(spec.key_fields)
    return [row for chunk in chunks if set(wanted) <= set(chunk.columns)
            for row in chunk[wanted].to_dict("records")]
