"""The analyses by name: function, layers read, parameters, parts. API, CLI and OpenAPI all read this.

Each function takes its layers as keyword arguments named by layer id (``compounds``,
``fire_hydrants``, ...; an optional layer the catalog lacks is passed as None), its parameters as
keywords, and ``metric_crs``; it returns an :class:`AnalysisResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd

from . import defaults as D
from .charging_coverage import charging_coverage
from .health_check import health_check
from .hydrant_coverage import hydrant_coverage
from .life_circle import life_circle
from .params import Param, resolve
from .parking_gaps import parking_gaps
from .renovation_priorities import renovation_priorities
from .result import AnalysisResult
from .shared_parking import shared_parking
from .waterlogging import waterlogging


class UnknownAnalysis(KeyError):
    def __str__(self) -> str:
        return f"no analysis named {self.args[0]!r}; known: {', '.join(REGISTRY)}"


@dataclass(frozen=True)
class Analysis:
    name: str
    func: Callable[..., AnalysisResult]
    layers: tuple[str, ...]  # required layers
    params: tuple[Param, ...]
    parts: tuple[str, ...]  # result parts, the main one first
    title_zh: str
    title_en: str
    description: str
    optional_layers: tuple[str, ...] = ()  # read when the catalog has them
    uses: tuple[str, ...] = ()  # analyses it runs: their settings overrides apply too

    def layers_read(self, available: Any = None) -> list[str]:
        """Required layers plus the optional ones present in ``available`` (a catalog or a collection of ids)."""
        return list(self.layers) + [layer for layer in self.optional_layers
                                    if available is not None and layer in available]

    def resolve(self, settings_params: Mapping[str, Mapping[str, Any]] | None = None,
                call_params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults < settings of the analyses it uses < its own settings < the call's values."""
        settings_params = settings_params or {}
        layers = [_known(self, settings_params.get(name)) for name in self.uses]
        return resolve(self.params, *layers, settings_params.get(self.name), call_params)

    def run(self, frames: Mapping[str, gpd.GeoDataFrame | None], params: Mapping[str, Any] | None = None,
            metric_crs: str | None = None) -> AnalysisResult:
        """Run on ``frames`` (layer id -> frame) with ``params`` overlaid on the defaults."""
        missing = [layer for layer in self.layers if frames.get(layer) is None]
        if missing:
            raise ValueError(f"{self.name} needs the layers {', '.join(missing)}")
        values = resolve(self.params, params)
        layers = {layer: frames.get(layer) for layer in self.layers + self.optional_layers}
        return self.func(**layers, **values, metric_crs=metric_crs)


def _known(analysis: Analysis, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """A used analysis' settings, restricted to the parameters this one shares with it."""
    names = {p.name for p in analysis.params}
    return {k: v for k, v in (params or {}).items() if k in names}


REGISTRY: dict[str, Analysis] = {a.name: a for a in (
    Analysis("parking-gaps", parking_gaps, ("compounds", "parking_facilities"), D.PARKING_GAPS, ("compounds",),
             "停车缺口", "Parking gaps",
             "Per compound: parking demand (registered vehicles, or households x ratio by era and flat size), "
             "supply (compound spaces or its own car parks, whichever is larger), gap and gap per 100 households, "
             "ranked."),
    Analysis("shared-parking", shared_parking, ("compounds", "parking_facilities"), D.SHARED_PARKING,
             ("arrangements", "unserved"), "错时共享停车", "Shared off-peak parking",
             "Least-walk maximum allocation of compounds' parking gaps to nearby public, office and commercial "
             "lots' night free spaces: arrangements (compound -> lot lines) and the gap left per compound.",
             optional_layers=("roads", "parking_agreements"), uses=("parking-gaps",)),
    Analysis("hydrant-coverage", hydrant_coverage, ("compounds", "fire_hydrants"), D.HYDRANT_COVERAGE,
             ("compounds", "buildings"), "消火栓覆盖", "Fire-hydrant coverage",
             "Share of each compound within the protection radius of a working hydrant, the uncovered part, and "
             "hydrants to repair in or near it; per building too when a buildings layer exists.",
             optional_layers=("buildings",)),
    Analysis("charging-coverage", charging_coverage, ("compounds", "ebike_charging_sites"), D.CHARGING_COVERAGE,
             ("compounds", "sites"), "电动自行车充电覆盖", "E-bike charging coverage",
             "Charging ports serving each compound per 100 households against the target, sites without "
             "sprinklers, compounds without charging."),
    Analysis("waterlogging", waterlogging, ("compounds", "waterlogging_points"), D.WATERLOGGING,
             ("compounds", "points", "hotspots"), "积水点分析", "Waterlogging",
             "Waterlogging points per compound with normalised severity and cause mix, points over the 15 cm / "
             "30 min thresholds, and hotspot clusters across compounds."),
    Analysis("renovation-priorities", renovation_priorities,
             ("compounds", "parking_facilities", "fire_hydrants", "ebike_charging_sites", "waterlogging_points"),
             D.RENOVATION_PRIORITIES, ("compounds", "streets"), "改造优先级", "Renovation priorities",
             "One plan per compound: needs mapped to the programme's renovation categories, a weighted score "
             "with every component shown, eligibility by build year, and a tier proposed per street within "
             "the quotas (demonstration >= 10 %, upgrade >= 40 %).",
             optional_layers=("roads", "parking_agreements", "renovation_plans"),
             uses=("parking-gaps", "shared-parking", "hydrant-coverage", "charging-coverage", "waterlogging")),
    Analysis("life-circle", life_circle, ("compounds", "service_facilities"), D.LIFE_CIRCLE,
             ("compounds", "walks", "streets", "gaps"), "15分钟社区生活圈", "15-minute life circle",
             "Per compound and facility category (GB 50180-2018): the walk along the roads to the nearest working "
             "facility, whether it lies within its 5/10/15-minute circle, required categories met per circle and "
             "the households each gap affects; per street the share of households in complete circles. Walks the "
             "network cannot answer are straight line x detour factor, flagged estimated.",
             optional_layers=("roads",)),
    Analysis("health-check", health_check,
             ("compounds", "parking_facilities", "ebike_charging_sites", "waterlogging_points", "fire_hydrants"),
             D.HEALTH_CHECK, ("streets", "districts", "indicators"), "城市体检(住房与小区)",
             "City health check (housing and compounds)",
             "The 城市体检 housing and compound indicators this data answers, per street and district: parking-space "
             "gap, compounds without e-bike charging, compounds with waterlogging above the standard, old compounds "
             "and the share renovated or planned, hydrant coverage, 15-minute and complete life-circle coverage; "
             "part indicators gives each one's definition and source.",
             optional_layers=("service_facilities", "roads"),
             uses=("parking-gaps", "charging-coverage", "waterlogging", "hydrant-coverage", "life-circle")),
)}


def get(name: str) -> Analysis:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownAnalysis(name) from None


def run(name: str, frames: Mapping[str, gpd.GeoDataFrame | None], params: Mapping[str, Any] | None = None,
        metric_crs: str | None = None) -> AnalysisResult:
    """Run the analysis ``name`` (see :meth:`Analysis.run`)."""
    return get(name).run(frames, params, metric_crs)
