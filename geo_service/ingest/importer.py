"""Import one file into one layer: read -> map columns -> WGS84 -> validate -> write in one transaction.

Nothing is written unless every row is good, or ``skip_invalid`` is set, in which case the bad
rows go to ``<stem>.rejects.csv`` beside the input (their source values, geometry as WKT in the
source CRS, and an ``error`` column) so they can be fixed and imported with the same command.
"""

from __future__ import annotations

import inspect
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from tqdm import tqdm

from ..catalog import SOURCE_ID, LayerSpec
from ..catalog.validation import ID_SPEC, RowError, normalise_column, transition_errors, validate_frame
from ..catalog.validation.coordinates import OUTLIER_FLOOR_KM
from ..crs import WGS84, frame_to_wgs84, parse_crs
from ..store.base import Conflict, FeatureStore, Filter, InvalidFeature, Query, StoreError
from .keyed import KEYED_MODES, plan_changes
from .keys import KeyColumnMissing, duplicate_key_errors, key_column, key_text, source_ids
from .readers import ReadError, SourceData, crs_name, read_source
from .refs import resolve_refs

MODES = ("append", "replace", *KEYED_MODES)
MAX_LISTED = 50


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
    """A tqdm bar on stderr whose description names the stage (reading, validating, writing)."""

    def __init__(self, enabled: bool, name: str):
        self.name = name
        self.bar = tqdm(total=None, disable=not enabled, file=sys.stderr, unit=" rows", desc=f"{name}: reading",
                        dynamic_ncols=True, leave=False)

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
                outlier_floor_km: float = OUTLIER_FLOOR_KM) -> ImportReport:
    """Validate ``path`` against ``layer``'s spec and write it in one transaction; raise ImportFailed.

    ``key`` names the column holding the source's own ids (else the layer's source_keys and the
    common names are tried); modes upsert and sync match rows to stored features by it.
    """
    started = time.perf_counter()
    path = Path(path)

    def fail(headline: str, **kw: Any) -> ImportFailed:
        return ImportFailed(path, layer, headline, **kw)

    spec = _check_arguments(store, layer, mode, crs, fail)
    bar = _Progress(progress, path.name)
    try:
        try:
            data = read_source(path, layer_id=layer, source_layer=source_layer, encoding=encoding, crs=crs, spec=spec)
        except ReadError as e:
            raise fail("the file cannot be read; nothing was written", problems=[str(e)]) from None
        report = ImportReport(file=path, layer=layer, mode=mode, source=data.description, rows_read=len(data.frame),
                              warnings=list(data.warnings))
        frame = _to_wgs84(_map_columns(data, spec, mapping or {}, report, fail, key), data, report)
        frame, ref_errors = resolve_refs(store, spec, frame, data.frame, data.row_numbers)
        data.errors.extend(ref_errors)  # rows naming no referenced feature are rejected like unreadable ones
        frame = _keys_from_fields(frame, spec, report)
        bar.stage("validating", len(frame))
        valid = _validate(frame, data, spec, report, (service_area, outlier_floor_km), skip_invalid, fail)
        bar.advance(len(frame))
        bar.stage("writing", len(valid))
        if mode == "append" and not allow_duplicates:
            _refuse_stored_keys(store, layer, valid, report, fail)
        try:
            summary = _write(store, layer, valid, mode, report, bar.advance)
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


def _to_wgs84(frame, data: SourceData, report: ImportReport):
    if isinstance(data.crs, pyproj.CRS) and data.crs.equals(WGS84, ignore_axis_order=True):
        return frame.set_crs("EPSG:4326", allow_override=True)
    report.crs_conversion = f"{crs_name(data.crs)} -> WGS84 lon/lat (EPSG:4326)"
    return frame_to_wgs84(frame, data.crs)


def _validate(frame, data: SourceData, spec: LayerSpec, report: ImportReport, area_and_floor, skip_invalid: bool,
              fail):
    """The valid rows; fail on any error unless skipping, then the rejects file takes the bad rows.

    ``area_and_floor``: the service area (or None) and the outlier floor in km."""
    service_area, floor_km = area_and_floor
    early = data.errors + _key_errors(frame, data.row_numbers, report)
    unreadable = np.isin(data.row_numbers, [e.row for e in early if e.row is not None])
    result = validate_frame(frame.loc[~unreadable], spec, service_area=service_area,
                            row_numbers=data.row_numbers[~unreadable], outlier_floor_km=floor_km)
    report.warnings += result.warnings
    errors = sorted(early + result.errors, key=lambda e: (e.row is not None, e.row or 0))
    report.errors = errors
    report.rejected = int(unreadable.sum()) + len(result.rejected)
    good = len(result.valid)
    if not errors:
        return result.valid
    if not skip_invalid:
        raise fail(f"{report.rejected:,} of {report.rows_read:,} rows have errors; nothing was written",
                   errors=errors, warnings=report.warnings, hint=_skip_hint(good, report.file) if good else None)
    labels = np.concatenate([frame.index[unreadable].to_numpy(), result.rejected.index.to_numpy()])
    report.rejects_file = _write_rejects(data, labels, errors, report.file)
    if not good:
        raise fail(f"none of the {report.rows_read:,} rows is valid; nothing was written "
                   f"(the rows are in {report.rejects_file})", errors=errors, warnings=report.warnings)
    return result.valid


def _key_errors(frame, rows: np.ndarray, report: ImportReport) -> list[RowError]:
    """Keys repeated inside the file; in upsert/sync also rows without a key (they could never be matched)."""
    if SOURCE_ID not in frame.columns:
        return []
    keys = frame[SOURCE_ID]
    # When the key column is also the feature id, the id check already names repeated rows.
    errors = [] if report.key_is_feature_id else duplicate_key_errors(keys, rows)
    if report.mode in KEYED_MODES:
        errors += [RowError(int(rows[pos]), SOURCE_ID, f"no source id in column {report.key_column!r}; "
                            f"--mode {report.mode} matches rows by it")
                   for pos in np.flatnonzero(keys.isna().to_numpy())]
    return errors


def _refuse_stored_keys(store: FeatureStore, layer: str, valid, report: ImportReport, fail) -> None:
    """--mode append must not silently duplicate what an earlier delivery of the same file stored
    (when the key is also the feature id, the store's existing-id check says so instead)."""
    if SOURCE_ID not in valid.columns or report.key_is_feature_id:
        return
    keys = [k for k in valid[SOURCE_ID].tolist() if k is not None]
    if not keys:
        return
    found = set()
    for i in range(0, len(keys), 500):
        part = keys[i:i + 500]
        hits = store.query(layer, Query(filters=[Filter(SOURCE_ID, "in", part)], properties=[SOURCE_ID])).features
        found.update(hits[SOURCE_ID].tolist())
    if found:
        first = [k for k in keys if k in found][:10]
        raise fail(f"{len(found):,} source id(s) of this file are already stored; nothing was written",
                   problems=[f"already in {layer}: {', '.join(first)}" + (" ..." if len(found) > 10 else "")],
                   hint="re-import with --mode upsert (update them) or --mode sync (also delete what the file "
                        "no longer has), or --allow-duplicates to append anyway")


def _write(store: FeatureStore, layer: str, valid, mode: str, report: ImportReport, advance):
    if mode not in KEYED_MODES:
        if mode == "replace" and store.catalog.referrers(layer):  # features other layers name must stay
            kept = set(valid["id"].dropna().astype(int).tolist()) if "id" in valid.columns else set()
            stored = store.query(layer, Query(properties=[])).features.index.tolist()
            store.check_not_referenced(layer, [i for i in stored if i not in kept])
        if mode == "append":
            _check_unique_keys(store, layer, valid.to_dict("records"), set())
        return _import_frame(store, layer, valid, mode, advance)
    if report.key_column is None:
        raise StoreError(f"--mode {mode} matches rows by their source id, and the file has no id column; "
                         f"name one with --key COLUMN")
    carried = [*report.columns.values(), SOURCE_ID]
    changes = plan_changes(store, layer, valid, carried, mode, actor=f"import {report.file.name}")
    _check_lifecycle(store, layer, changes)
    _check_unique_keys(store, layer, [n.properties for n in changes.inserts], set(changes.deletes))
    store.check_not_referenced(layer, list(changes.deletes))
    summary = store.apply_changes(layer, changes)
    advance(len(valid))
    return summary


def _keys_from_fields(frame, spec: LayerSpec, report: ImportReport):
    """A file without an id column, for a layer with ``key_fields``: the source id is those fields' values
    joined ("38-2028": compound 38's plan for 2028), so upsert/sync match one plan per compound and year."""
    if report.key_column is not None or not spec.key_fields or not set(spec.key_fields) <= set(frame.columns):
        return frame
    parts = [source_ids(frame[k]).tolist() for k in spec.key_fields]
    frame = frame.copy()
    frame[SOURCE_ID] = [None if any(p is None for p in row) else "-".join(row) for row in zip(*parts, strict=True)]
    report.key_column = "+".join(spec.key_fields)
    return frame


def _check_unique_keys(store: FeatureStore, layer: str, new_rows: list[dict], leaving: set[int]) -> None:
    """New features must not repeat a stored feature's ``key_fields`` (one plan per compound and year)."""
    spec = store.catalog.get(layer)
    if not spec.key_fields or not new_rows:
        return
    stored = store.query(layer, Query(properties=list(spec.key_fields))).features
    taken = {tuple(key_text(v) for v in row): int(fid) for fid, row in
             zip(stored.index, stored[list(spec.key_fields)].itertuples(index=False), strict=True)
             if int(fid) not in leaving}
    problems = []
    for props in new_rows:
        key = tuple(key_text(props.get(k)) for k in spec.key_fields)
        if None in key:
            continue
        shown = ", ".join(f"{k}={v}" for k, v in zip(spec.key_fields, key, strict=True))
        if key in taken:
            where = f"feature {taken[key]}" if taken[key] > 0 else "an earlier row of the file"
            problems.append(f"{shown}: already {where}; there is one per {' and '.join(spec.key_fields)} (give "
                            f"that feature's source id, or leave the id column out to match on them)")
        taken[key] = 0
    if problems:
        raise Conflict(f"{layer}: {len(problems)} row(s) would repeat a stored feature: " + "; ".join(problems[:10]))


def _check_lifecycle(store: FeatureStore, layer: str, changes) -> None:
    """A keyed re-import follows the layer's declared lifecycle as an edit does (InvalidFeature names the
    feature, its source id and the allowed next states)."""
    spec = store.catalog.get(layer)
    if not spec.transitions:
        return
    problems = []
    for change in changes.updates:
        current = store.get(layer, change.id)["properties"]
        for name, reason in transition_errors(spec, current, change.properties):
            problems.append((name, f"feature {change.id} (source id {current.get(SOURCE_ID)!r}): {reason}"))
    if problems:
        raise InvalidFeature(problems)


def _skip_hint(good: int, path: Path) -> str:
    return (f"fix these rows, or re-run with --skip-invalid to import the {good:,} good rows "
            f"(the bad ones are then written to {_rejects_path(path)})")


def _import_frame(store: FeatureStore, layer: str, frame, mode: str, advance):
    """store.import_frame, with a progress callback where the store offers one."""
    if "progress" in inspect.signature(store.import_frame).parameters:
        return store.import_frame(layer, frame, mode, progress=advance)
    return store.import_frame(layer, frame, mode)


# --------------------------------------------------------------------------- columns

def field_lookup(spec: LayerSpec) -> dict[str, str]:
    """Lower-case names a source column may carry -> field: the name and both titles (户数 -> households)."""
    lookup: dict[str, str] = {"id": "id"}
    for f in reversed(spec.fields):  # earlier fields win a shared title
        for key in (*f.columns, f.title.en, f.title.zh, f.name):
            lookup[key.strip().lower()] = f.name
    return lookup


def _explicit_renames(columns: list, spec: LayerSpec, mapping: dict[str, str], fail) -> dict[str, str]:
    """--map SRC=FIELD, each checked against the file's columns and the layer's fields."""
    targets = set(spec.field_names) | {"id"}
    renames: dict[str, str] = {}
    problems = []
    for src, dst in mapping.items():
        column = src if src in columns else next((c for c in columns if c.lower() == src.lower()), None)
        if column is None:
            problems.append(f"--map {src}={dst}: the file has no column {src!r}; its columns: {', '.join(columns)}")
        elif dst not in targets:
            problems.append(f"--map {src}={dst}: layer {spec.id!r} has no field {dst!r}; its fields: "
                            f"{', '.join(spec.field_names)}")
        else:
            renames[column] = dst
    if problems:
        raise fail("bad --map", problems=problems)
    return renames


def _key_column(columns: list, spec: LayerSpec, key: str | None, fail) -> str | None:
    try:
        return key_column(columns, spec, key)
    except KeyColumnMissing as e:
        raise fail("bad --key", problems=[str(e)]) from None


def _map_columns(data: SourceData, spec: LayerSpec, mapping: dict[str, str], report: ImportReport, fail,
                 key: str | None = None):
    """Rename source columns to fields: --map first, then by name, then by Chinese/English title.

    The key column (source_keys.key_column) is copied into ``source_id`` as text."""
    frame = data.frame
    columns = [c for c in frame.columns if c != frame.geometry.name]
    report.key_column = _key_column(columns, spec, key, fail)
    renames = _explicit_renames(columns, spec, mapping, fail)
    problems = []
    lookup = field_lookup(spec)
    taken = set(renames.values())
    auto: dict[str, list[str]] = defaultdict(list)
    for column in columns:
        if column in renames:
            continue
        target = lookup.get(str(column).strip().lower())
        if target is not None and target not in taken:
            auto[target].append(column)
    for target, sources in auto.items():
        if len(sources) > 1:
            exact = [s for s in sources if s == target]
            if not exact:
                problems.append(f"columns {', '.join(map(repr, sources))} all match field {target!r}; choose one "
                                f"with --map {sources[0]}={target}")
                continue
            sources = exact
        renames[sources[0]] = target
    if problems:
        raise fail("ambiguous columns", problems=problems)
    if renames.get(report.key_column) == SOURCE_ID:
        del renames[report.key_column]  # copied as text below
    report.columns = {c: renames[c] for c in columns if c in renames}
    report.ignored_columns = [str(c) for c in columns if c not in renames and c != report.key_column]
    report.ignored_values = {str(c): _non_empty(frame[c]) for c in columns
                             if c not in renames and c != report.key_column}
    if report.ignored_columns:
        report.warnings.append(f"column(s) not imported, no field matches them: {', '.join(report.ignored_columns)} "
                               f"(use --map SRC=FIELD; fields: {', '.join(spec.field_names)})")
    return _with_source_ids(frame[[*renames, frame.geometry.name]].rename(columns=renames), frame, report)


def _non_empty(column) -> int:
    values = column.dropna()
    return int((values.astype(str).str.strip() != "").sum())


def _with_source_ids(out, frame, report: ImportReport):
    if report.key_column is not None:
        out[SOURCE_ID] = source_ids(frame[report.key_column])
    if report.mode in KEYED_MODES and "id" in out.columns:
        out = out.drop(columns="id")  # matched by source id: feature ids are the store's
    out = _drop_unusable_ids(out, report)
    report.key_is_feature_id = "id" in out.columns and report.columns.get(report.key_column) == "id"
    return out


def _drop_unusable_ids(frame, report: ImportReport):
    """An id column without a single integer (e.g. 'way/123') is not an id: drop it, ids get assigned."""
    if "id" not in frame.columns:
        return frame
    ids = frame["id"]
    present = int(ids.notna().sum())
    if present and len(normalise_column(ids, ID_SPEC).errors) == present:
        example = ids[ids.notna()].iloc[0]
        report.warnings.append(f"the id column holds no positive integers (e.g. {example!r}); new ids are assigned")
        return frame.drop(columns="id")
    return frame


# --------------------------------------------------------------------------- rejects

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def neutralise_cell(value):
    """A cell a spreadsheet would run as a formula (=, +, -, @ first: the OWASP CSV-injection rule) gets
    a leading apostrophe, which spreadsheets show as text; plain numbers such as -95.88 stay as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def _rejects_path(path: Path) -> Path:
    return path.with_name(f"{Path(path.name).stem}.rejects.csv")


def _write_rejects(data: SourceData, labels: np.ndarray, errors: list[RowError], path: Path) -> Path:
    """The rejected rows as the source had them, plus WKT (source CRS) and the reasons."""
    by_row: dict[int, list[str]] = defaultdict(list)
    whole_file = [f"{e.field}: {e.reason}" for e in errors if e.row is None]
    for e in errors:
        if e.row is not None:
            by_row[e.row].append(f"{e.field}: {e.reason}")
    labels = np.sort(labels)
    positions = data.frame.index.get_indexer(labels)
    rows = data.row_numbers[positions]
    if data.raw is not None:
        table = data.raw.iloc[positions].copy()
    else:
        source = data.frame.iloc[positions]
        table = pd.DataFrame(source.drop(columns=source.geometry.name))
        geoms = np.asarray(source.geometry.values, dtype=object)
        table["wkt"] = shapely.to_wkt(geoms, rounding_precision=-1)
    table.insert(0, "row", rows)
    table["error"] = ["; ".join(by_row.get(int(r), []) + whole_file) for r in rows]
    table = table.apply(lambda col: col.map(neutralise_cell) if col.dtype == object else col)
    out = _rejects_path(path)
    table.to_csv(out, index=False, encoding="utf-8-sig")
    return out
