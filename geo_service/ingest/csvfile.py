"""CSV tables with point coordinates (lon/lat, x/y, 经度/纬度 ...) or a WKT geometry column.

Read with the standard ``csv`` module rather than pandas so that every record keeps the line
number it starts on (quoted fields may span lines): error messages point at the line a person
sees in an editor (the header is line 1). Cells stay text; validation types them per field.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..catalog.validation import RowError

COORDINATE_PAIRS = (("lon", "lat"), ("lng", "lat"), ("longitude", "latitude"), ("long", "lat"),
                    ("x", "y"), ("point_x", "point_y"), ("经度", "纬度"))
WKT_COLUMNS = ("wkt", "geometry", "geom")
# GBK and GB2312 files often hold characters only their superset GB18030 decodes.
_SUPERSETS = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030"}


class CsvError(ValueError):
    """The file cannot be read as a table; the message says why (without the file name)."""


@dataclass
class CsvTable:
    frame: gpd.GeoDataFrame  # attribute columns as text + geometry (no CRS attached)
    row_numbers: np.ndarray  # line on which each record starts
    raw: pd.DataFrame  # every column as in the file, for the rejects file
    geometry_from: str  # e.g. "columns lon/lat"
    errors: list[RowError] = field(default_factory=list)


def codec_name(encoding: str) -> str:
    """The Python codec for a user's --encoding (gbk/gb2312 widened to gb18030); CsvError if unknown."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise CsvError(f"unknown encoding {encoding!r} (try utf-8 or gbk)") from None
    return _SUPERSETS.get(codec, codec)


def decode(data: bytes, encoding: str | None) -> str:
    """The file's text: UTF-8 (BOM optional) unless told otherwise; say where decoding fails."""
    if encoding is None:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            codec = "utf-16"
        else:
            codec = "utf-8-sig"
    else:
        codec = codec_name(encoding)
        codec = "utf-8-sig" if codec == "utf-8" else codec
    try:
        return data.decode(codec)
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        byte = data[e.start:e.start + 1].hex()
        if encoding is None:
            raise CsvError(f"not UTF-8 text: byte 0x{byte} at byte offset {e.start} (line {line}) cannot be "
                           "decoded; files saved by Excel or WPS on Chinese Windows are usually GBK: "
                           "pass --encoding gbk") from None
        raise CsvError(f"not valid {encoding} text: byte 0x{byte} at byte offset {e.start} (line {line}) "
                       "cannot be decoded; check --encoding") from None


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_csv(path: Path, encoding: str | None = None, geometry: bool = True) -> CsvTable:
    """``geometry=False``: a table for a layer without geometry (no coordinate columns are looked for)."""
    text = decode(Path(path).read_bytes(), encoding)
    if not text.strip():
        raise CsvError("file holds no text")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.split("\n", 1)[0]))
    header = [h.strip() or f"column_{i + 1}" for i, h in enumerate(next(reader))]
    seen: set[str] = set()
    for name in header:
        if name.lower() in seen:
            raise CsvError(f"the header names column {name!r} twice")
        seen.add(name.lower())
    records, lines, errors = [], [], []
    width = len(header)
    start = reader.line_num + 1
    for record in reader:
        if any(record):  # skip blank lines
            if len(record) != width:
                errors.append(RowError(start, "columns", f"has {len(record)} values; the header has {width}"))
                record = (record + [""] * width)[:width]
            records.append(record)
            lines.append(start)
        start = reader.line_num + 1
    raw = pd.DataFrame(records, columns=header, dtype=object) if records else pd.DataFrame(columns=header)
    rows = np.asarray(lines, dtype=np.int64)
    if geometry:
        geoms, used, described = _geometry(raw, rows, errors)
    else:
        geoms, used, described = np.full(len(raw), None, dtype=object), [], "nothing: the layer has no geometry"
    attributes = raw.drop(columns=used)
    frame = gpd.GeoDataFrame(attributes, geometry=gpd.GeoSeries(geoms, index=raw.index))
    return CsvTable(frame=frame, row_numbers=rows, raw=raw, geometry_from=described, errors=errors)


def _find(columns: list[str], name: str) -> str | None:
    return next((c for c in columns if c.lower() == name), None)


def _geometry(raw: pd.DataFrame, rows: np.ndarray, errors: list[RowError]) -> tuple[np.ndarray, list[str], str]:
    columns = list(raw.columns)
    for xname, yname in COORDINATE_PAIRS:
        xcol, ycol = _find(columns, xname), _find(columns, yname)
        if xcol and ycol:
            x = _coordinates(raw[xcol], xcol, rows, errors)
            y = _coordinates(raw[ycol], ycol, rows, errors)
            good = ~(np.isnan(x) | np.isnan(y))
            geoms = np.full(len(raw), None, dtype=object)
            geoms[good] = shapely.points(x[good], y[good])
            return geoms, [xcol, ycol], f"columns {xcol}/{ycol}"
    for name in WKT_COLUMNS:
        col = _find(columns, name)
        if col:
            return _wkt(raw[col], col, rows, errors), [col], f"WKT column {col}"
    pairs = ", ".join(f"{x}/{y}" for x, y in COORDINATE_PAIRS)
    raise CsvError(f"no coordinate columns: expected one of {pairs} (any case), or a WKT column named "
                   f"{' or '.join(WKT_COLUMNS)}; the header has: {', '.join(columns)}")


def _coordinates(column: pd.Series, name: str, rows: np.ndarray, errors: list[RowError]) -> np.ndarray:
    """Numbers, NaN where a cell is blank or not a finite number (each such cell is a row error)."""
    text = column.astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan, copy=True)
    blank = (text == "").to_numpy()
    for pos in np.flatnonzero(~np.isfinite(values)):
        cell = text.iloc[pos]
        if blank[pos]:
            reason = "coordinate is empty"
        else:
            try:
                float(cell)
                reason = f"{cell!r} is not a finite number"
            except ValueError:
                reason = f"{cell!r} is not a number"
        errors.append(RowError(int(rows[pos]), name, reason, cell))
    values[~np.isfinite(values)] = np.nan
    return values


def _wkt(column: pd.Series, name: str, rows: np.ndarray, errors: list[RowError]) -> np.ndarray:
    text = column.astype(str).str.strip().to_numpy(dtype=object)
    blank = text == ""
    geoms = np.full(len(text), None, dtype=object)
    geoms[~blank] = shapely.from_wkt(text[~blank], on_invalid="ignore")
    for pos in np.flatnonzero(~blank & shapely.is_missing(geoms)):
        shown = text[pos] if len(text[pos]) <= 60 else text[pos][:57] + "..."
        errors.append(RowError(int(rows[pos]), name, f"not valid WKT: {shown!r}", text[pos]))
    return geoms
