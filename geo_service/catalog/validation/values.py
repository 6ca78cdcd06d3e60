"""Normalising one column of raw values to the type its field declares.

Source files bring values in every shape: CSV gives text, GeoJSON gives JSON numbers and
booleans, GeoPackage gives typed columns. Each column is normalised here to the one
representation the store writes (see ``frame.validate_frame``), and every value that
cannot be normalised yields a reason a person can act on.

Speed: typed numeric columns take vectorised paths; everything else is factorised, so the
Python converter runs once per *distinct* value (a 200,000-row status column has a handful).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

from ..specs import FieldSpec

BOOLEAN_WORDS = {
    "true": True, "false": False, "t": True, "f": False, "1": True, "0": False,
    "yes": True, "no": False, "y": True, "n": False, "是": True, "否": False,
}
_BOOLEAN_HINT = "true/false, yes/no, 1/0, 是/否"
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"  # 2024-05-01, 2024/5/1, 2024年5月1日
                   r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")  # a time part is ignored
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


class BadValue(ValueError):
    """One value that cannot be normalised; the message is the reason shown to the user."""


@dataclass
class Column:
    """A normalised column: ``values`` positional, ``errors`` maps position -> (reason, raw value)."""

    values: pd.Series
    errors: dict[int, tuple[str, Any]] = field(default_factory=dict)


def show(value: Any) -> str:
    """A value as it appears in a reason: strings quoted, integral floats without '.0'."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def is_null(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


# --------------------------------------------------------------------------- one value

def _text(value: Any) -> str | None:
    """Any scalar as stripped text; None for blanks. Integral floats lose their '.0'."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    return str(value)


def _integer(value: Any) -> int | None:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        raise BadValue(f"{show(value)} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        raise BadValue(f"{show(value)} is not an integer")
    text = _text(value)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise BadValue(f"{show(value)} is not an integer") from None
    if math.isfinite(number) and number.is_integer():
        return int(number)
    raise BadValue(f"{show(value)} is not an integer")


def _number(value: Any) -> float | None:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        raise BadValue(f"{show(value)} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _text(value)
        if text is None:
            return None
        try:
            number = float(text)
        except ValueError:
            raise BadValue(f"{show(value)} is not a number") from None
    if not math.isfinite(number):
        raise BadValue(f"{show(value)} is not a finite number")
    return number


def _boolean(value: Any) -> bool | None:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = _text(value)
    if text is None:
        return None
    word = BOOLEAN_WORDS.get(text.lower())
    if word is None:
        raise BadValue(f"{show(value)} is not a boolean ({_BOOLEAN_HINT})")
    return word


def _date(value: Any) -> str | None:
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, dt.datetime | dt.date):  # pd.Timestamp is a datetime
        return value.strftime("%Y-%m-%d") if not pd.isna(value) else None
    text = _text(value)
    if text is None:
        return None
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    if match is None:
        raise BadValue(f"{show(value)} is not a date (expected YYYY-MM-DD)")
    try:
        return dt.date(*(int(g) for g in match.groups())).isoformat()
    except ValueError as e:
        raise BadValue(f"{show(value)} is not a date ({e})") from None


def _datetime(value: Any) -> str | None:
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    else:
        text = _text(value)
        if text is None:
            return None
        cleaned = re.sub(r"^(\d{4})[/.年](\d{1,2})[/.月](\d{1,2})日?", _iso_date_part, text)
        try:
            moment = dt.datetime.fromisoformat(cleaned)
        except ValueError:
            raise BadValue(f"{show(value)} is not a date-time (expected YYYY-MM-DDTHH:MM:SSZ)") from None
    if moment.tzinfo is not None:  # naive means UTC
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_date_part(match: re.Match) -> str:
    y, m, d = match.groups()
    return f"{y}-{int(m):02d}-{int(d):02d}"


def _string_converter(spec: FieldSpec) -> Callable[[Any], str | None]:
    """Text, with the spec's aliases and allowed values applied (case-insensitive).

    A value's own labels count as spellings of it too (商品房 / "Commodity housing" -> commodity):
    spreadsheets kept by Chinese offices hold the label, not the code.
    """
    if spec.values is None:
        return _text
    lookup = {label.strip().lower(): v for v, title in spec.values.items() for label in (title.en, title.zh)}
    lookup.update({a.strip().lower(): target for a, target in spec.aliases.items()})
    lookup.update({v.lower(): v for v in spec.values})
    # the zh label beside each code (正常 working): clerks know the label, the file may need the code
    allowed = ", ".join(f"{title.zh} {v}" if title.zh and title.zh != v else v for v, title in spec.values.items())

    def convert(value: Any) -> str | None:
        text = _text(value)
        if text is None:
            return None
        found = lookup.get(text.lower())
        if found is None:
            raise BadValue(f"{show(text)} is not one of: {allowed}")
        return found

    return convert


_LIST_SEPARATORS = re.compile(r"[,，、;；|\n]")


def _list_converter(spec: FieldSpec) -> Callable[[Any], list[str] | None]:
    """A list of allowed values: a JSON array, or text separated by , ， 、 ; ； | (a spreadsheet cell).
    Items go through the string rules (labels and aliases); repeats are dropped; empty -> None."""
    item = _string_converter(spec)

    def convert(value: Any) -> list[str] | None:
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = orjson.loads(text)
                except orjson.JSONDecodeError:
                    raise BadValue(f"{show(text)} is not a JSON array") from None
            else:
                value = [part for part in _LIST_SEPARATORS.split(text) if part.strip()]
        if not isinstance(value, list | tuple):
            raise BadValue(f"{show(value)} is not a list")
        out: list[str] = []
        for v in value:
            if not isinstance(v, str | int | float) or isinstance(v, bool):
                raise BadValue(f"{show(v)} in the list is not a text value")
            found = item(v)
            if found is not None and found not in out:
                out.append(found)
        return out or None

    return convert


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "integer": _integer, "number": _number, "boolean": _boolean, "date": _date, "datetime": _datetime,
}
_DTYPES = {"string": object, "integer": "Int64", "number": "float64", "boolean": "boolean",
           "date": object, "datetime": object, "list": object}


# --------------------------------------------------------------------------- one column

def normalise_column(raw: pd.Series, spec: FieldSpec) -> Column:
    """The column in its field's dtype, plus the reasons for values that could not be used."""
    fast = _fast_path(raw, spec)
    column = fast if fast is not None else _by_distinct_value(raw, spec)
    _check_bounds(column, spec)
    return column


def _fast_path(raw: pd.Series, spec: FieldSpec) -> Column | None:
    """Vectorised handling of columns that already hold numbers, booleans or datetimes."""
    dtype = raw.dtype
    n = len(raw)
    if spec.type in ("integer", "number") and pd.api.types.is_bool_dtype(dtype):
        return None  # booleans are no numbers; let the per-value path word the error
    if spec.type == "integer" and pd.api.types.is_integer_dtype(dtype):
        return Column(pd.Series(raw.to_numpy(), dtype="Int64").reset_index(drop=True))
    if spec.type in ("integer", "number") and pd.api.types.is_float_dtype(dtype):
        values = raw.to_numpy(dtype="float64", na_value=np.nan)
        bad = np.isinf(values)
        if spec.type == "integer":
            bad |= np.isfinite(values) & (values != np.round(values))
        errors = {int(i): (f"{show(values[i])} is not {'an integer' if spec.type == 'integer' else 'a finite number'}",
                           values[i].item()) for i in np.flatnonzero(bad)}
        values = np.where(bad, np.nan, values)
        if spec.type == "number":
            return Column(pd.Series(values, dtype="float64"), errors)
        ints = pd.array(np.where(np.isnan(values), 0, values).astype(np.int64), dtype="Int64")
        ints[np.isnan(values)] = pd.NA
        return Column(pd.Series(ints), errors)
    if spec.type == "number" and pd.api.types.is_integer_dtype(dtype):
        return Column(pd.Series(raw.to_numpy(dtype="float64", na_value=np.nan)))
    if spec.type == "boolean" and pd.api.types.is_bool_dtype(dtype):
        return Column(pd.Series(raw.to_numpy(), dtype="boolean").reset_index(drop=True))
    if spec.type in ("date", "datetime") and pd.api.types.is_datetime64_any_dtype(dtype):
        series = raw.reset_index(drop=True)
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        fmt = "%Y-%m-%d" if spec.type == "date" else "%Y-%m-%dT%H:%M:%SZ"
        text = series.dt.strftime(fmt)
        out = np.where(series.isna().to_numpy(), None, text.to_numpy(dtype=object, na_value=None))
        return Column(pd.Series(out, dtype=object))
    if n == 0:
        return Column(pd.Series([], dtype=_DTYPES[spec.type]))
    return None


def _by_distinct_value(raw: pd.Series, spec: FieldSpec) -> Column:
    """Convert each distinct value once and spread the results back over the rows."""
    values = raw.to_numpy(dtype=object, na_value=None)
    convert = (_string_converter(spec) if spec.type == "string" else _list_converter(spec) if spec.type == "list"
               else _CONVERTERS[spec.type])
    try:
        codes, uniques = pd.factorize(values)
        # factorize treats True == 1 == 1.0 as one value; booleans must not pass for numbers.
        if any(isinstance(u, bool | np.bool_) for u in uniques) and len(uniques) > 1:
            raise TypeError("mixed booleans")
    except TypeError:  # unhashable values (JSON lists/objects) or mixed booleans: row by row
        codes, uniques = np.arange(len(values)), values
    converted = np.empty(len(uniques) + 1, dtype=object)  # last slot: nulls (code -1)
    reasons: dict[int, str] = {}
    for k, u in enumerate(uniques):
        if is_null(u):
            continue
        try:
            converted[k] = convert(u)
        except BadValue as e:
            reasons[k] = str(e)
    out = converted[codes]
    errors: dict[int, tuple[str, Any]] = {}
    if reasons:
        bad_codes = np.fromiter(reasons, dtype=np.int64)
        for pos in np.flatnonzero(np.isin(codes, bad_codes)):
            errors[int(pos)] = (reasons[int(codes[pos])], values[pos])
    return Column(_typed(out, spec.type), errors)


def _typed(values: np.ndarray, ftype: str) -> pd.Series:
    if ftype in ("integer", "boolean"):
        return pd.Series(pd.array(values, dtype=_DTYPES[ftype]))
    if ftype == "number":
        return pd.Series(values.astype("float64"))  # None becomes NaN
    return pd.Series(values, dtype=object)


def _check_bounds(column: Column, spec: FieldSpec) -> None:
    if spec.type not in ("integer", "number") or (spec.minimum is None and spec.maximum is None):
        return
    numbers = column.values.to_numpy(dtype="float64", na_value=np.nan)
    for limit, below in ((spec.minimum, True), (spec.maximum, False)):
        if limit is None:
            continue
        bad = numbers < limit if below else numbers > limit
        for pos in np.flatnonzero(bad):
            value = column.values.iloc[pos]
            word = "below the minimum" if below else "above the maximum"
            column.errors.setdefault(int(pos), (f"{show(value)} is {word} {show(limit)}", value))
    if column.errors:
        bad_pos = np.fromiter(column.errors, dtype=np.int64)
        column.values.iloc[bad_pos] = pd.NA if spec.type == "integer" else np.nan


def plain_value(v: Any) -> Any:
    """A JSON-ready Python scalar: numpy/pandas scalars unwrapped, NaN/NA/NaT as None."""
    if v is None or isinstance(v, list | tuple | dict):
        return v
    if isinstance(v, np.generic):
        v = v.item()
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v
