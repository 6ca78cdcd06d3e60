"""What a report shows: its compounds, the features around them, and every analysis run once over them.

A report covers a *scope*: one compound, a street (街道/镇) or a district. The analyses run once per
report on the scope's compounds plus every asset within reach of them (the largest walking, hydrant,
charging and waterlogging distance of the resolved parameters), never once per page. A compound page
is computed in the context of its street: tiers are proposed street by street (Minhang quotas) and
waterlogging severity is normalised across the compounds analysed together, so a compound printed
alone and the same compound in its street's atlas carry the same figures.

Everything here is plain data (GeoDataFrames and analysis results), so a report can be rendered in
another process from what this module gathered.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import pandas as pd

from ..analysis.registry import REGISTRY
from ..analysis.result import AnalysisResult
from ..catalog.programmes import Programme
from ..store.base import FeatureStore, Filter, NotFound, Query
from .programme import AtlasProgress, atlas_progress

SCOPES = ("compound", "street", "district")
COMPOUNDS = "compounds"
REACH_PARAMS = ("walk_m", "radius_m", "reach_m", "near_m")  # how far from a compound an asset can matter
MIN_MARGIN_M = 300.0  # a map shows at least this much around the compounds
# Walks to services leave the compounds' surroundings: these layers are read out to the 15-minute circle.
WALK_LAYERS, WALK_REACH_PARAM = ("roads", "service_facilities"), "circle_15_m"
METRES_PER_DEGREE = 111_320.0
CACHE_ENTRIES = 4  # analysed streets a process keeps for the pages that follow
_CACHE: dict[tuple, ReportData] = {}
_CACHE_LOCK = threading.Lock()


class ScopeNotFound(NotFound):
    """No compound with that id, or no compound in that street or district."""


@dataclass(frozen=True)
class Scope:
    kind: str  # compound, street or district
    key: str  # the compound id (as text) or the street/district name

    def __post_init__(self) -> None:
        if self.kind not in SCOPES:
            raise ValueError(f"report scope {self.kind!r}: use one of {', '.join(SCOPES)}")

    @property
    def atlas(self) -> bool:
        return self.kind != "compound"


@dataclass
class ReportData:
    scope: Scope
    title: str  # the compound's name, or the street/district name
    compounds: gpd.GeoDataFrame  # the compounds analysed (index: id, lon/lat)
    context: dict[str, gpd.GeoDataFrame]  # every catalog layer around them (neighbouring compounds included)
    results: dict[str, AnalysisResult]  # analysis name -> result
    versions: dict[str, int]  # layer -> version stamp, read before the data
    params: dict[str, dict[str, Any]]  # analysis name -> resolved parameters
    metric_crs: str | None
    pages: list[int] = field(default_factory=list)  # compound ids, one page each, in page order
    progress: AtlasProgress | None = None  # an atlas's programme progress page (reports/programme.py)

    def part(self, analysis: str, part: str | None = None) -> gpd.GeoDataFrame | None:
        result = self.results.get(analysis)
        if result is None:
            return None
        return result.parts.get(part) if part else result.main

    def row(self, analysis: str, compound_id: int, part: str | None = None) -> pd.Series | None:
        """One compound's row of an analysis part (None when the analysis did not run or lacks it)."""
        frame = self.part(analysis, part)
        if frame is None or compound_id not in frame.index:
            return None
        return frame.loc[compound_id]


# ------------------------------------------------------------------ scope and its compounds

def _name_filter(kind: str, name: str) -> Query:
    return Query(filters=Query.equals(**{kind: name}))


def scope_compounds(store: FeatureStore, scope: Scope) -> tuple[str, gpd.GeoDataFrame]:
    """(title, the compounds analysed together): the street's compounds for a compound page."""
    if scope.kind == "compound":
        try:
            compound_id = int(scope.key)
            feature = store.get(COMPOUNDS, compound_id)
        except (ValueError, NotFound):
            raise ScopeNotFound(f"no compound with id {scope.key}") from None
        props = feature["properties"]
        title = props.get("name") or f"#{compound_id}"
        street = props.get("street")
        if street:
            frame = store.query(COMPOUNDS, _name_filter("street", street)).features
            if compound_id in frame.index:
                return title, frame
        return title, store.query(COMPOUNDS, Query(ids=[compound_id])).features
    frame = store.query(COMPOUNDS, _name_filter(scope.kind, scope.key)).features
    if not len(frame):
        raise ScopeNotFound(f"no compounds in {scope.kind} {scope.key!r}")
    return scope.key, frame


def scope_title(store: FeatureStore, scope: Scope) -> str:
    """The name a report is filed under, with the checks of :func:`scope_compounds` but cheaper."""
    if scope.kind == "compound":
        return _compound_name(store, scope)
    if not store.count(COMPOUNDS, _name_filter(scope.kind, scope.key)):
        raise ScopeNotFound(f"no compounds in {scope.kind} {scope.key!r}")
    return scope.key


def _compound_name(store: FeatureStore, scope: Scope) -> str:
    try:
        compound_id = int(scope.key)
        props = store.get(COMPOUNDS, compound_id)["properties"]
    except (ValueError, NotFound):
        raise ScopeNotFound(f"no compound with id {scope.key}") from None
    return props.get("name") or f"#{compound_id}"


# ------------------------------------------------------------------ parameters, versions, context

def analyses_for(store: FeatureStore) -> list[str]:
    """The registry's analyses whose required layers the catalog has, in registry order."""
    return [name for name, a in REGISTRY.items() if all(layer in store.catalog for layer in a.layers)]


def resolved_params(store: FeatureStore, settings_params: dict | None) -> dict[str, dict[str, Any]]:
    return {name: REGISTRY[name].resolve(settings_params or {}) for name in analyses_for(store)}


def margin_m(params: dict[str, dict[str, Any]]) -> float:
    """How far around the compounds features are read: the largest reach of any analysis, plus a little."""
    reach = [float(p[k]) for p in params.values() for k in REACH_PARAMS if k in p]
    return max([MIN_MARGIN_M, *reach]) + 100.0


def layer_versions(store: FeatureStore) -> dict[str, int]:
    return {layer: int(store.version(layer)) for layer in store.catalog.ids()}


def expanded_bbox(frame: gpd.GeoDataFrame, metres: float) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
    dlat = metres / METRES_PER_DEGREE
    dlon = metres / (METRES_PER_DEGREE * max(math.cos(math.radians((miny + maxy) / 2)), 0.05))
    return minx - dlon, max(miny - dlat, -90.0), maxx + dlon, min(maxy + dlat, 90.0)


def walk_margin_m(params: dict[str, dict[str, Any]], metres: float) -> float:
    """How far around the compounds the walking network and facilities are read (see WALK_LAYERS)."""
    reach = [float(p[WALK_REACH_PARAM]) + 100.0 for p in params.values() if WALK_REACH_PARAM in p]
    return max([metres, *reach])


def read_context(store: FeatureStore, compounds: gpd.GeoDataFrame, metres: float,
                 walk_metres: float | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Every catalog layer's features in the compounds' bounding box grown by ``metres`` (the walking
    layers by ``walk_metres`` when given)."""
    bbox = expanded_bbox(compounds, metres)
    wide = expanded_bbox(compounds, walk_metres) if walk_metres else bbox
    return {spec.id: store.query(spec.id, _around(spec, compounds, wide if spec.id in WALK_LAYERS else bbox)).features
            for spec in store.catalog}


def _around(spec, compounds: gpd.GeoDataFrame, bbox) -> Query:
    """Spatial layers by the box; a table without geometry (plans) by the compounds it refers to."""
    if spec.has_geometry:
        return Query(bbox=bbox)
    refs = [f.name for f in spec.ref_fields if f.ref == COMPOUNDS]
    ids = [int(i) for i in compounds.index]
    return Query(filters=[Filter(refs[0], "in", ids)]) if refs else Query()


# ------------------------------------------------------------------ gathering

def run_analyses(compounds: gpd.GeoDataFrame, context: dict[str, gpd.GeoDataFrame],
                 params: dict[str, dict[str, Any]], metric_crs: str | None) -> dict[str, AnalysisResult]:
    """Each analysis once, on the scope's compounds and the assets around them."""
    frames = {**context, COMPOUNDS: compounds}
    return {name: REGISTRY[name].run(frames, values, metric_crs) for name, values in params.items()}


def page_order(compounds: gpd.GeoDataFrame, results: dict[str, AnalysisResult]) -> list[int]:
    """Compound ids in the renovation-priorities order (street, tier, rank in street), else by id."""
    plan = results.get("renovation-priorities")
    if plan is not None:
        ordered = [int(i) for i in plan["compounds"].index if i in compounds.index]
        if len(ordered) == len(compounds):
            return ordered
    return sorted(int(i) for i in compounds.index)


def gather(store: FeatureStore, scope: Scope, settings_params: dict | None = None,
           metric_crs: str | None = None, programmes: Sequence[Programme] = ()) -> ReportData:
    """Read the scope's compounds and surroundings once and run the analyses once (see the module notes).

    Analysed streets stay in a small per-process cache (keyed by the data versions), so paging
    through one street's compounds, or printing its atlas after them, runs the analyses once. A
    compound's page takes its street's data and keeps only the features around the compound.
    """
    versions = layer_versions(store)  # before reading: a change during the read makes the cache key stale, not wrong
    params = resolved_params(store, settings_params)
    title, compounds = scope_compounds(store, scope)
    if scope.kind == "district":
        return _with_progress(_analysed(store, scope, title, compounds, versions, params, metric_crs), store,
                              programmes)
    base_scope, base_title = scope, title
    if scope.kind == "compound":
        street = compounds.at[int(scope.key), "street"] if "street" in compounds.columns else None
        if isinstance(street, str) and len(compounds) > 1:
            base_scope, base_title = Scope("street", street), street
    key = (id(store), base_scope, tuple(sorted(versions.items())), repr(sorted(params.items())), metric_crs)
    with _CACHE_LOCK:
        base = _CACHE.get(key)
    if base is None:
        base = _analysed(store, base_scope, base_title, compounds, versions, params, metric_crs)
        with _CACHE_LOCK:
            _CACHE[key] = base
            while len(_CACHE) > CACHE_ENTRIES:
                _CACHE.pop(next(iter(_CACHE)))
    if scope.kind != "compound":
        return _with_progress(base, store, programmes)
    cid = int(scope.key)
    box = expanded_bbox(compounds.loc[[cid]], margin_m(params))
    context = {layer: frame.cx[box[0]:box[2], box[1]:box[3]] if store.catalog.get(layer).has_geometry else frame
               for layer, frame in base.context.items()}
    return ReportData(scope, title, base.compounds, context, base.results, base.versions, base.params,
                      base.metric_crs, [cid])


def _with_progress(data: ReportData, store: FeatureStore, programmes: Sequence[Programme]) -> ReportData:
    """An atlas's data with its programme progress, counted from the plans it read (not cached: cheap)."""
    progress = atlas_progress(data.scope.kind, data.compounds, data.context, programmes, store.catalog)
    return replace(data, progress=progress)


def _analysed(store: FeatureStore, scope: Scope, title: str, compounds: gpd.GeoDataFrame, versions: dict[str, int],
              params: dict[str, dict[str, Any]], metric_crs: str | None) -> ReportData:
    margin = margin_m(params)
    context = read_context(store, compounds, margin, walk_margin_m(params, margin))
    results = run_analyses(compounds, context, params, metric_crs)
    crs = next((r.metric_crs for r in results.values() if r.metric_crs), metric_crs)
    return ReportData(scope, title, compounds, context, results, versions, params, crs,
                      page_order(compounds, results))
