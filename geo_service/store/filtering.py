"""Filter values (often query-string text) as their field's type, the same in both stores."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from ..catalog import FieldSpec
from .errors import InvalidQuery

_TRUE = {"true", "1", "yes", "y", "t", "是"}
_FALSE = {"false", "0", "no", "n", "f", "否"}


def _typed(field: FieldSpec, text: Any) -> Any:
    """The value as the field's (non-text) type; ValueError when it is not one."""
    if field.type == "integer":
        f = float(text)
        if not f.is_integer():
            raise ValueError
        return int(f)
    if field.type == "number":
        f = float(text)
        if not np.isfinite(f):
            raise ValueError
        return f
    if field.type == "boolean":
        if isinstance(text, bool):
            return text
        low = str(text).lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE
        raise ValueError
    if field.type == "date":
        return dt.date.fromisoformat(str(text)[:10]).isoformat()
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M:%SZ")


def coerce_value(field: FieldSpec, value: Any) -> Any:
    """A filter value (often a query-string text) as the field's type; InvalidQuery when it can't be."""
    if value is None:
        return None
    text = str(value).strip() if not isinstance(value, bool | int | float) else value
    if field.type != "string":
        try:
            return _typed(field, text)
        except (ValueError, OverflowError):
            raise InvalidQuery(f"{field.name}: {value!r} is not a valid {field.type}") from None
    text = str(text)
    for alias, target in (field.aliases or {}).items():
        if alias.lower() == text.lower():
            return target
    return text
