"""Running an analysis on a FeatureStore: which layers, their version stamps, the frames, the parameters.

Shared by the API and the CLI so both resolve parameters the same way (defaults < settings <
call) and read the same layers. Any FeatureStore works; nothing here knows a particular store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd

from .registry import Analysis
from .result import AnalysisResult


def layers_read(analysis: Analysis, store) -> list[str]:
    """The layers the analysis reads from this store (optional ones only when its catalog has them)."""
    missing = [layer for layer in analysis.layers if layer not in store.catalog]
    if missing:
        raise LookupError(f"{analysis.name} needs the layers {', '.join(missing)}, which the catalog lacks")
    return analysis.layers_read(store.catalog)


def versions(store, layers: list[str]) -> dict[str, int]:
    return {layer: store.version(layer) for layer in layers}


def load_frames(store, layers: list[str]) -> dict[str, gpd.GeoDataFrame]:
    return {layer: store.frame(layer) for layer in layers}


def run_on_store(analysis: Analysis, store, settings_params: Mapping[str, Mapping[str, Any]] | None = None,
                 call_params: Mapping[str, Any] | None = None, metric_crs: str | None = None) -> AnalysisResult:
    """Resolve the parameters, read the layers and run (the CLI's path; the API adds its cache)."""
    params = analysis.resolve(settings_params, call_params)
    frames = load_frames(store, layers_read(analysis, store))
    return analysis.run(frames, params, metric_crs)
