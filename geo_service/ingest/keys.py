"""The source's own identifier of each row (``source_id``): which column carries it, and its text.

The column is the first present among ``--key COLUMN``, the layer's ``source_keys`` and the common
names (catalog.COMMON_SOURCE_KEYS). Values become text so integer, string and mixed ids compare
alike across deliveries: ``12``, ``12.0`` and ``"12.0"`` (a spreadsheet's or GDAL's float) and
``"12"`` are the same key.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict

import numpy as np
import pandas as pd

from ..catalog import COMMON_SOURCE_KEYS, SOURCE_ID, LayerSpec
from ..catalog.validation import RowError


class KeyColumnMissing(ValueError):
    """--key names a column the file does not have."""


def key_column(columns: list, spec: LayerSpec, key: str | None) -> str | None:
    """The source column that carries the row's identifier, or None when the file has none."""
    by_lower = {str(c).strip().lower(): c for c in columns}
    if key is not None:
        found = key if key in columns else by_lower.get(key.strip().lower())
        if found is None:
            raise KeyColumnMissing(f"--key {key}: the file has no column {key!r}; its columns: "
                            f"{', '.join(map(str, columns))}")
        return found
    if SOURCE_ID in columns:
        return SOURCE_ID
    for name in (*spec.source_keys, *COMMON_SOURCE_KEYS):
        if name in columns:
            return name
        if name.lower() in by_lower:
            return by_lower[name.lower()]
    return None


_INTEGRAL_DECIMAL = re.compile(r"^-?\d+\.0+$")


def key_text(value) -> str | None:
    """One identifier as text: integral floats lose their ``.0``; blanks are no key."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip()
    if _INTEGRAL_DECIMAL.match(text):  # "12.0": a number that went through a float column on the way
        text = text.split(".")[0]
    return text or None


def source_ids(column: pd.Series) -> pd.Series:
    return pd.Series([key_text(v) for v in column.tolist()], index=column.index, dtype=object)


def duplicate_key_errors(keys: pd.Series, rows: np.ndarray) -> list[RowError]:
    """One error per row whose key another row of the same file also has, naming the other rows."""
    positions: dict[str, list[int]] = defaultdict(list)
    for pos, k in enumerate(keys.tolist()):
        if k is not None:
            positions[k].append(pos)
    errors = []
    for k, members in positions.items():
        if len(members) < 2:
            continue
        for pos in members:
            others = ", ".join(str(rows[p]) for p in members if p != pos)
            errors.append(RowError(int(rows[pos]), SOURCE_ID, f"key {k!r} also on row(s) {others} of this file",
                                   k))
    return sorted(errors, key=lambda e: e.row)
