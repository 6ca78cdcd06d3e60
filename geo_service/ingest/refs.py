"""References in imported files: a ``ref:`` field's column may name the referenced feature by its id,
its source id, or its name (unique within a street when the file has a street column).

Spreadsheets kept by street offices name compounds (小区名称), not database ids, and the same name
recurs across streets; a name that matches several features, or none, is a row error naming the
candidates, so the person fixing the sheet knows what to write.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from ..catalog import SOURCE_ID, FieldSpec, LayerSpec
from ..catalog.validation import RowError
from ..store.base import FeatureStore, Query

STREET_COLUMNS = ("street", "街道", "街镇", "街道/镇", "所属街道", "街道（镇）")
MAX_SHOWN = 5


class _Index:
    """One referenced layer's ids, source ids and names (with street) for lookups."""

    def __init__(self, store: FeatureStore, layer: str):
        spec = store.catalog.get(layer)
        wanted = [n for n in ("name", "street", SOURCE_ID) if spec.has_field(n)]
        frame = store.query(layer, Query(properties=wanted)).features
        self.layer = layer
        self.ids = set(frame.index.tolist())
        self.by_source = _groups(frame, SOURCE_ID)
        self.by_name = _groups(frame, "name")
        self.street = {i: s for i, s in frame["street"].items()} if "street" in frame else {}
        self.names = frame["name"].dropna().astype(str).tolist() if "name" in frame else []

    def resolve(self, text: str, street: str | None) -> int | str:
        """The feature id, or the reason why there is none."""
        if text.isdigit() and int(text) in self.ids:
            return int(text)
        found = self.by_source.get(text, [])
        if len(found) == 1:
            return found[0]
        found = self.by_name.get(text, [])
        if street:
            found = [i for i in found if self.street.get(i) == street]
        if len(found) == 1:
            return found[0]
        if found:
            shown = ", ".join(f"id {i} ({self.street.get(i) or 'no street'})" for i in found[:MAX_SHOWN])
            return (f"{text!r} names {len(found)} {self.layer} features: {shown}; "
                    "add a street column (街道) or give the id")
        near = [n for n in self.names if text in n or n in text][:MAX_SHOWN]
        where = f" in {street}" if street else ""
        hint = f"; similar names: {', '.join(near)}" if near else ""
        return f"no {self.layer} feature has the id, source id or name {text!r}{where}{hint}"


def _groups(frame: pd.DataFrame, column: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    if column in frame:
        for fid, value in frame[column].items():
            if value is not None and not pd.isna(value):
                out[str(value).strip()].append(int(fid))
    return out


def _streets(source: pd.DataFrame) -> pd.Series | None:
    lower = {str(c).strip().lower(): c for c in source.columns}
    column = next((lower[n] for n in STREET_COLUMNS if n in lower), None)
    return None if column is None else source[column]


def resolve_refs(store: FeatureStore, spec: LayerSpec, frame: pd.DataFrame, source: pd.DataFrame,
                 rows: np.ndarray, indexes: dict[str, _Index] | None = None) -> tuple[pd.DataFrame, list[RowError]]:
    """``frame`` with every ref column replaced by feature ids, and a RowError per value that names none.
    ``indexes`` keeps each referenced layer's lookup between the chunks of one import (built once, not per chunk)."""
    indexes = {} if indexes is None else indexes
    errors: list[RowError] = []
    streets = _streets(source)
    for f in spec.ref_fields:
        if f.name not in frame.columns:
            continue
        frame = frame.copy()
        frame[f.name] = _resolve_column(indexes, store, f, frame[f.name], streets, rows, errors)
    return frame, errors


def _resolve_column(indexes: dict[str, _Index], store: FeatureStore, f: FieldSpec, column: pd.Series,
                    streets: pd.Series | None, rows: np.ndarray, errors: list[RowError]) -> pd.Series:
    if f.ref not in indexes:
        indexes[f.ref] = _Index(store, f.ref)
    index = indexes[f.ref]
    out = []
    for pos, value in enumerate(column.tolist()):
        if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
            out.append(None)
            continue
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip()
        street = None if streets is None else (str(streets.iloc[pos]).strip() or None)
        found = index.resolve(text, street)
        if isinstance(found, str):
            errors.append(RowError(int(rows[pos]), f.name, found, value))
            out.append(None)
        else:
            out.append(found)
    return pd.Series(out, index=column.index, dtype=object)
