"""The layer catalog: ``layers/<id>.yaml`` files read into typed specs.

A layer is declared, not coded: its geometry type, its fields (type, unit, allowed
values and their aliases, required, bounds) and its map style live in YAML. Every
part of the service (store schema, validation, API schema, map legend) reads these specs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FIELD_TYPES = ("string", "integer", "number", "boolean", "date", "datetime", "list")
NO_GEOMETRY = "none"  # ``geometry: none``: a table of records (plans, agreements), served with "geometry": null
GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
LAYER_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
RESERVED_FIELDS = {"id", "geom", "fid"}
SOURCE_ID = "source_id"
# Columns that commonly carry a source's own identifier, in the order they are tried after
# --key and a layer's declared ``source_keys`` (OSM extracts carry ``osm_id``).
# gid: the key column shp2pgsql and many PostGIS/GeoServer exports give every row
COMMON_SOURCE_KEYS = ("id", "ID", "编号", "OBJECTID", "fid", "gid", "code", "osm_id")


class CatalogError(ValueError):
    """A layer file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Title:
    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    title: Title
    description: str = ""
    unit: str | None = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    values: dict[str, Title] | None = None  # allowed values with labels
    aliases: dict[str, str] = field(default_factory=dict)  # other spellings -> allowed value
    filterable: bool = True
    ref: str | None = None  # the id of a feature of this layer (``ref: compounds``); checked on every write
    columns: tuple[str, ...] = ()  # other column headers an import recognises (小区名称 for a compound ref)

    @property
    def allowed(self) -> list[str] | None:
        return list(self.values) if self.values is not None else None


@dataclass(frozen=True)
class LayerSpec:
    id: str
    title: Title
    geometry_types: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    description: str = ""
    style: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    source_keys: tuple[str, ...] = ()  # the layer's own names for its source id column (tried before common ones)
    # field -> {state: allowed next states}: a lifecycle every edit and keyed import must follow
    transitions: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    # fields that identify a feature when a file has no id column (renovation_plans: compound and year);
    # their values joined make the source id, so upsert/sync match "the plan of this compound for this year"
    key_fields: tuple[str, ...] = ()

    @property
    def has_geometry(self) -> bool:
        return bool(self.geometry_types)

    @property
    def is_asset(self) -> bool:
        """A spatial layer of its own (hydrants, lots): it has geometry and names no feature of another layer
        (plans and agreements describe compounds; they are not assets inside them)."""
        return self.has_geometry and not self.ref_fields

    @property
    def ref_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.ref is not None]

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def has_field(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)

    @property
    def geometry_column_type(self) -> str:
        """The GeoPackage column type: the single declared type, else GEOMETRY (also for no geometry)."""
        if len(self.geometry_types) == 1:
            return self.geometry_types[0].upper()
        return "GEOMETRY"


class Catalog:
    """All layer specs of one folder, by id, in file-name order."""

    def __init__(self, layers: dict[str, LayerSpec], folder: Path | None = None):
        self._layers = layers
        self.folder = folder

    def __iter__(self):
        return iter(self._layers.values())

    def __len__(self) -> int:
        return len(self._layers)

    def __contains__(self, layer_id: str) -> bool:
        return layer_id in self._layers

    def ids(self) -> list[str]:
        return list(self._layers)

    def referrers(self, layer_id: str) -> list[tuple[LayerSpec, FieldSpec]]:
        """(layer, field) pairs whose field refers to features of ``layer_id``."""
        return [(spec, f) for spec in self._layers.values() for f in spec.ref_fields if f.ref == layer_id]

    def get(self, layer_id: str) -> LayerSpec:
        try:
            return self._layers[layer_id]
        except KeyError:
            raise KeyError(f"unknown layer {layer_id!r}; the catalog has: {', '.join(self._layers)}") from None


# --------------------------------------------------------------------------- parsing

def _err(path: Path, key: str, msg: str) -> CatalogError:
    return CatalogError(f"{path}: {key}: {msg}")


def _title(path: Path, key: str, raw: Any) -> Title:
    if isinstance(raw, str):
        return Title(zh=raw, en=raw)
    if not isinstance(raw, dict) or not isinstance(raw.get("zh"), str) or not isinstance(raw.get("en"), str):
        raise _err(path, key, "needs a Chinese and an English title: {zh: ..., en: ...}")
    return Title(zh=raw["zh"], en=raw["en"])


def _number(path: Path, key: str, raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _err(path, key, f"must be a number, got {raw!r}")
    return float(raw)


_FIELD_KEYS = {"type", "title", "description", "unit", "required", "min", "max", "values", "aliases",
               "filterable", "ref", "columns"}


def _check_field_name(path: Path, key: str, name: Any, raw: Any) -> None:
    if not isinstance(name, str) or not FIELD_NAME.match(name):
        raise _err(path, key, "field names are lower-case ASCII identifiers (a-z, 0-9, _)")
    if name in RESERVED_FIELDS:
        raise _err(path, key, f"{name!r} is reserved for the feature id / geometry")
    if not isinstance(raw, dict):
        raise _err(path, key, "must be a mapping with at least 'type'")
    unknown = set(raw) - _FIELD_KEYS
    if unknown:
        raise _err(path, f"{key}.{sorted(unknown)[0]}", f"unknown key; allowed: {', '.join(sorted(_FIELD_KEYS))}")


def _allowed_values(path: Path, key: str, ftype: str, values: Any) -> dict[str, Title] | None:
    if values is None:
        return None
    if isinstance(values, list):
        parsed = {str(v): Title(str(v), str(v)) for v in values}
    elif isinstance(values, dict):
        parsed = {str(v): _title(path, f"{key}.values.{v}", t) for v, t in values.items()}
    else:
        raise _err(path, f"{key}.values", "must be a list of values or a mapping value -> {zh, en}")
    if not parsed:
        raise _err(path, f"{key}.values", "must not be empty")
    if ftype not in ("string", "list"):
        raise _err(path, f"{key}.values", "allowed values are for string and list fields")
    return parsed


def _aliases(path: Path, key: str, raw: Any, parsed_values: dict[str, Title] | None) -> dict:
    aliases = raw.get("aliases") or {}
    if not isinstance(aliases, dict):
        raise _err(path, f"{key}.aliases", "must be a mapping other-spelling -> allowed value")
    for a, target in aliases.items():
        if parsed_values is None or str(target) not in parsed_values:
            raise _err(path, f"{key}.aliases.{a}", f"points to {target!r}, which is not an allowed value")
    return aliases


def _field(path: Path, name: Any, raw: Any) -> FieldSpec:
    key = f"fields.{name}"
    _check_field_name(path, key, name, raw)
    ftype = raw.get("type")
    if ftype not in FIELD_TYPES:
        raise _err(path, f"{key}.type", f"must be one of {', '.join(FIELD_TYPES)}, got {ftype!r}")
    parsed_values = _allowed_values(path, key, ftype, raw.get("values"))
    aliases = _aliases(path, key, raw, parsed_values)
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise _err(path, f"{key}.required", "must be true or false")
    title = _title(path, f"{key}.title", raw.get("title", name))
    ref = raw.get("ref")
    if ref is not None and (ftype != "integer" or not isinstance(ref, str) or not LAYER_ID.match(ref)):
        raise _err(path, f"{key}.ref", "names a layer id, on an integer field (it holds that layer's feature id)")
    if ftype == "list" and parsed_values is None:
        raise _err(path, f"{key}.values", "a list field declares its allowed values")
    return FieldSpec(
        name=name, type=ftype, title=title, description=str(raw.get("description", "")),
        unit=raw.get("unit"), required=required,
        minimum=_number(path, f"{key}.min", raw.get("min")),
        maximum=_number(path, f"{key}.max", raw.get("max")),
        values=parsed_values, aliases={str(a): str(t) for a, t in aliases.items()},
        filterable=bool(raw.get("filterable", True)), ref=ref, columns=_columns(path, key, raw.get("columns")),
    )


def _columns(path: Path, key: str, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(c, str) and c.strip() for c in raw):
        raise _err(path, f"{key}.columns", "must be a list of column headers")
    return tuple(raw)


_LAYER_KEYS = {"id", "title", "description", "geometry", "fields", "style", "source_keys", "transitions",
               "key_fields"}

# Declared here once for every layer: the identifier the feature has in the file it came from,
# so the next delivery of the same file can be matched to what is stored (import --mode upsert/sync).
SOURCE_ID_FIELD = FieldSpec(
    name=SOURCE_ID, type="string", title=Title(zh="来源编号", en="Source id"),
    description="The feature's identifier in the file it was imported from (empty for features made by hand).")


def _source_keys(path: Path, raw: Any) -> tuple[str, ...]:
    keys = raw.get("source_keys") or []
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, list) or not all(isinstance(k, str) and k.strip() for k in keys):
        raise _err(path, "source_keys", "must be a list of column names that carry the source's own id")
    return tuple(keys)


def _transitions(path: Path, raw: Any, fields: tuple[FieldSpec, ...]) -> dict[str, dict[str, tuple[str, ...]]]:
    """``transitions: {status: {proposed: [consulting, cancelled], ...}}``: every state of the field is an
    allowed value of it and names the states that may follow it (an empty list: a final state)."""
    given = raw.get("transitions") or {}
    if not isinstance(given, dict):
        raise _err(path, "transitions", "must be a mapping field -> {state: [next states]}")
    by_name = {f.name: f for f in fields}
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for name, states in given.items():
        f = by_name.get(name)
        if f is None or f.type != "string" or f.values is None:
            raise _err(path, f"transitions.{name}", "names a string field with allowed values")
        if not isinstance(states, dict) or set(states) != set(f.values):
            raise _err(path, f"transitions.{name}", f"must give the next states of every value: {', '.join(f.values)}")
        table: dict[str, tuple[str, ...]] = {}
        for state, nexts in states.items():
            nexts = nexts or []
            if not isinstance(nexts, list) or any(n not in f.values for n in nexts):
                raise _err(path, f"transitions.{name}.{state}", f"must list allowed values of {name}")
            table[str(state)] = tuple(nexts)
        out[name] = table
    return out


def read_mapping(path: Path, keys: set[str] | frozenset[str], holds: str) -> dict[str, Any]:
    """A YAML file holding a mapping with only the given keys; errors name the file and the line or key.
    ``holds`` lists the keys a mapping is expected to carry, for the message."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "file"
        raise CatalogError(f"{path}: {where}: not valid YAML ({getattr(e, 'problem', e)})") from None
    except UnicodeDecodeError as e:
        raise CatalogError(f"{path}: file: not UTF-8 ({e.reason} at byte {e.start})") from None
    if not isinstance(raw, dict):
        raise CatalogError(f"{path}: file: must hold a mapping ({holds})")
    unknown = set(raw) - set(keys)
    if unknown:
        raise _err(path, sorted(unknown)[0], f"unknown key; allowed: {', '.join(sorted(keys))}")
    return raw


def load_layer(path: Path) -> LayerSpec:
    path = Path(path)
    raw = read_mapping(path, _LAYER_KEYS, "id, title, geometry, fields, style")
    layer_id = raw.get("id", path.stem)
    if not isinstance(layer_id, str) or not LAYER_ID.match(layer_id):
        raise _err(path, "id", f"must be a lower-case identifier without dots (a-z, 0-9, _), got {layer_id!r}")
    if layer_id != path.stem:
        raise _err(path, "id", f"{layer_id!r} differs from the file name {path.stem!r}")
    geom = raw.get("geometry")
    geoms = [] if geom == NO_GEOMETRY else [geom] if isinstance(geom, str) else geom
    bad = not isinstance(geoms, list) or (not geoms and geom != NO_GEOMETRY)
    if bad or any(g not in GEOMETRY_TYPES for g in geoms):
        raise _err(path, "geometry", f"must be one or a list of {', '.join(GEOMETRY_TYPES)}, or {NO_GEOMETRY!r}; "
                   f"got {geom!r}")
    fields_raw = raw.get("fields")
    if not isinstance(fields_raw, dict) or not fields_raw:
        raise _err(path, "fields", "must be a mapping of field name -> field spec")
    if SOURCE_ID in fields_raw:
        raise _err(path, f"fields.{SOURCE_ID}", "is declared for every layer by the catalog; remove it here "
                   "(name the file's id column with source_keys instead)")
    fields = (*(_field(path, name, spec) for name, spec in fields_raw.items()), SOURCE_ID_FIELD)
    style = raw.get("style") or {}
    if not isinstance(style, dict):
        raise _err(path, "style", "must be a mapping")
    by = style.get("by_field")
    if by is not None and by not in fields_raw:
        raise _err(path, "style.by_field", f"names {by!r}, which is not a field of this layer")
    return LayerSpec(
        id=layer_id, title=_title(path, "title", raw.get("title")), geometry_types=tuple(geoms),
        fields=fields, description=str(raw.get("description", "")), style=style, source=path,
        source_keys=_source_keys(path, raw), transitions=_transitions(path, raw, fields),
        key_fields=_key_fields(path, raw, fields),
    )


def _key_fields(path: Path, raw: Any, fields: tuple[FieldSpec, ...]) -> tuple[str, ...]:
    keys = raw.get("key_fields") or []
    names = {f.name: f for f in fields}
    if not isinstance(keys, list) or any(k not in names or not names[k].required for k in keys):
        raise _err(path, "key_fields", "must list required fields of this layer")
    return tuple(keys)


def load_catalog(folder: Path | str) -> Catalog:
    folder = Path(folder)
    if not folder.is_dir():
        raise CatalogError(f"{folder}: layer catalog folder not found")
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise CatalogError(f"{folder}: no layer files (*.yaml)")
    layers: dict[str, LayerSpec] = {}
    for f in files:
        spec = load_layer(f)
        if spec.id in layers:
            raise _err(f, "id", f"layer {spec.id!r} is declared twice (also in {layers[spec.id].source})")
        layers[spec.id] = spec
    for spec in layers.values():
        for f in spec.ref_fields:
            if f.ref not in layers:
                raise _err(spec.source, f"fields.{f.name}.ref", f"names layer {f.ref!r}, which the catalog lacks")
    return Catalog(layers, folder)
