"""Programme targets read from ``programmes/*.yaml`` (and packed into the wheel like ``layers/``).

A programme (美丽家园 2026-2027, say) names its years and, per year, how many compounds should have a
plan including each renovation category: district-wide and optionally per street. The file is checked
against the catalog as a layer file is: categories must be allowed values of the plans layer's list
field, years must be listed, numbers whole and not negative; the message names file and key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .specs import Catalog, Title, _err, _title, read_mapping

_KEYS = {"name", "layer", "years", "targets", "category_field"}


@dataclass(frozen=True)
class Programme:
    id: str
    name: Title
    layer: str  # the plans layer
    category_field: str
    years: tuple[int, ...]
    district: dict[int, dict[str, int]]  # year -> category -> compounds
    streets: dict[int, dict[str, dict[str, int]]] = field(default_factory=dict)  # year -> street -> category -> n
    source: Path | None = None

    @property
    def current_year(self) -> int:
        """The year shown when none is asked for (the dashboard's and the atlases' default): the last one."""
        return self.years[-1]

    def target(self, year: int, category: str, street: str | None = None) -> int | None:
        if street is None:
            return self.district.get(year, {}).get(category)
        return self.streets.get(year, {}).get(street, {}).get(category)


def _counts(path: Path, key: str, raw: Any, allowed: list[str]) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise _err(path, key, "must be a mapping category -> number of compounds")
    out = {}
    for cat, n in raw.items():
        if cat not in allowed:
            raise _err(path, f"{key}.{cat}", f"not a renovation category; use one of: {', '.join(allowed)}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise _err(path, f"{key}.{cat}", f"must be a whole number of compounds >= 0, got {n!r}")
        out[str(cat)] = n
    return out


def load_programme(path: Path, catalog: Catalog) -> Programme:
    path = Path(path)
    raw = read_mapping(path, _KEYS, "name, layer, years, targets")
    layer = raw.get("layer", "renovation_plans")
    if layer not in catalog:
        raise _err(path, "layer", f"names layer {layer!r}, which the catalog lacks")
    spec = catalog.get(layer)
    cat_field = raw.get("category_field", "categories")
    if not spec.has_field(cat_field) or spec.field(cat_field).type != "list":
        raise _err(path, "category_field", f"{cat_field!r} is not a list field of {layer}")
    allowed = spec.field(cat_field).allowed or []
    years = raw.get("years")
    if not isinstance(years, list) or not years or not all(isinstance(y, int) and 2000 <= y <= 2100 for y in years):
        raise _err(path, "years", "must be a list of years (2000-2100)")
    targets = raw.get("targets") or {}
    if not isinstance(targets, dict):
        raise _err(path, "targets", "must be a mapping year -> {district: ..., streets: ...}")
    district: dict[int, dict[str, int]] = {}
    streets: dict[int, dict[str, dict[str, int]]] = {}
    for year, block in targets.items():
        if year not in years:
            raise _err(path, f"targets.{year}", f"is not one of the programme's years {years}")
        if not isinstance(block, dict) or set(block) - {"district", "streets"}:
            raise _err(path, f"targets.{year}", "must be a mapping with district and/or streets")
        district[year] = _counts(path, f"targets.{year}.district", block.get("district") or {}, allowed)
        per_street = block.get("streets") or {}
        if not isinstance(per_street, dict):
            raise _err(path, f"targets.{year}.streets", "must be a mapping street -> {category: number}")
        streets[year] = {str(s): _counts(path, f"targets.{year}.streets.{s}", c, allowed)
                         for s, c in per_street.items()}
    return Programme(id=path.stem, name=_title(path, "name", raw.get("name", path.stem)), layer=layer,
                     category_field=cat_field, years=tuple(years), district=district, streets=streets, source=path)


def load_programmes(folder: Path | str, catalog: Catalog) -> list[Programme]:
    """Every programme of ``folder`` (none when the folder is missing), in file-name order."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return [load_programme(p, catalog) for p in sorted(folder.glob("*.yaml"))]
