"""The rejects file of ``--skip-invalid``: the bad rows as the source had them, plus the reasons.

Cells a spreadsheet would run as a formula are neutralised (OWASP CSV-injection rule).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import shapely

from ..catalog.validation import RowError
from ..text import spreadsheet_safe
from .spill import ROW

# The OWASP CSV-injection rule, shared with every CSV the service writes for people (geo_service.text).
neutralise_cell = spreadsheet_safe


def rejects_path(path: Path) -> Path:
    return path.with_name(f"{Path(path.name).stem}.rejects.csv")


def raw_table(frame, raw: pd.DataFrame | None, rows) -> pd.DataFrame:
    """What the rejects file shows of a chunk: the CSV/Excel cells, or the attributes plus WKT (source CRS)."""
    if raw is not None:
        table = raw.reset_index(drop=True).copy()
    else:
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name)).reset_index(drop=True)
        table["wkt"] = shapely.to_wkt(frame.geometry.to_numpy(dtype=object), rounding_precision=-1)
    table.insert(0, ROW, rows)
    return table


def write_rejects(chunks: Iterable[pd.DataFrame], bad_rows: set[int], errors: list[RowError], path: Path) -> Path:
    """Stream the raw chunks, keep the rows in ``bad_rows``, and write them with an ``error`` column."""
    by_row: dict[int, list[str]] = defaultdict(list)
    whole_file = [f"{e.field}: {e.reason}" for e in errors if e.row is None]
    for e in errors:
        if e.row is not None:
            by_row[e.row].append(f"{e.field}: {e.reason}")
    out = rejects_path(path)
    first = True
    for chunk in chunks:
        table = chunk.loc[chunk[ROW].isin(bad_rows)].rename(columns={ROW: "row"})
        if not len(table) and not first:
            continue
        table = table.copy()
        table["error"] = ["; ".join(by_row.get(int(r), []) + whole_file) for r in table["row"]]
        table = table.apply(lambda col: col.map(neutralise_cell) if col.dtype == object else col)
        table.to_csv(out, index=False, encoding="utf-8-sig" if first else "utf-8", mode="w" if first else "a",
                     header=first)
        first = False
    return out
