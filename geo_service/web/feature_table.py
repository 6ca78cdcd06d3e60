"""A layer's features as a CSV for people (``/collections/{id}/items?f=csv``, the map's filter box).

Headers are the catalog's field titles in the page's language; a coded field shows its label with the
code in the next column (for joins and scripts); booleans read 是/否 or Yes/No; points get longitude and
latitude columns, other geometries a WKT column. Text that a spreadsheet would run as a formula is
neutralised (OWASP CSV injection). Written with a byte-order mark, because the street
offices open CSV files in Excel, which reads UTF-8 only with one.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..catalog import LayerSpec
from ..text import spreadsheet_safe

CODE_SUFFIX = {"zh": "代码", "en": " (code)"}
YES_NO = {"zh": ("否", "是"), "en": ("No", "Yes")}
LONLAT = {"zh": ("经度", "纬度"), "en": ("longitude", "latitude")}
ID = {"zh": "编号", "en": "id"}


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return spreadsheet_safe(value)  # data written by anyone: no formula runs when a clerk opens the file


def _columns(spec: LayerSpec, names: list[str], lang: str) -> tuple[list[str], list]:
    """Headers and, per source column, how to turn a value into its cells."""
    headers: list[str] = [ID[lang]]
    cells: list = []
    for name in names:
        fs = spec.field(name) if spec.has_field(name) else None
        title = fs.title.get(lang) if fs else name
        if fs is not None and fs.values:
            headers += [title, title + CODE_SUFFIX[lang]]
            cells.append(lambda v, fs=fs: [fs.values[v].get(lang) if v in fs.values else _cell(v), _cell(v)])
        elif fs is not None and fs.type == "boolean":
            headers.append(title)
            cells.append(lambda v: [YES_NO[lang][bool(v)] if _cell(v) != "" else ""])
        else:
            headers.append(title)
            cells.append(lambda v: [_cell(v)])
    return headers, cells


def csv_bytes(spec: LayerSpec, frame, lang: str, with_geometry: bool = True) -> bytes:
    """``frame`` (a store query's GeoDataFrame, index = feature id) as CSV bytes."""
    lang = lang if lang in ID else "en"
    names = [c for c in frame.columns if c != frame.geometry.name]
    headers, cells = _columns(spec, names, lang)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    points = with_geometry and len(geoms) > 0 and bool(np.all(shapely.get_type_id(geoms) == 0))
    if with_geometry:
        headers += list(LONLAT[lang]) if points else ["WKT"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    columns = [frame[c].tolist() for c in names]
    xy = shapely.get_coordinates(geoms).round(7).tolist() if points else None
    wkt = shapely.to_wkt(geoms, rounding_precision=7) if with_geometry and not points else None
    for i, fid in enumerate(frame.index.tolist()):
        row: list[Any] = [int(fid)]
        for make, values in zip(cells, columns, strict=True):
            row += make(values[i])
        if xy is not None:
            row += xy[i]
        elif wkt is not None:
            row.append(wkt[i] or "")
        writer.writerow(row)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
