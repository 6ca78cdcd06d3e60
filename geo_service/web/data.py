"""The map's data service: per-layer indexes, colour schemes and overlays, kept until the data change.

One :class:`MapData` per app (and one per export). A layer's :class:`~.viewport.LayerIndex` is
built from one query of the whole layer (ids, geometry, the column the colouring reads) and
kept under the layer's version stamp; a colouring by an analysis is kept under the stamps of
every layer the analysis reads. Any edit or import changes a stamp, so the next view rebuilds.
Views then cost a mask over numpy arrays plus, in feature mode, one store query by ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import shapely

from .. import styles
from ..analysis.registry import get as get_analysis
from ..analysis.runner import layers_read, load_frames, versions
from ..cache import SingleFlightCache
from ..catalog import LayerSpec, Title
from ..store.base import FeatureStore, Filter, Query
from . import viewport

HYDRANTS = "fire_hydrants"
WORKING = "working"
MAX_ZOOM = 22


class MapDataError(ValueError):
    """A request the map data cannot answer (unknown layer, colouring or overlay); HTTP 400/404."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Overlay:
    """An optional analysis overlay: what it draws, from which analysis part, from which zoom."""

    name: str
    title: Title
    kind: str  # "circles" (points drawn with a radius in metres), "areas" or "lines"
    min_zoom: int
    analysis: str | None = None
    part: str | None = None
    fields: tuple[str, ...] = ()
    color: str = "#c62828"


OVERLAYS = {o.name: o for o in (
    Overlay("hydrant-circles", Title("消火栓保护范围", "Hydrant protection radius"), "circles", 14,
            analysis="hydrant-coverage", color="#ffaabb"),
    Overlay("hydrant-uncovered", Title("消火栓未覆盖区域", "Areas beyond hydrant reach"), "areas", 12,
            analysis="hydrant-coverage", part="compounds", fields=("name", "uncovered_m2", "covered_share"),
            color="#994455"),
    Overlay("shared-parking", Title("错时共享停车安排", "Shared parking arrangements"), "lines", 12,
            analysis="shared-parking", part="arrangements",
            fields=("compound_name", "lot_name", "lot_kind", "spaces", "distance_m"), color="#225522"),
)}


class MapData:
    """Answers the web map's questions about one store: schemes, views of layers, overlays."""

    def __init__(self, store: FeatureStore, max_features: int = 2000, cluster_px: int = 36,
                 analysis_params: dict | None = None, metric_crs: str | None = None):
        self.store = store
        self.max_features = max_features  # more in view than this: clusters, for every layer
        # Layers whose style says `cluster: true` cluster sooner: when the view holds more than one
        # feature per cluster_px x cluster_px pixels, where markers would start to overlap.
        self.cluster_px = cluster_px
        self.analysis_params = analysis_params or {}
        self.metric_crs = metric_crs
        self._memo = SingleFlightCache(48)  # indexes, analysis results, breaks
        self._views = SingleFlightCache(512)  # encoded views: the page asks tile-snapped boxes, so users share them

    def close(self) -> None:
        """Drop the indexes and views (at shutdown: they hold a copy of every layer shown)."""
        self._memo.clear()
        self._views.clear()

    # ---------------------------------------------------------------- schemes

    def spec(self, layer: str) -> LayerSpec:
        if layer not in self.store.catalog:
            raise MapDataError(f"no layer {layer!r}; the catalog has: {', '.join(self.store.catalog.ids())}", 404)
        return self.store.catalog.get(layer)

    def scheme(self, layer: str, color_by: str | None = None) -> styles.Scheme:
        """The colouring of ``layer``: its style, one of its fields, or (compounds) an analysis."""
        spec = self.spec(layer)
        name = color_by or spec.style.get("by_field")
        if name is None:
            return styles.layer_scheme(spec)
        if spec.has_field(name):
            fs = spec.field(name)
            if fs not in styles.colorable_fields(spec):
                raise MapDataError(f"color_by={name!r}: {layer}.{name} is free text; colour by one of: "
                                   f"{self._choices(spec)}")
            if fs.values or fs.type == "boolean":
                return styles.field_scheme(spec, name)
            key = ("breaks", layer, name, self.store.version(layer))
            values = self._memo.get(key, lambda: self.store.query(layer, Query(properties=[name])).features[name])
            return styles.field_scheme(spec, name, values)
        scheme = styles.analysis_scheme(name) if layer == "compounds" else None
        if scheme is None:
            raise MapDataError(f"color_by={name!r}: not a field of {layer} nor an analysis the map colours by; "
                               f"use one of: {self._choices(spec)}")
        return scheme

    def _choices(self, spec: LayerSpec) -> str:
        return ", ".join(c["name"] for c in styles.color_by_choices(spec, "en"))

    # ---------------------------------------------------------------- analyses

    def _analysis(self, name: str):
        analysis = get_analysis(name)
        layers = layers_read(analysis, self.store)
        params = analysis.resolve(self.analysis_params)
        key = ("analysis", name, tuple(sorted(params.items())), tuple(sorted(versions(self.store, layers).items())),
               self.metric_crs)
        return self._memo.get(key, lambda: analysis.run(load_frames(self.store, layers), params, self.metric_crs))

    def analysis_values(self, scheme: styles.Scheme, ids: np.ndarray) -> np.ndarray:
        """The analysis column the scheme reads, for compound ``ids`` (None where it has no row)."""
        part = self._analysis(scheme.analysis)[scheme.part]
        return part[scheme.column].reindex(ids).to_numpy(dtype=object)

    # ---------------------------------------------------------------- layer views

    def _stamp(self, layer: str, scheme: styles.Scheme) -> tuple:
        if scheme.analysis is None:
            return (self.store.version(layer),)
        return tuple(sorted(versions(self.store, layers_read(get_analysis(scheme.analysis), self.store)).items()))

    def index(self, layer: str, scheme: styles.Scheme) -> viewport.LayerIndex:
        key = ("index", layer, scheme.name, scheme.edges, self._stamp(layer, scheme))

        def build() -> viewport.LayerIndex:
            column = scheme.column if scheme.analysis is None else None
            frame = self.store.query(layer, Query(properties=[column] if column else [])).features.sort_index()
            ids = frame.index.to_numpy(dtype=np.int64)
            if scheme.analysis is not None:
                values = self.analysis_values(scheme, ids)
            else:
                values = frame[column] if column else np.zeros(len(frame))
            return viewport.LayerIndex.build(ids, frame.geometry.values, scheme.classify(values))

        return self._memo.get(key, build)

    def view(self, layer: str, bbox: tuple[float, float, float, float], zoom: int, color_by: str | None = None,
             full: bool = False, cql: Any = None, cql_text: str | None = None) -> bytes:
        """A JSON answer for one view: ``features`` (GeoJSON, each with its class key ``_c``) when few
        enough are inside, else ``clusters`` [lon, lat, count, class] and ``singles`` [id, lon, lat, class].

        ``full`` (exports) returns every feature, with every property and ungeneralised; the page
        otherwise reads properties on click from the OGC API item, so views stay small. ``cql`` (a checked
        CQL2 filter, ``cql_text`` its text as the cache key) keeps only the features it selects."""
        scheme = self.scheme(layer, color_by)
        key = (layer, scheme.name, scheme.edges, self._stamp(layer, scheme), tuple(bbox), zoom, full, cql_text)
        return self._views.get(key, lambda: self._view(layer, scheme, bbox, zoom, full, cql, cql_text))

    def matching(self, layer: str, cql: Any, cql_text: str) -> np.ndarray:
        """The sorted ids ``cql`` selects in the whole layer, kept until the layer changes: panning a
        filtered map then costs one sorted-array lookup per view, not a filter per view."""
        key = ("filter", layer, self.store.version(layer), cql_text)
        return self._memo.get(key, lambda: np.sort(self.store.query(layer, Query(cql=cql, properties=[]))
                                                   .features.index.to_numpy(dtype=np.int64)))

    def _view(self, layer: str, scheme: styles.Scheme, bbox: tuple[float, float, float, float], zoom: int,
              full: bool, cql: Any = None, cql_text: str | None = None) -> bytes:
        spec = self.spec(layer)
        index = self.index(layer, scheme)
        pos = index.in_bbox(bbox)
        head: dict[str, Any] = {"layer": layer, "zoom": zoom, "scheme": scheme.name}
        if cql is not None:
            matched = self.matching(layer, cql, cql_text or "")
            pos = pos[np.isin(index.ids[pos], matched, assume_unique=True)]
            head["filterMatched"] = int(len(matched))
        keys = scheme.keys()
        limit = self.max_features
        if spec.style.get("cluster"):
            limit = min(limit, int(viewport.pixel_area(bbox, zoom) / self.cluster_px**2))
        head["numberMatched"] = int(len(pos))
        if len(pos) > limit and zoom < MAX_ZOOM and not full:
            clusters, singles = viewport.grid_clusters(index, pos, zoom, keys, ranks=scheme.ranks())
            return orjson.dumps({**head, "mode": "clusters", "clusters": clusters, "singles": singles})
        features = self.features(layer, scheme, index.ids[pos], zoom=None if full else zoom, full=full)
        return orjson.dumps({**head, "mode": "features"})[:-1] + b',"features":[' + b",".join(features) + b"]}"

    def features(self, layer: str, scheme: styles.Scheme, ids: np.ndarray, zoom: int | None,
                 full: bool = False) -> list[bytes]:
        """The features ``ids`` as GeoJSON bytes with class key ``_c`` (and ``_v``, the analysis value
        coloured by: the feature's own fields come with it in exports, from the OGC API item on the page)."""
        spec = self.spec(layer)
        index = self.index(layer, scheme)
        label = "name" if spec.has_field("name") else None
        wanted = None if full else [c for c in {label, scheme.column if scheme.analysis is None else None} if c]
        frame = self.store.query(layer, Query(ids=[int(i) for i in ids], properties=wanted)).features
        if not len(frame):
            return []
        fids = frame.index.to_numpy(dtype=np.int64)
        at = np.searchsorted(index.ids, fids)
        keys = scheme.keys()
        classes = [keys[min(int(c), len(keys) - 1)] for c in index.classes[np.minimum(at, len(index.ids) - 1)]]
        shown = self.analysis_values(scheme, fids) if scheme.analysis else None
        columns = [c for c in frame.columns if c != frame.geometry.name]
        rows = frame[columns].astype(object).where(frame[columns].notna(), None).to_dict("records")
        props = []
        for i, row in enumerate(rows):
            p = {k: _plain(v) for k, v in row.items() if full or k == label}
            p["_c"] = classes[i]
            if shown is not None:
                p["_v"] = _plain(shown[i])
            props.append(p)
        return viewport.feature_bytes(fids, viewport.generalise(frame.geometry.values, zoom), props)

    # ---------------------------------------------------------------- overlays

    def overlay(self, name: str, bbox: tuple[float, float, float, float], zoom: int) -> bytes:
        """An overlay's shapes in the bbox: hydrant points with their radius, uncovered areas or
        shared-parking lines. Below the overlay's zoom, or with too many shapes, it says so instead."""
        ov = OVERLAYS.get(name)
        if ov is None:
            raise MapDataError(f"no overlay {name!r}; overlays: {', '.join(OVERLAYS)}", 404)
        head = {"overlay": name, "kind": ov.kind, "zoom": zoom, "minZoom": ov.min_zoom}
        if zoom < ov.min_zoom:
            return orjson.dumps({**head, "mode": "zoom_in", "features": []})
        if ov.kind == "circles":
            return orjson.dumps({**head, **self._hydrant_points(bbox)})
        try:
            part = self._analysis(ov.analysis)[ov.part]
        except (KeyError, LookupError) as e:  # the analysis or the layers it needs are missing
            raise MapDataError(f"overlay {name}: {e}", 404) from None
        tree_key = ("tree", name, id(part))
        geoms = np.asarray(part.geometry.values, dtype=object)
        tree = self._memo.get(tree_key, lambda: shapely.STRtree(geoms))
        hits = np.sort(tree.query(shapely.box(*bbox)))
        hits = hits[~shapely.is_empty(geoms[hits])] if len(hits) else hits
        if len(hits) > self.max_features:
            return orjson.dumps({**head, "mode": "too_many", "numberMatched": int(len(hits)), "features": []})
        rows = part.iloc[hits]
        fields = [f for f in ov.fields if f in rows.columns]
        values = rows[fields].astype(object).where(rows[fields].notna(), None).to_dict("records")
        props = [{k: _plain(v) for k, v in r.items()} for r in values]
        ids = [int(i) if isinstance(i, int | np.integer) else n for n, i in enumerate(rows.index.tolist())]
        features = viewport.feature_bytes(ids, viewport.generalise(geoms[hits], zoom), props)
        return orjson.dumps({**head, "mode": "features", "numberMatched": int(len(hits))})[:-1] \
            + b',"features":[' + b",".join(features) + b"]}"

    def hydrant_radius(self) -> float:
        try:
            return float(get_analysis("hydrant-coverage").resolve(self.analysis_params)["radius_m"])
        except KeyError:
            return 150.0  # GB 50974-2014 §7.2.5 protection radius, the analyses' default too

    def _hydrant_points(self, bbox: tuple[float, float, float, float]) -> dict[str, Any]:
        """Working hydrants in the bbox grown by the radius (a circle may reach in from outside)."""
        if HYDRANTS not in self.store.catalog:
            raise MapDataError(f"overlay hydrant-circles: the catalog has no {HYDRANTS} layer", 404)
        radius = self.hydrant_radius()
        pad = radius / 90_000.0  # degrees, generous at Chinese latitudes
        spec = self.store.catalog.get(HYDRANTS)
        filters = [Filter("status", "eq", WORKING)] if spec.has_field("status") else []
        grown = (bbox[0] - pad, bbox[1] - pad, bbox[2] + pad, bbox[3] + pad)
        found = self.store.query(HYDRANTS, Query(bbox=grown, filters=filters, properties=[],
                                                 limit=self.max_features + 1)).features
        if len(found) > self.max_features:
            return {"mode": "too_many", "numberMatched": len(found), "features": []}
        xy = np.round(shapely.get_coordinates(found.geometry.values), 6).tolist()
        points = [[int(i), x, y] for i, (x, y) in zip(found.index.tolist(), xy, strict=True)]
        return {"mode": "points", "radius_m": radius, "numberMatched": len(points), "points": points}


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v
