"""One compound or one street as a self-contained HTML map that opens offline (``geo-service export map``).

The same page as /map, with Leaflet, the plugins and our script inlined and the features of the
area embedded (every property, so popups need no server): a compound with its surroundings, or
every compound of a street/town with the assets around them. Analysis overlays are embedded for
the same area when the analyses can run. Links in popups point at ``base_url`` for whoever can
reach the service; the map itself needs nothing but the file.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import orjson
import shapely

from ..store.base import FeatureStore, Filter, Query
from . import basemaps
from .data import MAX_ZOOM, OVERLAYS, MapData, MapDataError
from .page import TEXTS, MapPage, render

log = logging.getLogger("geo_service.web")
COMPOUNDS = "compounds"
MARGIN_DEG = 0.003  # ~300 m of surroundings around the area exported
MAX_EMBEDDED = 50_000  # features; beyond this the file would be slow to open: export a smaller area
DENSE = 300  # features of a `cluster: true` layer above which it starts hidden in the file


class ExportError(ValueError):
    """The area to export does not exist or is too large."""


def _area(store: FeatureStore, compound: int | None, street: str | None) -> tuple[tuple, str, dict | None, str]:
    """(bbox with margin, title, focus, file stem) of the compound or street asked for."""
    if (compound is None) == (street is None):
        raise ExportError("give either a compound id or a street name")
    if compound is not None:
        feat = store.get(COMPOUNDS, compound)  # NotFound names the id
        geoms = [feat["geometry"]]
        name = feat["properties"].get("name") or f"#{compound}"
        title, focus, stem = str(name), {"id": compound}, f"map-compound-{compound}"
    else:
        found = store.query(COMPOUNDS, Query(filters=[Filter("street", "eq", street)], properties=["name"])).features
        if not len(found):
            raise ExportError(f"no compound has street {street!r}")
        geoms = list(found.geometry.values)
        title, focus, stem = street, None, "map-street-" + re.sub(r"[^\w-]+", "_", street).strip("_")
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    bbox = (minx - MARGIN_DEG, miny - MARGIN_DEG, maxx + MARGIN_DEG, maxy + MARGIN_DEG)
    return bbox, title, focus, stem


def build_html(store: FeatureStore, settings: Any, compound: int | None = None, street: str | None = None,
               color_by: str | None = None, overlays: bool = True, base_url: str | None = None) -> tuple[str, str]:
    """(HTML, file stem) of the self-contained map of a compound or a street."""
    bbox, title, focus, stem = _area(store, compound, street)
    md = MapData(store, analysis_params=settings.analysis_params, metric_crs=settings.metric_crs)
    lang = settings.lang if settings.lang in TEXTS else "en"
    schemes = {spec.id: md.scheme(spec.id, color_by if spec.id == COMPOUNDS else None) for spec in store.catalog}
    data: dict[str, bytes] = {}
    embedded, visible = 0, []
    for spec in store.catalog:
        data[spec.id] = md.view(spec.id, bbox, MAX_ZOOM, color_by if spec.id == COMPOUNDS else None, full=True)
        n = orjson.loads(data[spec.id])["numberMatched"]
        embedded += n
        if embedded > MAX_EMBEDDED:
            raise ExportError(f"the area holds more than {MAX_EMBEDDED:,} features; export a smaller one")
        # A file has no server to cluster for it: dense point layers start hidden (one click shows them).
        if spec.style.get("visible", True) and not (spec.style.get("cluster") and n > DENSE):
            visible.append(spec.id)
    overlay_data: dict[str, bytes] = {}
    if overlays:
        for name in OVERLAYS:
            try:
                overlay_data[name] = md.overlay(name, bbox, MAX_ZOOM)
            except (MapDataError, LookupError, ValueError) as e:  # an analysis cannot run on this catalog
                log.warning("export: overlay %s left out: %s", name, e)
    page = MapPage(
        catalog=store.catalog, lang=lang, schemes=schemes, bounds=bbox,
        basemaps=basemaps.configured(settings, None), api=None,
        links_base=(base_url or f"http://{settings.host}:{settings.port}").rstrip("/"), color_by=color_by,
        overlays=list(overlay_data), hydrant_radius_m=md.hydrant_radius(), data=data, overlay_data=overlay_data,
        focus=focus, title=title, visible=visible)
    return render(page, asset_prefix=None), stem


def export_map(store: FeatureStore, settings: Any, compound: int | None = None, street: str | None = None,
               out: Path | None = None, **options: Any) -> Path:
    """Write the map to ``out`` (default: static_maps_dir/map-compound-ID.html or map-street-NAME.html)."""
    html, stem = build_html(store, settings, compound, street, **options)
    path = Path(out) if out is not None else Path(settings.static_maps_dir) / f"{stem}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)  # never leave a half-written map where a browser may open it
    return path
