"""Which source column feeds which field: decided once from the file's columns, applied to every chunk.

Order: ``--map SRC=FIELD`` first, then the field's name, then its Chinese or English title
(户数 -> households). The key column (keys.key_column) is copied into ``source_id`` as text.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import geopandas as gpd

from ..catalog import SOURCE_ID, LayerSpec
from ..catalog.validation import ID_SPEC, normalise_column
from .keyed import KEYED_MODES
from .keys import KeyColumnMissing, key_column, source_ids


class ColumnProblem(ValueError):
    """A --map, --key or column-name problem; ``headline`` and ``problems`` go into ImportFailed."""

    def __init__(self, headline: str, problems: list[str]):
        self.headline = headline
        self.problems = problems
        super().__init__("; ".join(problems))


def field_lookup(spec: LayerSpec) -> dict[str, str]:
    """Lower-case names a source column may carry -> field: its declared ``columns:``, the name and both
    titles (户数 -> households, 小区名称 -> compound)."""
    lookup: dict[str, str] = {"id": "id"}
    for f in reversed(spec.fields):  # earlier fields win a shared title
        for key in (*f.columns, f.title.en, f.title.zh, f.name):
            lookup[key.strip().lower()] = f.name
    return lookup


@dataclass
class ColumnPlan:
    renames: dict[str, str]  # source column -> field
    key_column: str | None
    ignored: list[str]
    mode: str
    constants: dict[str, str] = field(default_factory=dict)  # --set FIELD=VALUE: fields the file lacks
    ignored_values: dict[str, int] = field(default_factory=dict)  # ignored column -> non-empty values so far
    id_decided: bool = False
    drop_ids: bool = False  # the id column holds no usable ids (decided on the first chunk)
    warnings: list[str] = field(default_factory=list)

    @property
    def columns(self) -> dict[str, str]:
        return dict(self.renames)

    @property
    def key_is_feature_id(self) -> bool:
        return not self.drop_ids and self.mode not in KEYED_MODES and self.renames.get(self.key_column) == "id"

    def apply(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """One chunk with its columns renamed to fields, ``source_id`` filled, unusable ids dropped."""
        for c in self.ignored:
            self.ignored_values[c] = self.ignored_values.get(c, 0) + _non_empty(frame[c])
        geometry = frame.geometry.name
        out = frame[[*self.renames, geometry]].rename(columns=self.renames)
        for name, value in self.constants.items():
            out[name] = value  # typed and checked by validation like any cell
        if self.key_column is not None:
            out[SOURCE_ID] = source_ids(frame[self.key_column])
        if self.mode in KEYED_MODES and "id" in out.columns:
            out = out.drop(columns="id")  # matched by source id: feature ids are the store's
        if "id" in out.columns and not self.id_decided:
            self.id_decided = True
            self.drop_ids = _unusable_ids(out, self.warnings)
        if self.drop_ids and "id" in out.columns:
            out = out.drop(columns="id")
        return out


def plan_columns(columns: list, spec: LayerSpec, mapping: dict[str, str], key: str | None, mode: str,
                 constants: dict[str, str] | None = None) -> ColumnPlan:
    try:
        key_col = key_column(columns, spec, key)
    except KeyColumnMissing as e:
        raise ColumnProblem("bad --key", [str(e)]) from None
    renames = _explicit_renames(columns, spec, mapping)
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
        raise ColumnProblem("ambiguous columns", problems)
    if renames.get(key_col) == SOURCE_ID:
        del renames[key_col]  # copied as text by apply()
    ordered = {c: renames[c] for c in columns if c in renames}
    ignored = [c for c in columns if c not in renames and c != key_col]
    plan = ColumnPlan(renames=ordered, key_column=key_col, ignored=ignored, mode=mode,
                      constants=_constants(constants or {}, spec, set(ordered.values())))
    if ignored:
        plan.warnings.append(f"column(s) not imported, no field matches them: {', '.join(map(str, ignored))} "
                             f"(use --map SRC=FIELD; fields: {', '.join(spec.field_names)})")
    return plan


def _constants(constants: dict[str, str], spec: LayerSpec, mapped: set[str]) -> dict[str, str]:
    """--set FIELD=VALUE for a field the file has no column for (a list of hydrants without a status)."""
    problems = []
    for name in constants:
        if not spec.has_field(name) or name == SOURCE_ID:
            problems.append(f"--set {name}=...: layer {spec.id!r} has no field {name!r}; its fields: "
                            f"{', '.join(f for f in spec.field_names if f != SOURCE_ID)}")
        elif name in mapped:
            problems.append(f"--set {name}=...: the file has a column for {name!r} already (it wins; drop --set)")
    if problems:
        raise ColumnProblem("bad --set", problems)
    return dict(constants)


def _explicit_renames(columns: list, spec: LayerSpec, mapping: dict[str, str]) -> dict[str, str]:
    """--map SRC=FIELD, each checked against the file's columns and the layer's fields."""
    targets = set(spec.field_names) | {"id"}
    renames: dict[str, str] = {}
    problems = []
    for src, dst in mapping.items():
        column = src if src in columns else next((c for c in columns if str(c).lower() == src.lower()), None)
        if column is None:
            problems.append(f"--map {src}={dst}: the file has no column {src!r}; its columns: "
                            f"{', '.join(map(str, columns))}")
        elif dst not in targets:
            problems.append(f"--map {src}={dst}: layer {spec.id!r} has no field {dst!r}; its fields: "
                            f"{', '.join(spec.field_names)}")
        else:
            renames[column] = dst
    if problems:
        raise ColumnProblem("bad --map", problems)
    return renames


def _non_empty(column) -> int:
    values = column.dropna()
    return int((values.astype(str).str.strip() != "").sum())


def _unusable_ids(frame, warnings: list[str]) -> bool:
    """An id column that is not all positive integers (e.g. 'way/123', or 5 and 'X') gives no feature ids:
    dropped (it still gives the source ids), ids get assigned. Decided on the first chunk."""
    ids = frame["id"]
    present = int(ids.notna().sum())
    errors = normalise_column(ids, ID_SPEC).errors
    if present and len(errors) == present:
        example = ids[ids.notna()].iloc[0]
        warnings.append(f"the id column holds no positive integers (e.g. {example!r}); new ids are assigned")
        return True
    if errors:  # mixed ids (5, "X"): a source id for every row, a feature id for none
        example = next(iter(errors.values()))[1]
        warnings.append(f"the id column is not all positive integers (e.g. {example!r}): it is kept as the "
                        "source id and new feature ids are assigned")
        return True
    return False
