"""What an atlas's programme progress page shows, gathered with the rest of a report's data (plain data,
so a forked process can draw it): the programme's current year (the one the ``/programme`` dashboard
opens on), the scope's figures and, for a district, the same per street.

Counted by :func:`geo_service.analysis.programme_progress.count_progress` from the plans the report
already read (every plan referring to one of the scope's compounds), so the page and the dashboard agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..analysis.programme_progress import DISTRICT, Progress, count_progress
from ..catalog import Catalog
from ..catalog.programmes import Programme


@dataclass(frozen=True)
class AtlasProgress:
    programme: Programme | None  # None: no programme is declared (programmes/*.yaml)
    year: int | None
    scope: Progress | None = None  # the street's (or the district's) figures: one group
    streets: Progress | None = None  # a district's figures per street

    @property
    def has_plans(self) -> bool:
        return self.scope is not None and any(b["plans"] for b in self.scope.budget)


def programme_stamp(folder: Path | str | None) -> str:
    """The programme files' names and bytes, hashed (no parsing: cached reports are answered often), so a
    change of targets redraws cached atlases."""
    digest = hashlib.blake2b(digest_size=8)
    if folder is not None and Path(folder).is_dir():
        for path in sorted(Path(folder).glob("*.yaml")):
            digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def atlas_progress(kind: str, compounds: gpd.GeoDataFrame, context: dict[str, gpd.GeoDataFrame],
                   programmes: Sequence[Programme], catalog: Catalog) -> AtlasProgress:
    """The progress of a street (``kind="street"``) or district atlas for the first programme's current year."""
    if not programmes:
        return AtlasProgress(None, None)
    programme = programmes[0]
    year = programme.current_year
    plain = pd.DataFrame({c: compounds[c] if c in compounds.columns else None for c in ("name", "street")},
                         index=compounds.index)
    plans = context.get(programme.layer)
    if plans is None:
        plans = pd.DataFrame()
    categories = catalog.get(programme.layer).field(programme.category_field).values or {}
    scope = count_progress(plans, plain, categories, programme, year, DISTRICT if kind == DISTRICT else "street")
    streets = count_progress(plans, plain, categories, programme, year, "street") if kind == DISTRICT else None
    return AtlasProgress(programme, year, scope, streets)
