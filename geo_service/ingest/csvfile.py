"""CSV tables with point coordinates (lon/lat, x/y, 经度/纬度 ...) or a WKT geometry column.

Read with the standard ``csv`` module rather than pandas so that every record keeps the line
number it starts on (quoted fields may span lines): error messages point at the line a person
sees in an editor (the header is line 1). Cells stay text; validation types them per field.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
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


_DECIMAL_COMMA = r"[+-]?\d+,\d+"


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


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _codec(head: bytes, encoding: str | None) -> str:
    if encoding is None:
        return "utf-16" if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    codec = codec_name(encoding)
    return "utf-8-sig" if codec == "utf-8" else codec


def _decode_failure(path: Path, encoding: str | None) -> CsvError:
    """The error ``decode`` gives for the whole file, found by decoding it again block by block
    (only when streaming hit a bad byte), so the message names the same offset and line."""
    with Path(path).open("rb") as f:
        head = f.read(4)
        decoder = codecs.getincrementaldecoder(_codec(head, encoding))()
        f.seek(0)
        offset, lines = 0, 0
        while block := f.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as e:
                start = max(0, e.start)
                return _decode_error(block[:start], block[start:start + 1], offset + start,
                                     lines + block[:start].count(b"\n") + 1, encoding)
            offset += len(block)
            lines += block.count(b"\n")
    return CsvError("the text cannot be decoded; check --encoding")


def _decode_error(before: bytes, bad: bytes, offset: int, line: int, encoding: str | None) -> CsvError:
    byte = bad.hex()
    if encoding is None:
        return CsvError(f"not UTF-8 text: byte 0x{byte} at byte offset {offset} (line {line}) cannot be "
                        "decoded; files saved by Excel or WPS on Chinese Windows are usually GBK: "
                        "pass --encoding gbk")
    return CsvError(f"not valid {encoding} text: byte 0x{byte} at byte offset {offset} (line {line}) "
                    "cannot be decoded; check --encoding")


CHUNK_ROWS = 10_000


class CsvStream:
    """A CSV file read ``chunk_rows`` records at a time: the header and the geometry columns are
    settled when it opens (so a bad header fails before any row is read), then ``tables()`` yields
    one CsvTable per chunk. Peak memory is a chunk, not the file."""

    def __init__(self, path: Path, encoding: str | None = None, chunk_rows: int = CHUNK_ROWS,
                 geometry: bool = True):
        self.path = Path(path)
        self.encoding = encoding
        self.chunk_rows = chunk_rows
        with self.path.open("rb") as f:
            self.codec = _codec(f.read(4), encoding)
        self._file = None
        try:
            self._file = io.TextIOWrapper(self.path.open("rb"), encoding=self.codec, newline="")
            first = self._file.readline()
            while first and not first.strip():
                first = self._file.readline()
        except UnicodeDecodeError:
            self.close()
            raise _decode_failure(self.path, encoding) from None
        if not first.strip():
            self.close()
            raise CsvError("file holds no text")
        self._reader = csv.reader(itertools.chain([first], self._file), delimiter=_delimiter(first))
        self.header = [h.strip() or f"column_{i + 1}" for i, h in enumerate(next(self._reader))]
        self.warnings: list[str] = []
        try:
            check_header(self.header)
            self.geometry_columns, self.geometry_from = geometry_columns(self.header, geometry)
        except CsvError:
            self.close()
            raise

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def tables(self) -> Iterator[CsvTable]:
        try:
            yield from self._tables()
        except UnicodeDecodeError:
            raise _decode_failure(self.path, self.encoding) from None
        finally:
            self.close()

    def _tables(self) -> Iterator[CsvTable]:
        records, lines, errors = [], [], []
        width = len(self.header)
        reader = self._reader
        start = reader.line_num + 1
        for record in reader:
            if any(record):  # skip blank lines
                if len(record) != width:
                    errors.append(RowError(start, "columns", f"has {len(record)} values; the header has {width}"))
                    record = (record + [""] * width)[:width]
                records.append(record)
                lines.append(start)
                if len(records) >= self.chunk_rows:
                    yield self._table(records, lines, errors)
                    records, lines, errors = [], [], []
            start = reader.line_num + 1
        if records or errors:
            yield self._table(records, lines, errors)

    def _table(self, records: list, lines: list, errors: list[RowError]) -> CsvTable:
        return table_from_records(self.header, records, np.asarray(lines, dtype=np.int64), errors,
                                  self.geometry_columns, self.geometry_from)

    def empty(self) -> CsvTable:
        return self._table([], [], [])


def check_header(header: list[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if name.lower() in seen:
            raise CsvError(f"the header names column {name!r} twice")
        seen.add(name.lower())


def table_from_records(header: list[str], records: list, rows: np.ndarray, errors: list[RowError],
                       used: tuple[str, ...], geometry_from: str) -> CsvTable:
    """Text records (one list per row) as a CsvTable: attributes as text + the geometry from ``used``."""
    raw = pd.DataFrame(records, columns=header, dtype=object) if records else pd.DataFrame(columns=header)
    geoms = _geometry(raw, rows, errors, used)
    attributes = raw.drop(columns=list(used))
    frame = gpd.GeoDataFrame(attributes, geometry=gpd.GeoSeries(geoms, index=raw.index))
    return CsvTable(frame=frame, row_numbers=rows, raw=raw, geometry_from=geometry_from, errors=errors)


def _find(columns: list[str], name: str) -> str | None:
    return next((c for c in columns if c.lower() == name), None)


NO_GEOMETRY = "nothing: the layer has no geometry"


def geometry_columns(columns: list[str], geometry: bool = True) -> tuple[tuple[str, ...], str]:
    """The columns the geometry comes from: a coordinate pair (x, y) or one WKT column, and how to say so.
    ``geometry=False`` (a layer without geometry, such as renovation plans): none are looked for."""
    if not geometry:
        return (), NO_GEOMETRY
    for xname, yname in COORDINATE_PAIRS:
        xcol, ycol = _find(columns, xname), _find(columns, yname)
        if xcol and ycol:
            return (xcol, ycol), f"columns {xcol}/{ycol}"
    for name in WKT_COLUMNS:
        col = _find(columns, name)
        if col:
            return (col,), f"WKT column {col}"
    pairs = ", ".join(f"{x}/{y}" for x, y in COORDINATE_PAIRS)
    raise CsvError(f"no coordinate columns: expected one of {pairs} (any case), or a WKT column named "
                   f"{' or '.join(WKT_COLUMNS)}; the header has: {', '.join(columns)}")


def _geometry(raw: pd.DataFrame, rows: np.ndarray, errors: list[RowError], used: tuple[str, ...]) -> np.ndarray:
    if not used:
        return np.full(len(raw), None, dtype=object)
    if len(used) == 1:
        return _wkt(raw[used[0]], used[0], rows, errors)
    xcol, ycol = used
    x = _coordinates(raw[xcol], xcol, rows, errors)
    y = _coordinates(raw[ycol], ycol, rows, errors)
    good = ~(np.isnan(x) | np.isnan(y))
    geoms = np.full(len(raw), None, dtype=object)
    geoms[good] = shapely.points(x[good], y[good])
    return geoms


def _coordinates(column: pd.Series, name: str, rows: np.ndarray, errors: list[RowError]) -> np.ndarray:
    """Numbers, NaN where a cell is blank or not a finite number (each such cell is a row error)."""
    text = column.astype(str).str.strip()
    # "121,4": a decimal comma (a European-locale export); never a thousands separator in lon/lat.
    text = text.where(~text.str.fullmatch(_DECIMAL_COMMA), text.str.replace(",", ".", regex=False))
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
