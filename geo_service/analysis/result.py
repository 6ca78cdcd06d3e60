"""What every analysis returns: named result tables (parts) and a summary.

A part is a GeoDataFrame in EPSG:4326 (GeoJSON's CRS); the first part is the main one (what the
API returns unless ``part`` is given, what a CSV export holds). A GeoPackage export writes every
part as its own layer. Parts without geometry (tables) have all-None geometry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd


@dataclass
class AnalysisResult:
    parts: dict[str, gpd.GeoDataFrame]
    summary: dict[str, Any] = field(default_factory=dict)
    metric_crs: str | None = None  # the CRS the numbers were computed in, e.g. "EPSG:32651"

    @property
    def main(self) -> gpd.GeoDataFrame:
        return next(iter(self.parts.values()))

    @property
    def main_part(self) -> str:
        return next(iter(self.parts))

    def __getitem__(self, part: str) -> gpd.GeoDataFrame:
        return self.parts[part]
