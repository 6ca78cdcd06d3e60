"""Basemaps from settings: OpenStreetMap, Tianditu, AMap (GCJ-02), a local XYZ folder, or none.

Settings read (with defaults until settings.py declares them):
``map_basemaps`` (list, first shown; default ``["osm", "none"]``), ``tianditu_key``,
``map_tiles_dir`` (folder of {z}/{x}/{y}.png|jpg|webp served at /map/basemap/{z}/{x}/{y}) and
``map_tiles_gcj02`` (that folder was cut from a GCJ-02 map). A basemap that cannot work (Tianditu
without a key, a missing folder) is left out. ``gcj02`` marks basemaps drawn in the shifted
Chinese system: the page shifts the vector layers onto them (webmap.js), so compounds sit on
their streets whichever basemap is chosen. Whatever is chosen, the vector layers also show on
the plain background when no tile can be fetched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import folium

log = logging.getLogger("geo_service.web")
KINDS = ("osm", "tianditu", "tianditu_img", "amap", "amap_img", "local", "none")
DEFAULT = ["osm", "none"]
TILE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
_TIANDITU = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
             "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}")


@dataclass(frozen=True)
class Basemap:
    kind: str
    title_zh: str
    title_en: str
    url: str | None  # None: no tiles (a plain background)
    attribution: str = ""
    subdomains: str = "abc"
    max_native_zoom: int = 18
    gcj02: bool = False
    annotation_urls: tuple[str, ...] = ()  # label layers drawn over the base (Tianditu's cva/cia)

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en

    def folium_layer(self, lang: str, show: bool) -> Any:
        """A base layer for folium's layer control: tiles, or an empty group for the plain background."""
        name = escape(self.title(lang))
        if self.url is None:
            return folium.FeatureGroup(name=name, overlay=False, show=show)
        return folium.TileLayer(self.url, attr=self.attribution, name=name, overlay=False, show=show,
                                subdomains=self.subdomains, max_native_zoom=self.max_native_zoom, max_zoom=20)

    def annotation_layers(self, show: bool) -> list[Any]:
        return [folium.TileLayer(url, attr=self.attribution, name=f"{self.title_zh} 注记", overlay=True, show=show,
                                 control=False, subdomains=self.subdomains, max_native_zoom=self.max_native_zoom,
                                 max_zoom=20) for url in self.annotation_urls]


def _tianditu(kind: str, key: str) -> Basemap:
    base, labels = ("vec", "cva") if kind == "tianditu" else ("img", "cia")
    zh, en = ("天地图", "Tianditu") if kind == "tianditu" else ("天地图影像", "Tianditu imagery")
    fill = {"key": key, "s": "{s}", "z": "{z}", "x": "{x}", "y": "{y}"}
    return Basemap(kind, zh, en, _TIANDITU.format(layer=base, **fill), "&copy; 天地图 Tianditu", "01234567", 18,
                   annotation_urls=(_TIANDITU.format(layer=labels, **fill),))


def _osm(kind: str, settings: Any, api_base: str | None) -> Basemap:
    return Basemap("osm", "OpenStreetMap", "OpenStreetMap", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                   "&copy; OpenStreetMap contributors", "abc", 19)


def _tianditu_configured(kind: str, settings: Any, api_base: str | None) -> Basemap | None:
    key = settings.tianditu_key
    if not key:
        log.warning("map_basemaps: %s needs tianditu_key; left out", kind)
        return None
    return _tianditu(kind, key)


def _amap(kind: str, settings: Any, api_base: str | None) -> Basemap:
    style = 8 if kind == "amap" else 6
    host = "webrd0{s}" if kind == "amap" else "webst0{s}"
    return Basemap(kind, "高德地图" if kind == "amap" else "高德影像", "AMap" if kind == "amap" else "AMap imagery",
                   f"https://{host}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style={style}"
                   "&x={x}&y={y}&z={z}", "&copy; 高德地图 AutoNavi", "1234", 18, gcj02=True)


def _local(kind: str, settings: Any, api_base: str | None) -> Basemap | None:
    if tiles_dir(settings) is None:
        log.warning("map_basemaps: local needs map_tiles_dir (an existing folder); left out")
        return None
    if api_base is None:
        return None
    return Basemap("local", "本地底图", "Local tiles", api_base + "/map/basemap/{z}/{x}/{y}", "", "abc", 20,
                   gcj02=settings.map_tiles_gcj02)


def _none(kind: str, settings: Any, api_base: str | None) -> Basemap:
    return Basemap("none", "无底图", "No basemap", None)


_BUILDERS = {"osm": _osm, "tianditu": _tianditu_configured, "tianditu_img": _tianditu_configured,
             "amap": _amap, "amap_img": _amap, "local": _local, "none": _none}


def configured(settings: Any, api_base: str | None) -> list[Basemap]:
    """The basemaps the settings ask for, in order, without the ones that cannot work here.

    ``api_base`` None (an exported file) leaves out the local folder, which only the service serves."""
    kinds = settings.map_basemaps or DEFAULT
    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.split(",") if k.strip()]
    out: list[Basemap] = []
    for kind in kinds:
        build = _BUILDERS.get(kind)
        if build is None:
            log.warning("map_basemaps: unknown basemap %r (known: %s); left out", kind, ", ".join(KINDS))
        elif (basemap := build(kind, settings, api_base)) is not None:
            out.append(basemap)
    if not any(b.kind == "none" for b in out):
        out.append(_none("none", settings, api_base))  # always offer the plain background
    return out


def tiles_dir(settings: Any) -> Path | None:
    folder = settings.map_tiles_dir
    if folder is None:
        return None
    folder = Path(folder)
    return folder if folder.is_dir() else None


def local_tile(settings: Any, z: int, x: int, y: int) -> Path | None:
    """The file of tile z/x/y in the local folder, whichever image suffix it has."""
    folder = tiles_dir(settings)
    if folder is None:
        return None
    for suffix in TILE_SUFFIXES:
        path = folder / str(z) / str(x) / f"{y}{suffix}"
        if path.is_file():
            return path
    return None
