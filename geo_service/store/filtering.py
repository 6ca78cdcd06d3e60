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
    if field.type == "list":  # a filter on a list field names one item: its code, label or alias
        return list_item(field, str(text))
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


def list_item(field: FieldSpec, text: str) -> str:
    """One item of a list field as its allowed value; InvalidQuery naming the allowed ones otherwise."""
    low = text.lower()
    for value, title in (field.values or {}).items():
        if low in (value.lower(), title.zh.lower(), title.en.lower()):
            return value
    for alias, target in (field.aliases or {}).items():
        if alias.lower() == low:
            return target
    raise InvalidQuery(f"{field.name}: {text!r} is not one of: {', '.join(field.values or {})}")


def list_contains(items: Any, wanted: list[str]) -> bool:
    """True when a list value holds any of ``wanted`` (the filter semantics of list fields)."""
    return isinstance(items, list | tuple) and any(w in items for w in wanted)
