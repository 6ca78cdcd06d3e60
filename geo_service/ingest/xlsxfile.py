"""Excel workbooks (.xlsx): one sheet read like a CSV, ``chunk_rows`` rows at a time.

District offices send spreadsheets with a title row (often merged across the columns), a blank
row or two, then the header. The header is the first of the top rows whose cells name a
coordinate pair (lon/lat, 经度/纬度 ...) or a WKT column; the rows above it are ignored (and
said so). Cells become text as a person reads them (121.4 -> "121.4", 5.0 -> "5", a date ->
"2024-03-01"), so validation types them exactly as it does CSV cells. Row numbers are Excel's.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openpyxl

from ..catalog.validation import RowError
from .csvfile import CHUNK_ROWS, CsvError, CsvTable, check_header, geometry_columns, table_from_records

HEADER_SEARCH_ROWS = 30


class WorkbookStream:
    """The chosen sheet of a workbook; ``tables()`` yields CsvTable chunks."""

    def __init__(self, path: Path, sheet: str | None = None, chunk_rows: int = CHUNK_ROWS, geometry: bool = True):
        self.chunk_rows = chunk_rows
        self.geometry = geometry
        self.warnings: list[str] = []
        try:
            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
            raise CsvError(f"cannot be read as an Excel workbook (.xlsx): {e}") from None
        names = self._book.sheetnames
        if sheet is None:
            sheet = names[0]
        elif sheet not in names:
            self._book.close()
            raise CsvError(f"has no sheet {sheet!r}; its sheets: {', '.join(names)}")
        self.sheet = sheet
        self._rows = self._book[sheet].iter_rows(values_only=True)
        self._line = 0
        self.header = self._find_header()
        self.geometry_columns, self.geometry_from = geometry_columns(self.header, geometry)

    def _next(self):
        row = next(self._rows, None)
        self._line += 1
        return row

    def _find_header(self) -> list[str]:
        """The first of the top rows that names coordinate (or WKT) columns; for a layer without geometry,
        the first row with two or more cells (a merged title row above it has one)."""
        seen: list[list[str]] = []
        while len(seen) < HEADER_SEARCH_ROWS:
            row = self._next()
            if row is None:
                break
            cells = [cell_text(c) for c in row]
            while cells and not cells[-1]:
                cells.pop()
            if not any(cells):
                continue
            header = [c or f"column_{i + 1}" for i, c in enumerate(cells)]
            try:
                geometry_columns(header, self.geometry)
                if not self.geometry and sum(1 for c in cells if c) < 2:
                    raise CsvError("a title row")
            except CsvError:
                seen.append(cells)
                continue
            if seen:
                self.warnings.append(f"sheet {self.sheet!r}: {len(seen)} row(s) above the header (row "
                                     f"{self._line}) were skipped, e.g. {' '.join(c for c in seen[0] if c)!r}")
            check_header(header)
            return header
        self._book.close()
        if not seen:
            raise CsvError(f"sheet {self.sheet!r} is empty")
        # Say what the sheet's first row holds, as the CSV reader would.
        geometry_columns([c for c in seen[0] if c])
        raise AssertionError("unreachable")  # geometry_columns raised

    def tables(self) -> Iterator[CsvTable]:
        try:
            yield from self._tables()
        finally:
            self._book.close()

    def _tables(self) -> Iterator[CsvTable]:
        width = len(self.header)
        records, lines, errors = [], [], []
        while (row := self._next()) is not None:
            cells = [cell_text(c) for c in row]
            if not any(cells):
                continue
            extra = [c for c in cells[width:] if c]
            if extra:
                errors.append(RowError(self._line, "columns", f"has values beyond the header's {width} columns "
                                       f"(e.g. {extra[0]!r})"))
            records.append((cells + [""] * width)[:width])
            lines.append(self._line)
            if len(records) >= self.chunk_rows:
                yield self._table(records, lines, errors)
                records, lines, errors = [], [], []
        if records or errors:
            yield self._table(records, lines, errors)

    def empty(self) -> CsvTable:
        return self._table([], [], [])

    def _table(self, records, lines, errors) -> CsvTable:
        return table_from_records(self.header, records, np.asarray(lines, dtype=np.int64), errors,
                                  self.geometry_columns, self.geometry_from)


def cell_text(value) -> str:
    """A cell as a person reads it: whole floats without '.0', dates as ISO text, blanks as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def open_workbook(path: Path, sheet: str | None, chunk_rows: int = CHUNK_ROWS, geometry: bool = True) -> WorkbookStream:
    return WorkbookStream(Path(path), sheet, chunk_rows, geometry)
