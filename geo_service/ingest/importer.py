"""Import one file into one layer: read -> map columns -> WGS84 -> validate -> write in one transaction.

Streamed: the file is read and validated ``chunk_rows`` rows at a time, valid rows are parked
on disk (``spill``), the checks that need the whole file (outliers, repeated keys and ids) run
on compact arrays gathered on the way, and only then is everything written in one store
transaction, chunk by chunk. Peak memory is a chunk, not the file. After ``max_errors`` errors
reading stops: a wrong or garbage file fails fast.

Nothing is written unless every row is good, or ``skip_invalid`` is set, in which case the bad
rows go to ``<stem>.rejects.csv`` beside the input (their source values, geometry as WKT in the
source CRS, and an ``error`` column) so they can be fixed and imported with the same command.
Coordinates are rounded to 7 decimals of a degree (about 1 cm) on the way in.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..catalog import SOURCE_ID, LayerSpec
from ..catalog.validation import RowError, validate_frame
from ..catalog.validation.coordinates import OUTLIER_FLOOR_KM
from ..catalog.validation.geometry import far_rows, placeholder_warnings, representative_xy
from ..crs import WGS84, frame_to_wgs84, parse_crs
from ..progress import progress as progress_display
from ..store.base import FeatureStore, Filter, Query, StoreError
from .columns import ColumnPlan, ColumnProblem, field_lookup, plan_columns
from .csvfile import CHUNK_ROWS
from .integrity import (
    check_lifecycle,
    check_replace_keeps_referenced,
    check_unique_keys,
    key_field_rows,
    keys_from_fields,
)
from .keyed import KEYED_MODES, plan_changes
from .keys import duplicate_key_errors
from .readers import ReadError, Source, SourceData, crs_name, open_source
from .refs import resolve_refs
from .rejects import neutralise_cell, raw_table, rejects_path, write_rejects
from .spill import ROW, Spill

__all__ = ["MODES", "ImportFailed", "ImportReport", "field_lookup", "import_file", "neutralise_cell"]

MODES = ("append", "replace", *KEYED_MODES)
MAX_LISTED = 50
MAX_ERRORS = 1000  # reading stops after this many errors (settings.import_max_errors)
MAX_WARNINGS = 50
DECIMALS = 7  # 1e-7 degree is about 1 cm: finer digits are noise from conversions and spreadsheets


class ImportFailed(Exception):
    """An import that wrote nothing. str() is the whole report; ``errors`` holds every problem."""

    def __init__(self, file: Path | str, layer: str, headline: str, errors: list[RowError] | None = None,
                 problems: list[str] | None = None, hint: str | None = None, warnings: list[str] | None = None):
        self.file = Path(file)
        self.layer = layer
        self.headline = headline
        self.errors = list(errors or [])
        self.problems = list(problems or [])  # file-level messages that are not row errors
        self.hint = hint
        self.warnings = list(warnings or [])
        super().__init__(self.report())

    def lines(self) -> list[str]:
        return self.problems + [f"{self.file}: {e}" for e in self.errors]

    def report(self) -> str:
        lines = self.lines()
        shown = lines[:MAX_LISTED]
        if len(lines) > MAX_LISTED:
            shown.append(f"... and {len(lines) - MAX_LISTED:,} more")
        out = [f"import of {self.file} into layer {self.layer!r} failed: {self.headline}", *shown]
        out += [f"warning: {w}" for w in self.warnings]
        if self.hint:
            out.append(self.hint)
        return "\n".join(out)

    def __str__(self) -> str:
        return self.report()


@dataclass
class ImportReport:
    file: Path
    layer: str
    mode: str
    source: str
    rows_read: int = 0
    imported: int = 0
    rejected: int = 0
    deleted: int = 0
    updated: int = 0
    unchanged: int = 0
    key_column: str | None = None  # the source column source_id came from
    key_is_feature_id: bool = False  # that column also gives the feature ids (its repeats are id errors)
    columns: dict[str, str] = field(default_factory=dict)  # source column -> field
    ignored_columns: list[str] = field(default_factory=list)
    ignored_values: dict[str, int] = field(default_factory=dict)  # ignored column -> its non-empty values
    crs_conversion: str | None = None
    warnings: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rejects_file: Path | None = None
    version: int | None = None
    seconds: float = 0.0

    def describe(self) -> str:
        if self.mode in KEYED_MODES:
            head = (f"{self.mode} of {self.rows_read:,} rows from {self.file.name} into {self.layer}: "
                    f"{self.imported:,} inserted, {self.updated:,} updated, {self.deleted:,} deleted, "
                    f"{self.unchanged:,} unchanged in {self.seconds:.1f} s")
        else:
            head = self._plain_head()
        lines = [head, f"source: {self.source}"]
        if self.key_column:
            lines.append(f"source ids: column {self.key_column}")
        if self.crs_conversion:
            lines.append(f"converted: {self.crs_conversion}")
        if self.columns:
            lines.append("columns: " + ", ".join(s if s == d else f"{s} -> {d}" for s, d in self.columns.items()))
        if self.ignored_columns:
            lines.append("not imported: " + ", ".join(self.ignored_columns))
            lines.append(_ignored_line(self.ignored_values))
        if self.rejected:
            lines.append(f"rejected: {self.rejected:,} rows, written to {self.rejects_file}")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _plain_head(self) -> str:
        head = f"imported {self.imported:,} of {self.rows_read:,} rows from {self.file.name} into {self.layer} " \
               f"({self.mode}"
        head += f", {self.deleted:,} old rows replaced" if self.mode == "replace" else ""
        return head + f") in {self.seconds:.1f} s"


def _ignored_line(counts: dict[str, int]) -> str:
    shown = ", ".join(f"{c} ({n:,} non-empty value{'s' if n != 1 else ''})" for c, n in counts.items())
    first = next((c for c, n in counts.items() if n), next(iter(counts), "COLUMN"))
    return f"ignored columns: {shown}; use --map {first}=FIELD"


class _Progress:
    """Progress on stderr whose description names the stage (reading, validating, writing): a bar on a
    terminal, plain lines in a log."""

    def __init__(self, enabled: bool, name: str):
        self.name = name
        self.bar = progress_display(None, f"{name}: reading", " rows", enabled=enabled, leave=False)

    def stage(self, name: str, total: int | None = None) -> None:
        self.bar.set_description(f"{self.name}: {name}")
        self.bar.reset(total=total)

    def advance(self, n: int) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


def import_file(store: FeatureStore, path: Path | str, layer: str, *, crs: str | None = None, mode: str = "append",
                mapping: dict[str, str] | None = None, skip_invalid: bool = False, source_layer: str | None = None,
                encoding: str | None = None, service_area: tuple[float, float, float, float] | None = None,
                progress: bool = False, key: str | None = None, allow_duplicates: bool = False,
                outlier_floor_km: float = OUTLIER_FLOOR_KM, sheet: str | None = None,
                max_errors: int = MAX_ERRORS, chunk_rows: int = CHUNK_ROWS,
                constants: dict[str, str] | None = None) -> ImportReport:
    """Validate ``path`` against ``layer``'s spec and write it in one transaction; raise ImportFailed.

    ``key`` names the column holding the source's own ids (else the layer's source_keys and the
    common names are tried); modes upsert and sync match rows to stored features by it.
    ``constants`` (--set FIELD=VALUE) fills fields the file has no column for.
    """
    started = time.perf_counter()
    path = Path(path)

    def fail(headline: str, **kw: Any) -> ImportFailed:
        return ImportFailed(path, layer, headline, **kw)

    spec = _check_arguments(store, layer, mode, crs, fail)
    bar = _Progress(progress, path.name)
    try:
        try:
            source = open_source(path, layer_id=layer, source_layer=source_layer, encoding=encoding, crs=crs,
                                 spec=spec, chunk_rows=chunk_rows, sheet=sheet)
        except ReadError as e:
            raise fail("the file cannot be read; nothing was written", problems=[str(e)]) from None
        report = ImportReport(file=path, layer=layer, mode=mode, source="", warnings=list(source.warnings))
        with tempfile.TemporaryDirectory(prefix="geo-service-import-") as folder:
            run = _Run(store, spec, report, source, Spill(folder), fail,
                       _Options(mapping or {}, key, skip_invalid, service_area, outlier_floor_km, max_errors,
                                allow_duplicates, constants or {}))
            run.read(bar)
            run.settle()
            bar.stage("writing", run.good)
            try:
                summary = run.write(bar.advance)
            except StoreError as e:
                raise fail("the store refused the data; nothing was written", problems=[f"{path}: {e}"]) from None
        report.imported, report.deleted, report.version = summary.inserted, summary.deleted, summary.version
        report.updated, report.unchanged = summary.updated, summary.unchanged
    finally:
        bar.close()
    report.seconds = time.perf_counter() - started
    return report


def _check_arguments(store: FeatureStore, layer: str, mode: str, crs: str | None, fail) -> LayerSpec:
    """Fail on a bad layer, mode or CRS before the file is even opened."""
    try:
        spec = store.catalog.get(layer)
    except KeyError as e:
        raise fail("unknown layer", problems=[str(e).strip('"')]) from None
    if mode not in MODES:
        raise fail("unknown mode", problems=[f"unknown import mode {mode!r}; use append or replace, "
                                            "or upsert or sync to match rows by their source id"])
    if crs is not None:
        try:
            parse_crs(crs)
        except ValueError as e:
            raise fail("unknown CRS", problems=[f"--crs: {e}"]) from None
    return spec


@dataclass
class _Options:
    mapping: dict[str, str]
    key: str | None
    skip_invalid: bool
    service_area: tuple[float, float, float, float] | None
    outlier_floor_km: float
    max_errors: int
    allow_duplicates: bool
    constants: dict[str, str]


class _TooManyErrors(Exception):
    pass


class _Run:
    """One import: ``read`` (chunk by chunk), ``settle`` (whole-file checks; fail or write rejects), ``write``."""

    def __init__(self, store: FeatureStore, spec: LayerSpec, report: ImportReport, source: Source, spill: Spill,
                 fail, options: _Options):
        self.store, self.spec, self.report, self.source, self.spill = store, spec, report, source, spill
        self.fail, self.opt = fail, options
        self.plan: ColumnPlan | None = None
        self.ref_indexes: dict = {}  # referenced layers' lookups, built once per import (refs.resolve_refs)
        self.errors: list[RowError] = []
        self.file_errors: dict[str, RowError] = {}  # whole-file errors, once each (every chunk repeats them)
        self.bad_rows: set[int] = set()
        self.valid = 0
        self.good = 0
        # compact whole-file arrays for the checks no single chunk can make
        self.keys: list[np.ndarray] = []  # hashes of each row's source id
        self.ids: list[np.ndarray] = []
        self.id_rows: list[np.ndarray] = []
        self.xy: list[tuple[np.ndarray, np.ndarray]] = []
        self.xy_rows: list[np.ndarray] = []
        self.stored_keys: list[str] = []
        self.stored_key_count = 0
        self.warnings: dict[str, None] = {}
        self.layer_has_rows = store.count(report.layer) > 0  # else no key can be stored already

    # ---------------------------------------------------------------- pass 1
    def read(self, bar: _Progress) -> None:
        bar.stage("reading and validating")
        try:
            for data in self.source.chunks:
                self._chunk(data)
                bar.advance(len(data.frame))
                if len(self.errors) > self.opt.max_errors:
                    raise _TooManyErrors
        except ReadError as e:
            raise self.fail("the file cannot be read; nothing was written", problems=[str(e)]) from None
        except _TooManyErrors:
            self._stop()
        self.report.source = self.source.describe(self.report.rows_read)
        if self.report.rows_read == 0 and not self.errors:
            raise self.fail("the file cannot be read; nothing was written",
                            problems=[f"{self.report.file}: holds no features"])

    def _stop(self) -> None:
        """Too many errors: stop reading and list the first ``max_errors``; the message ends with the
        count of those not listed ("... and 950 more")."""
        cap = self.opt.max_errors
        errors = sorted((e for e in self.errors if e.row is not None), key=lambda e: e.row)[:cap]
        last = errors[-1].row if errors else 0
        raise self.fail(f"{cap:,} errors by row {last:,}, so reading stopped there (raise the limit with "
                        f"--max-errors or GEO_SERVICE_IMPORT_MAX_ERRORS); nothing was written",
                        problems=[f"{self.report.file}: {e}" for e in self.file_errors.values()], errors=errors)

    def _columns(self, data: SourceData) -> ColumnPlan:
        if self.plan is None:
            frame = data.frame
            columns = [c for c in frame.columns if c != frame.geometry.name]
            try:
                self.plan = plan_columns(columns, self.spec, self.opt.mapping, self.opt.key, self.report.mode,
                                         self.opt.constants)
            except ColumnProblem as e:
                raise self.fail(e.headline, problems=e.problems) from None
            self.report.key_column = self.plan.key_column
            self.report.columns = self.plan.columns
            self.report.ignored_columns = [str(c) for c in self.plan.ignored]
        return self.plan

    def _chunk(self, data: SourceData) -> None:
        rows = np.asarray(data.row_numbers)
        self.report.rows_read += len(rows)
        plan = self._columns(data)
        frame = self._to_wgs84(plan.apply(data.frame))
        # rows naming no referenced feature (an unknown or ambiguous compound) are rejected like unreadable ones
        frame, ref_errors = resolve_refs(self.store, self.spec, frame, data.frame, rows, self.ref_indexes)
        frame = self._keys_from_fields(frame)
        early = list(data.errors) + ref_errors + self._missing_keys(frame, rows)
        if SOURCE_ID in frame.columns:
            keys = frame[SOURCE_ID]
            present = keys.notna().to_numpy()
            self.keys.append(pd.util.hash_pandas_object(keys, index=False).to_numpy()[present])
            self.spill.put("keys", pd.DataFrame({ROW: rows, SOURCE_ID: keys.to_numpy(dtype=object)}))
        unreadable = np.isin(rows, [e.row for e in early if e.row is not None])
        result = validate_frame(frame.loc[~unreadable], self.spec, service_area=self.opt.service_area,
                                row_numbers=rows[~unreadable], outliers=False)
        self._note(early + result.errors)
        for w in result.warnings:
            self.warnings.setdefault(w)
        kept = rows[~unreadable]
        kept = kept[~np.isin(kept, result.rejected_rows)]
        self.bad_rows.update(rows[unreadable].tolist())
        self.bad_rows.update(np.asarray(result.rejected_rows).tolist())
        self._gather(result.valid, kept)
        valid = _rounded(result.valid)
        valid[ROW] = kept
        self.spill.put("valid", valid)
        if self.opt.skip_invalid:
            self.spill.put("raw", raw_table(data.frame, data.raw, rows))

    def _keys_from_fields(self, frame):
        if self.plan.key_column is not None:
            return frame
        keyed = keys_from_fields(frame, self.spec)
        if keyed is None:
            return frame
        self.report.key_column = "+".join(self.spec.key_fields)
        return keyed

    def _note(self, errors: list[RowError]) -> None:
        for e in errors:
            if e.row is None:
                self.file_errors.setdefault(str(e), e)
            else:
                self.errors.append(e)

    def _to_wgs84(self, frame):
        crs = self.source.crs
        if isinstance(crs, pyproj.CRS) and crs.equals(WGS84, ignore_axis_order=True):
            return frame.set_crs("EPSG:4326", allow_override=True)
        self.report.crs_conversion = f"{crs_name(crs)} -> WGS84 lon/lat (EPSG:4326)"
        if isinstance(crs, pyproj.CRS):
            frame = frame.set_crs(crs, allow_override=True)
        return frame_to_wgs84(frame, crs)

    def _missing_keys(self, frame, rows: np.ndarray) -> list[RowError]:
        """In upsert/sync a row without a key could never be matched."""
        if self.report.mode not in KEYED_MODES or SOURCE_ID not in frame.columns:
            return []
        return [RowError(int(rows[pos]), SOURCE_ID, f"no source id in column {self.report.key_column!r}; "
                         f"--mode {self.report.mode} matches rows by it")
                for pos in np.flatnonzero(frame[SOURCE_ID].isna().to_numpy())]

    def _gather(self, valid, kept: np.ndarray) -> None:
        self.valid += len(valid)
        self.xy.append(representative_xy(valid.geometry.to_numpy(dtype=object)))
        self.xy_rows.append(kept)
        if "id" in valid.columns:
            ids = valid["id"]
            given = ids.notna().to_numpy()
            self.ids.append(ids[given].to_numpy(dtype=np.int64))
            self.id_rows.append(kept[given])
        if self.report.mode == "append" and not self.opt.allow_duplicates and self.layer_has_rows:
            self._stored_keys(valid)

    def _stored_keys(self, valid) -> None:
        """--mode append must not silently duplicate what an earlier delivery of the same file stored
        (when the key is also the feature id, the store's existing-id check says so instead)."""
        if SOURCE_ID not in valid.columns or self.plan.key_is_feature_id:
            return
        keys = [k for k in valid[SOURCE_ID].tolist() if k is not None]
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            hits = self.store.query(self.report.layer, Query(filters=[Filter(SOURCE_ID, "in", part)],
                                                             properties=[SOURCE_ID])).features
            found = set(hits[SOURCE_ID].tolist())
            self.stored_key_count += len(found)
            self.stored_keys += [k for k in part if k in found][:10 - len(self.stored_keys)]

    # ---------------------------------------------------------------- whole-file checks
    def settle(self) -> None:
        """Checks across chunks, then fail, or (skipping) write the rejects file and go on with the rest."""
        report = self.report
        report.key_is_feature_id = self.plan.key_is_feature_id if self.plan else False
        late = self._cross_chunk_errors()
        late_rows = {e.row for e in late}
        self.late_rows = late_rows - self.bad_rows
        self.bad_rows |= late_rows
        self.good = self.valid - len(self.late_rows)
        for w in (self.plan.warnings if self.plan else []):
            report.warnings.append(w)
        report.warnings += _capped(list(self.warnings))
        if self.plan:
            report.ignored_values = {str(c): n for c, n in self.plan.ignored_values.items()}
        errors = list(self.file_errors.values()) + sorted(self.errors + late, key=lambda e: e.row)
        report.errors = errors
        report.rejected = report.rows_read if self.file_errors else len(self.bad_rows)
        if self.file_errors:
            self.good = 0
        if errors:
            self._refuse_or_reject(errors)
        self._refuse_stored_keys()

    def _cross_chunk_errors(self) -> list[RowError]:
        late: list[RowError] = []
        if self.keys and not (self.plan and self.plan.key_is_feature_id):
            late += self._repeated_keys()
        if len(self.ids) > 1:
            late += _repeated_ids(np.concatenate(self.ids), np.concatenate(self.id_rows))
        if self.xy:
            cx = np.concatenate([x for x, _ in self.xy])
            cy = np.concatenate([y for _, y in self.xy])
            rows = np.concatenate(self.xy_rows)
            late += [RowError(int(rows[pos]), "geometry", reason)
                     for pos, reason in far_rows(cx, cy, self.opt.outlier_floor_km).items()]
            keep = ~np.isin(rows, [e.row for e in late])
            self.warnings.update(dict.fromkeys(placeholder_warnings(cx[keep], cy[keep])))
        return late

    def _repeated_keys(self) -> list[RowError]:
        """Keys given twice: found on 8-byte hashes of every row's key, then named from the spilled keys
        of only the rows whose hash repeats (1 million keys as text would be ~70 MB)."""
        hashes = np.concatenate(self.keys)
        values, counts = np.unique(hashes, return_counts=True)
        repeated = values[counts > 1]
        if not len(repeated):
            return []
        pairs = [chunk.loc[np.isin(pd.util.hash_pandas_object(chunk[SOURCE_ID], index=False).to_numpy(), repeated)]
                 for chunk in self.spill.frames("keys")]
        both = pd.concat(pairs, ignore_index=True)
        both = both.loc[both[SOURCE_ID].notna()]
        return duplicate_key_errors(both[SOURCE_ID].reset_index(drop=True), both[ROW].to_numpy())

    def _refuse_or_reject(self, errors: list[RowError]) -> None:
        report = self.report
        if not self.opt.skip_invalid:
            raise self.fail(f"{report.rejected:,} of {report.rows_read:,} rows have errors; nothing was written",
                            errors=errors, warnings=report.warnings,
                            hint=_skip_hint(self.good, report.file) if self.good else None)
        report.rejects_file = write_rejects(self.spill.frames("raw"), self.bad_rows, errors, report.file)
        if not self.good:
            raise self.fail(f"none of the {report.rows_read:,} rows is valid; nothing was written "
                            f"(the rows are in {report.rejects_file})", errors=errors, warnings=report.warnings)

    def _refuse_stored_keys(self) -> None:
        if not self.stored_key_count:
            return
        layer = self.report.layer
        shown = ", ".join(self.stored_keys) + (" ..." if self.stored_key_count > len(self.stored_keys) else "")
        raise self.fail(f"{self.stored_key_count:,} source id(s) of this file are already stored; nothing was written",
                        problems=[f"already in {layer}: {shown}"],
                        hint="re-import with --mode upsert (update them) or --mode sync (also delete what the file "
                             "no longer has), or --allow-duplicates to append anyway")

    # ---------------------------------------------------------------- pass 2
    def chunks(self):
        """The valid rows again, chunk by chunk, without the rows the whole-file checks rejected."""
        for frame in self.spill.frames("valid"):
            keep = ~frame[ROW].isin(self.late_rows).to_numpy() if self.late_rows else slice(None)
            yield frame.loc[keep].drop(columns=ROW).reset_index(drop=True)

    def write(self, advance):
        report = self.report
        if report.mode not in KEYED_MODES:
            if report.mode == "replace":  # features other layers name must stay
                kept = set(np.concatenate(self.ids).tolist()) if self.ids else set()
                check_replace_keeps_referenced(self.store, report.layer, kept)
            if report.mode == "append":
                check_unique_keys(self.store, report.layer, key_field_rows(self.chunks(), self.spec), set())
            return self.store.import_frame(report.layer, self.chunks, report.mode, progress=advance)
        if report.key_column is None:
            raise StoreError(f"--mode {report.mode} matches rows by their source id, and the file has no id "
                             f"column; name one with --key COLUMN")
        carried = [*report.columns.values(), SOURCE_ID]
        changes = plan_changes(self.store, report.layer, self.chunks(), carried, report.mode,
                               actor=f"import {report.file.name}")
        check_lifecycle(self.store, report.layer, changes)
        check_unique_keys(self.store, report.layer, [n.properties for n in changes.inserts], set(changes.deletes))
        self.store.check_not_referenced(report.layer, list(changes.deletes))
        summary = self.store.apply_changes(report.layer, changes)
        advance(self.good)
        return summary


def _repeated_ids(ids: np.ndarray, rows: np.ndarray) -> list[RowError]:
    """Feature ids given twice in different chunks (repeats inside one chunk are validation errors already)."""
    order = np.argsort(ids, kind="stable")
    ids, rows = ids[order], rows[order]
    dup = np.zeros(len(ids), dtype=bool)
    same = ids[1:] == ids[:-1]
    dup[1:] |= same
    dup[:-1] |= same
    errors = []
    groups: dict[int, list[int]] = {}
    for i, r in zip(ids[dup].tolist(), rows[dup].tolist(), strict=True):
        groups.setdefault(i, []).append(r)
    for value, members in groups.items():
        for r in members:
            others = ", ".join(str(o) for o in members if o != r)
            errors.append(RowError(r, "id", f"duplicate id {value} (also on row {others})", value))
    return errors


def _rounded(frame):
    """Coordinates to DECIMALS decimals (about 1 cm): finer digits are noise from conversions and
    spreadsheets, and a re-import of the same file then compares equal. A polygon that rounding
    would make invalid (a sliver thinner than 1 cm) keeps its coordinates."""
    out = frame.copy()
    geoms = out.geometry.to_numpy(dtype=object)
    if not len(geoms):
        return out
    rounded = shapely.transform(geoms, lambda xy: np.round(xy, DECIMALS))
    areas = shapely.get_dimensions(rounded) > 0
    if areas.any():
        broken = np.zeros(len(geoms), dtype=bool)
        broken[areas] = ~shapely.is_valid(rounded[areas])
        rounded[broken] = geoms[broken]
    out[out.geometry.name] = gpd.GeoSeries(rounded, index=out.index, crs=out.crs)
    return out


def _capped(warnings: list[str]) -> list[str]:
    if len(warnings) <= MAX_WARNINGS:
        return warnings
    return warnings[:MAX_WARNINGS] + [f"... and {len(warnings) - MAX_WARNINGS:,} more warnings"]


def _skip_hint(good: int, path: Path) -> str:
    return (f"fix these rows, or re-run with --skip-invalid to import the {good:,} good rows "
            f"(the bad ones are then written to {rejects_path(path)})")
