"""Validation of features against their layer spec: the one implementation of the import rules.

Used by file imports (whole frames), by the demo generator and, through ``feature.validate_feature``,
by the stores' single-feature writes, so all reject the same input with the same words.

The output frame is what every store writes: a column ``id`` (nullable Int64; <NA> = assign a
new id), then every spec field in spec order with normalised types, then the geometry:

  string   -> python str or None (stripped, blank -> None, aliases applied, allowed values checked)
  integer  -> Int64         number -> float64          boolean -> "boolean"
  date     -> "YYYY-MM-DD"  datetime -> "YYYY-MM-DDTHH:MM:SSZ" (UTC; naive values are taken as UTC)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..specs import FieldSpec, LayerSpec, Title
from .coordinates import OUTLIER_FLOOR_KM
from .geometry import check_geometries
from .values import normalise_column

GEOMETRY = "geometry"
ID_SPEC = FieldSpec(name="id", type="integer", title=Title("编号", "Id"), minimum=1)


@dataclass
class RowError:
    """One problem: ``row`` is the number the reader gave the row (None: the whole file)."""

    row: int | None
    field: str
    reason: str
    value: Any = None

    def __str__(self) -> str:
        where = f"row {self.row}: " if self.row is not None else ""
        return f"{where}{self.field}: {self.reason}"


@dataclass
class ValidationResult:
    valid: gpd.GeoDataFrame  # the good rows, normalised (RangeIndex)
    errors: list[RowError]
    rejected: gpd.GeoDataFrame  # the bad rows as given (input index labels kept)
    warnings: list[str]
    rejected_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # their row numbers


def validate_frame(frame: gpd.GeoDataFrame, spec: LayerSpec, *, check_required: bool = True,
                   check_geometry: bool = True, outliers: bool = True,
                   service_area: tuple[float, float, float, float] | None = None,
                   row_numbers: np.ndarray | None = None,
                   outlier_floor_km: float = OUTLIER_FLOOR_KM) -> ValidationResult:
    """Split ``frame`` (EPSG:4326, columns named like the spec's fields) into valid and rejected rows.

    ``row_numbers`` are the human row numbers the reader assigned (default 1..n).
    """
    n = len(frame)
    rows = np.arange(1, n + 1) if row_numbers is None else np.asarray(row_numbers)
    if len(rows) != n:
        raise ValueError(f"row_numbers has {len(rows)} entries for {n} rows")
    found: list[tuple[int, int, str, str, Any]] = []  # (position, field order, field, reason, value)
    file_errors: list[RowError] = []
    warnings: list[str] = []
    out: dict[str, Any] = {}

    out["id"] = _ids(frame, rows, found)
    for order, fspec in enumerate(spec.fields, start=1):
        if fspec.name not in frame.columns:
            out[fspec.name] = _empty(fspec, n)
            if check_required and fspec.required and n:
                file_errors.append(RowError(None, fspec.name, "required field has no column in the file; "
                                            f"name a column {fspec.name!r} or {fspec.title.zh!r}, or use --map"))
            continue
        column = normalise_column(frame[fspec.name], fspec)
        for pos, (reason, value) in column.errors.items():
            found.append((pos, order, fspec.name, reason, value))
        if check_required and fspec.required:
            missing = column.values.isna().to_numpy().copy()
            missing[list(column.errors)] = False
            for pos in np.flatnonzero(missing):
                found.append((int(pos), order, fspec.name, "required value is missing", None))
        out[fspec.name] = column.values

    geoms = np.asarray(frame.geometry.values, dtype=object) if n else np.empty(0, dtype=object)
    if not spec.has_geometry:
        found.extend((int(pos), len(spec.fields) + 1, GEOMETRY, f"layer {spec.id!r} has no geometry; leave it empty",
                      None) for pos in np.flatnonzero(~shapely.is_missing(geoms)))
    elif check_geometry:
        checked = check_geometries(geoms, spec.geometry_types, row_numbers=rows, service_area=service_area,
                                   outliers=outliers, outlier_floor_km=outlier_floor_km)
        geoms = checked.geoms
        warnings.extend(checked.warnings)
        geometry_order = len(spec.fields) + 1
        found.extend((pos, geometry_order, GEOMETRY, reason, value)
                     for pos, (reason, value) in checked.errors.items())

    bad = np.zeros(n, dtype=bool)
    if file_errors:
        bad[:] = True
    if found:
        bad[[f[0] for f in found]] = True
    found.sort(key=lambda f: (f[0], f[1]))
    errors = file_errors + [RowError(int(rows[pos]), name, reason, value) for pos, _, name, reason, value in found]

    table = pd.DataFrame({k: (v.reset_index(drop=True) if isinstance(v, pd.Series) else v) for k, v in out.items()})
    valid = gpd.GeoDataFrame(table.loc[~bad].reset_index(drop=True),
                             geometry=gpd.GeoSeries(geoms[~bad], crs="EPSG:4326"), crs="EPSG:4326")
    rejected = frame.loc[bad] if n else frame.iloc[:0]
    return ValidationResult(valid=valid, errors=errors, rejected=rejected, warnings=warnings,
                            rejected_rows=rows[bad])


def _empty(fspec: FieldSpec, n: int) -> pd.Series:
    if fspec.type == "integer":
        return pd.Series(pd.array([pd.NA] * n, dtype="Int64"))
    if fspec.type == "boolean":
        return pd.Series(pd.array([pd.NA] * n, dtype="boolean"))
    if fspec.type == "number":
        return pd.Series(np.full(n, np.nan))
    return pd.Series([None] * n, dtype=object)


def _ids(frame: gpd.GeoDataFrame, rows: np.ndarray, found: list) -> pd.Series:
    """Positive integer feature ids (or <NA>: the store assigns one); duplicates are errors."""
    n = len(frame)
    if "id" not in frame.columns:
        return _empty(ID_SPEC, n)
    column = normalise_column(frame["id"], ID_SPEC)
    for pos, (reason, value) in column.errors.items():
        found.append((pos, 0, "id", reason, value))
    ids = column.values
    dup = (ids.duplicated(keep=False) & ids.notna()).to_numpy()
    if dup.any():
        positions = np.flatnonzero(dup)
        groups = pd.Series(positions).groupby(ids.to_numpy()[positions]).agg(list)
        for value, members in groups.items():
            for pos in members:
                others = [str(rows[p]) for p in members if p != pos]
                shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
                found.append((int(pos), 0, "id", f"duplicate id {value} (also on row {shown})", int(value)))
        ids = ids.copy()
        ids[dup] = pd.NA
    return ids
