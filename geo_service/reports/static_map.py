"""Static (printable) maps with matplotlib: layers in their catalog style, basemap, scale bar, north arrow.

Why matplotlib collections and not ``GeoDataFrame.plot``: a report draws hundreds of small maps, and
building one PathCollection per layer is several times faster than geopandas' per-call machinery.
Maps are drawn in Web Mercator (EPSG:3857): north is up everywhere, and XYZ basemap tiles fit without
warping. Mercator stretches lengths by 1/cos(latitude), so the scale bar is measured at the map's
centre latitude (the error across a few kilometres is far below a pixel). No network access: a
basemap comes only from a local XYZ folder (``{z}/{x}/{y}.png``); without one the map has a plain
background.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle
from matplotlib.path import Path as MplPath
from PIL import Image

from ..catalog import LayerSpec
from ..styles import NO_DATA_COLOR, layer_scheme
from .placement import corner_boxes, emptiest

WEB_MERCATOR = "EPSG:3857"
EARTH_RADIUS_M = 6378137.0  # the sphere of EPSG:3857
TILE_PX = 256
MAX_TILES = 144  # a report map needs a dozen; a mis-set zoom must not read thousands
BACKGROUND = "#f3f1ec"
MARKERS = {"circle": "o", "square": "s", "triangle": "^", "diamond": "D", "star": "*", "pin": "v"}
NICE_LENGTHS_M = (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 25_000, 50_000)


def tr(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


@dataclass(frozen=True)
class LegendEntry:
    """One legend symbol, described rather than drawn, so a page can place it wherever it has room."""

    label: str
    kind: str  # marker, patch or line
    color: str
    edge: str = "none"
    marker: str = "o"
    size: float = 5.0  # marker size, points
    alpha: float = 1.0
    hatch: str | None = None
    linestyle: str = "-"
    linewidth: float = 0.6


# ------------------------------------------------------------------ geometry to artists

def to_map_crs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A lon/lat frame in the map CRS (a frame without a CRS is taken as lon/lat)."""
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    return frame.to_crs(WEB_MERCATOR)


def polygon_paths(geoms: Iterable) -> list[MplPath]:
    """One compound path per (multi)polygon, holes included; empty or missing geometries give empty paths."""
    paths = []
    for geom in geoms:
        vertices, codes = [], []
        if geom is not None and not geom.is_empty:
            for part in shapely.get_parts(geom):
                if part.geom_type != "Polygon":
                    continue
                for ring in (part.exterior, *part.interiors):
                    xy = np.asarray(ring.coords)
                    if len(xy) < 3:
                        continue
                    ring_codes = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
                    ring_codes[0], ring_codes[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
                    vertices.append(xy)
                    codes.append(ring_codes)
        if vertices:
            paths.append(MplPath(np.concatenate(vertices), np.concatenate(codes)))
        else:
            paths.append(MplPath(np.zeros((0, 2))))
    return paths


def draw_polygons(ax: Axes, geoms: Sequence, facecolor, edgecolor, linewidth: float = 0.5, alpha: float = 1.0,
                  hatch: str | None = None, zorder: float = 2) -> PathCollection:
    coll = PathCollection(polygon_paths(geoms), facecolors=facecolor, edgecolors=edgecolor, linewidths=linewidth,
                          alpha=alpha, hatch=hatch, zorder=zorder)
    ax.add_collection(coll, autolim=False)
    return coll


def draw_lines(ax: Axes, geoms: Sequence, color, linewidth: float = 1.0, linestyle: str = "-",
               zorder: float = 3) -> LineCollection:
    segments = [np.asarray(part.coords) for g in geoms if g is not None and not g.is_empty
                for part in shapely.get_parts(g) if part.geom_type == "LineString"]
    coll = LineCollection(segments, colors=color, linewidths=linewidth, linestyles=linestyle, zorder=zorder)
    ax.add_collection(coll, autolim=False)
    return coll


def _kinds(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    types = shapely.get_type_id(geoms)
    points = np.isin(types, (0, 4))
    lines = np.isin(types, (1, 2, 5))
    polys = np.isin(types, (3, 6))
    return points, lines, polys


def draw_layer(ax: Axes, spec: LayerSpec, frame: gpd.GeoDataFrame, lang: str, zorder: float = 4,
               size: float = 1.0) -> list[LegendEntry]:
    """A layer in its catalog style (``style.by_field`` + ``colors``, marker, radius); legend entries of
    the classes present. Polygons of point-styled layers (a car park drawn as an area) are filled."""
    if not len(frame):
        return []
    style = spec.style
    scheme = layer_scheme(spec)
    values = frame[scheme.column] if scheme.column and scheme.column in frame.columns else [None] * len(frame)
    index = scheme.classify(values) if scheme.column else np.zeros(len(frame), dtype=np.int16)
    palette = [c.color for c in scheme.classes] + [scheme.no_data.color]
    colors = np.array(palette, dtype=object)[index]
    geoms = np.asarray(frame.geometry.values, dtype=object)
    points, lines, polys = _kinds(geoms)
    marker = MARKERS.get(str(style.get("marker", "circle")), "o")
    radius = float(style.get("radius", 4))
    if polys.any():
        fill = colors[polys].tolist() if scheme.column else [style.get("fill_color") or palette[0]] * int(polys.sum())
        draw_polygons(ax, geoms[polys], facecolor=fill, edgecolor=colors[polys].tolist(), linewidth=0.6,
                      alpha=0.55, zorder=zorder - 0.5)
    if lines.any():
        draw_lines(ax, geoms[lines], colors[lines].tolist(), linewidth=1.2, zorder=zorder - 0.3)
    if points.any():
        pts = shapely.get_parts(geoms[points])
        counts = shapely.get_num_geometries(geoms[points])
        xy = shapely.get_coordinates(pts)
        ax.scatter(xy[:, 0], xy[:, 1], s=(radius * 1.35 * size) ** 2, c=np.repeat(colors[points], counts).tolist(),
                   marker=marker, edgecolors="white", linewidths=0.4, zorder=zorder)
    entries = []
    title = spec.title.get(lang)
    present = sorted(set(index.tolist()))
    for i in present:
        cls = scheme.classes[i] if i < len(scheme.classes) else scheme.no_data
        label = title if scheme.column is None else _class_label(spec, scheme.column, cls.label.get(lang), lang)
        if points.any():
            entries.append(LegendEntry(label, "marker", cls.color, "white", marker, radius * 1.35 * size))
        else:
            entries.append(LegendEntry(label, "patch", cls.color, cls.color, alpha=0.55))
    return entries


def _class_label(spec: LayerSpec, column: str, value: str, lang: str) -> str:
    """"消火栓：正常"; a yes/no field names itself: "电动自行车充电点（有简易喷淋：是）"."""
    title = spec.title.get(lang)
    if spec.has_field(column) and spec.field(column).type == "boolean":
        field = spec.field(column).title.get(lang)
        return f"{title}（{field}：{value}）" if lang == "zh" else f"{title} ({field}: {value})"
    return f"{title}：{value}" if lang == "zh" else f"{title}: {value}"


# ------------------------------------------------------------------ extent, basemap, furniture

def fit_extent(bounds: Sequence[float], aspect: float, pad_m: float = 0.0, min_size_m: float = 200.0
               ) -> tuple[float, float, float, float]:
    """A (x0, x1, y0, y1) box around ``bounds`` (map units) padded by ``pad_m`` ground metres, with
    width/height == ``aspect``, so the axes keep equal scale in both directions."""
    x0, y0, x1, y1 = (float(v) for v in bounds)
    k = 1.0 / _cos_lat((y0 + y1) / 2)  # map units per ground metre
    pad = pad_m * k
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = max(x1 - x0, min_size_m * k), max(y1 - y0, min_size_m * k)
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    return cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2


def _cos_lat(y_mercator: float) -> float:
    lat = 2 * math.atan(math.exp(y_mercator / EARTH_RADIUS_M)) - math.pi / 2
    return math.cos(lat)


def setup_map_axes(ax: Axes, extent: tuple[float, float, float, float], background: str = BACKGROUND) -> None:
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor(background)
    for spine in ax.spines.values():
        spine.set_linewidth(0.6)
        spine.set_color("#555555")


def _tile_range(extent, z: int) -> tuple[range, range]:
    world = 2 * math.pi * EARTH_RADIUS_M
    n = 2 ** z

    def col(x):
        return int(math.floor((x + world / 2) / world * n))

    def row(y):
        return int(math.floor((world / 2 - y) / world * n))

    x0, x1, y0, y1 = extent
    return range(max(col(x0), 0), min(col(x1), n - 1) + 1), range(max(row(y1), 0), min(row(y0), n - 1) + 1)


def basemap_zoom(extent, pixels_wide: float, available: Sequence[int]) -> int | None:
    """The zoom whose tiles best match the map's printed resolution, among the zooms the folder has."""
    if not available:
        return None
    width = extent[1] - extent[0]
    ideal = math.log2(2 * math.pi * EARTH_RADIUS_M * pixels_wide / (TILE_PX * width))
    want = int(math.ceil(ideal - 0.25))
    fitting = [z for z in available if z <= want]
    return max(fitting) if fitting else min(available)


def add_basemap(ax: Axes, extent, folder: Path | str | None, pixels_wide: float) -> bool:
    """Mosaic the local XYZ tiles under the map; False (plain background) without a usable folder."""
    if not folder:
        return False
    folder = Path(folder)
    if not folder.is_dir():
        return False
    zooms = sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
    z = basemap_zoom(extent, pixels_wide, zooms)
    if z is None:
        return False
    cols, rows = _tile_range(extent, z)
    if not len(cols) or not len(rows) or len(cols) * len(rows) > MAX_TILES:
        return False
    mosaic = np.zeros((len(rows) * TILE_PX, len(cols) * TILE_PX, 4), dtype=np.uint8)
    found = False
    for i, y in enumerate(rows):
        for j, x in enumerate(cols):
            tile = next((p for ext in ("png", "jpg", "jpeg", "webp")
                         if (p := folder / str(z) / str(x) / f"{y}.{ext}").is_file()), None)
            if tile is None:
                continue
            with Image.open(tile) as img:
                mosaic[i * TILE_PX:(i + 1) * TILE_PX, j * TILE_PX:(j + 1) * TILE_PX] = np.asarray(
                    img.convert("RGBA").resize((TILE_PX, TILE_PX)))
            found = True
    if not found:
        return False
    world = 2 * math.pi * EARTH_RADIUS_M
    size = world / 2 ** z
    left, top = -world / 2 + cols.start * size, world / 2 - rows.start * size
    ax.imshow(mosaic, extent=(left, left + len(cols) * size, top - len(rows) * size, top), zorder=0,
              interpolation="bilinear")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    return True


def nice_length(max_m: float) -> float:
    fitting = [v for v in NICE_LENGTHS_M if v <= max_m]
    return float(fitting[-1] if fitting else NICE_LENGTHS_M[0])


def add_scale_bar(ax: Axes, extent, lang: str, fontsize: float = 6.5, avoid: Sequence = ()) -> float:
    """A four-part bar, true ground metres at the map's centre latitude; returns its length.

    It goes in the corner (lower left, lower right, upper left) whose box covers the least of
    ``avoid`` (the features drawn), lower left when nothing is given or all are equal."""
    x0, x1, y0, y1 = extent
    k = 1.0 / _cos_lat((y0 + y1) / 2)
    length = nice_length((x1 - x0) / k * 0.28)
    bar = length * k
    height = (y1 - y0) * 0.012
    box_w, box_h = bar * 1.22, height * 5.2
    margin = ((x1 - x0) * 0.04 - bar * 0.08, (y1 - y0) * 0.05 - height * 1.4)
    boxes = corner_boxes(extent, box_w, box_h, margin)
    bx0, by0, _, _ = boxes[emptiest(boxes, avoid)].bounds
    left, base = bx0 + bar * 0.08, by0 + height * 1.4
    ax.add_patch(Rectangle((bx0, by0), box_w, box_h, facecolor="white", edgecolor="none", alpha=0.8, zorder=20,
                           gid="scale-bar-box"))
    for i in range(4):
        ax.add_patch(Rectangle((left + i * bar / 4, base), bar / 4, height, facecolor="black" if i % 2 == 0 else
                               "white", edgecolor="black", linewidth=0.5, zorder=21))
    unit_km = length >= 1000
    for frac in (0.0, 0.5, 1.0):
        value = length * frac / (1000 if unit_km else 1)
        text = f"{value:g}" + ((" km" if unit_km else " m") if frac == 1.0 else "")
        ax.text(left + bar * frac, base + height * 1.6, text, ha="center", va="bottom", fontsize=fontsize, zorder=22)
    return length


def add_north_arrow(ax: Axes, lang: str, x: float = 0.94, y: float = 0.88, size: float = 0.06) -> None:
    """A two-tone arrow at the upper right in axes fractions (north is up in Web Mercator)."""
    tip, base, half = (x, y + size / 2), y - size / 2, size * 0.32
    t = ax.transAxes
    ax.add_patch(Polygon([tip, (x - half, base), (x, base + size * 0.22)], closed=True, facecolor="black",
                         edgecolor="black", linewidth=0.5, transform=t, zorder=21))
    ax.add_patch(Polygon([tip, (x + half, base), (x, base + size * 0.22)], closed=True, facecolor="white",
                         edgecolor="black", linewidth=0.5, transform=t, zorder=21))
    ax.text(x, y + size / 2 + 0.01, tr(lang, "北", "N"), transform=t, ha="center", va="bottom", fontsize=8,
            zorder=22)


def crs_note(lang: str, metric_crs: str | None, basemap: bool) -> str:
    metric = tr(lang, f"；距离、面积在 {metric_crs} 中计算", f"; distances and areas computed in {metric_crs}")
    base = tr(lang, "；底图：本地瓦片", "; basemap: local tiles") if basemap else ""
    return tr(lang, "数据坐标系 WGS 84 (EPSG:4326)；制图投影 Web 墨卡托 (EPSG:3857)，比例尺按图幅中心纬度",
              "Data CRS WGS 84 (EPSG:4326); map projection Web Mercator (EPSG:3857), scale bar at the map's "
              "centre latitude") + (metric if metric_crs else "") + base


def outline_entry(label: str, color: str, linewidth: float = 1.8, face: str = "none") -> LegendEntry:
    return LegendEntry(label, "patch", face, color, linewidth=linewidth)


def hatch_entry(label: str, color: str, hatch: str) -> LegendEntry:
    return LegendEntry(label, "patch", color, color, alpha=0.35, hatch=hatch)


def line_entry(label: str, color: str, linestyle: str = "--") -> LegendEntry:
    return LegendEntry(label, "line", color, linestyle=linestyle, linewidth=1.2)


def unique_entries(entries: Iterable[LegendEntry]) -> list[LegendEntry]:
    seen, out = set(), []
    for e in entries:
        if e.label not in seen:
            seen.add(e.label)
            out.append(e)
    return out


def symbol_artists(entry: LegendEntry, x: float, y: float, w: float, h: float, transform) -> list:
    """Artists drawing ``entry``'s symbol in the box (x, y, w, h) of ``transform``'s coordinates."""
    if entry.kind == "marker":
        return [Line2D([x + w / 2], [y + h / 2], linestyle="none", marker=entry.marker, markersize=entry.size,
                       markerfacecolor=entry.color, markeredgecolor=entry.edge, markeredgewidth=0.4,
                       transform=transform)]
    if entry.kind == "line":
        return [Line2D([x, x + w], [y + h / 2, y + h / 2], color=entry.color, linestyle=entry.linestyle,
                       linewidth=entry.linewidth, transform=transform)]
    return [Rectangle((x, y), w, h, facecolor=entry.color, edgecolor=entry.edge, linewidth=entry.linewidth,
                      alpha=entry.alpha, hatch=entry.hatch, transform=transform)]


__all__ = ["BACKGROUND", "NO_DATA_COLOR", "WEB_MERCATOR", "LegendEntry", "add_basemap", "add_north_arrow",
           "add_scale_bar", "crs_note", "draw_layer", "draw_lines", "draw_polygons", "fit_extent", "hatch_entry",
           "line_entry", "outline_entry", "polygon_paths", "setup_map_axes", "symbol_artists", "to_map_crs", "tr",
           "unique_entries"]
