"""OpenStreetMap (.osm.pbf / .osm XML) to layer features, read with GDAL's OSM driver (in pyogrio).

GDAL gives each OSM layer (``points``, ``multipolygons``) a few tag columns and packs every other
tag into ``other_tags``, an hstore-like text (``"k"=>"v","k2"=>"v2"``, quotes and backslashes in
keys/values escaped with a backslash), which :func:`parse_other_tags` reads.

=====================  =====================================  =================================================
layer                  OSM features                           fields
=====================  =====================================  =================================================
compounds              landuse=residential areas              name <- name (else name:zh); an unnamed area is
                       (closed ways and multipolygon          named after its OSM id, "未命名小区 (OSM way 123)"
                       relations)                             (counted in a warning), so a planner gets every
                                                              boundary and can name it later.
                                                              households <- addr:households, else
                                                              building:flats, else **0 = unknown** (warned).
                                                              district <- addr:district,
                                                              street <- addr:subdistrict (街道),
                                                              build_year <- start_date (its year).
fire_hydrants          nodes with emergency=fire_hydrant      kind <- fire_hydrant:type: pillar -> above_ground,
                       or disused:emergency=fire_hydrant      underground, wall; other types left empty.
                                                              status: out_of_service if disused:emergency=*,
                                                              disused=yes or abandoned=yes; else from
                                                              operational_status (operational/ok -> working,
                                                              broken/out_of_order/defective/needs_maintenance
                                                              -> faulty, under_repair -> under_repair,
                                                              closed/removed -> out_of_service, anything else
                                                              -> unknown); no such tag -> working.
                                                              last_inspected <- check_date;
                                                              flow_lps <- flow_rate (l/min unless a unit
                                                              l/s or m3/h is given).
parking_facilities     amenity=parking nodes (Point) and      name; capacity <- capacity; fee <- fee;
                       areas (kept as MultiPolygon)           open_hours <- opening_hours. kind:
                                                              parking=street_side/lane/on_street/layby ->
                                                              street; access=customers -> commercial;
                                                              access=private/residents/permit -> compound
                                                              when inside a landuse=residential area of the
                                                              same file, else office; anything else -> public.
ebike_charging_sites   amenity=charging_station nodes (areas  Only stations for two-wheelers: bicycle, scooter,
                       become their representative point)     e-bike or moped = yes/designated, or
                                                              motorcar=no; the rest (car chargers, untagged)
                                                              are skipped and counted in a warning.
                                                              ports <- capacity, else the sum of socket:<type>
                                                              counts, else **0 = unknown** (warned).
                                                              covered <- covered; status: removed if disused,
                                                              faulty if operational_status says broken, else
                                                              working.
=====================  =====================================  =================================================

Why 0 for missing households/ports rather than rejecting: both fields are required, and OSM in
Chinese cities rarely carries them, so rejecting would make OSM useless for what it does give a
planner (boundaries and locations). 0 is outside the plausible range of a real compound and marks
"unknown, to be surveyed"; the import warns with the count, and analyses must not read it as "none".

Broken areas: GDAL assembles a multipolygon even when a ring or member is broken (too few points,
a ring that collapses to a line). Such parts are dropped when what remains is a valid area (said
in a warning naming the OSM id); an area with nothing valid left is skipped, also named, so one
bad relation never refuses a whole extract.

Feature ids: OSM node/way/relation ids overlap between types, so none are kept; the store assigns
ids. Refresh an OSM-derived layer with ``--mode replace``. Tag values that the layer's types
cannot use (e.g. ``capacity=~50``, ``check_date=2023``) are left empty and counted in a warning.

Life-circle layers (GB 50180-2018 facilities and the walking network):

=====================  =====================================  =================================================
layer                  OSM features                           fields
=====================  =====================================  =================================================
service_facilities     nodes and areas (areas become their    category <- amenity=kindergarten/childcare ->
                       representative point) with one of the  kindergarten; school -> primary_school, or
                       tags in the next column                middle_school when isced:level=2/3 or the name
                                                              has 中学/初中; clinic/doctors -> health_station,
                                                              or health_centre when healthcare=centre or the
                                                              name has 卫生服务中心; hospital; pharmacy;
                                                              marketplace -> market; community_centre;
                                                              arts_centre -> culture_centre; social_facility
                                                              -> nursing_home (social_facility=nursing_home/
                                                              assisted_living), elderly_day_care (day_care or
                                                              social_facility:for=senior), else
                                                              community_service_station; shop=supermarket/
                                                              greengrocer -> market; shop=convenience ->
                                                              convenience_store; leisure=park -> park;
                                                              leisure=pitch/fitness_station -> fitness_ground;
                                                              leisure=sports_centre -> sports_centre;
                                                              highway=bus_stop -> bus_stop.
                                                              name; capacity <- capacity; status: closed if
                                                              disused=yes, opening_hours=closed or a
                                                              disused:* tag, under_construction if
                                                              construction=yes, else working.
roads                  ways with highway=* a pedestrian may   name; highway <- the class (primary, secondary,
                       use: not motorway(_link), construction tertiary, residential (+ living_street,
                       , proposed, raceway, bus_guideway,     unclassified), service, footway (+ sidewalk,
                       abandoned; not foot=no; not access=no  crossing, cycleway), path (+ track, bridleway),
                       /private unless foot=yes/designated/   pedestrian, steps; anything else -> other).
                       permissive; trunk(_link) only with     width_m <- width; sidewalk <- sidewalk (no/none
                       such a foot tag or a sidewalk.         -> false, any other value -> true).
=====================  =====================================  =================================================
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from ..catalog import LayerSpec
from ..catalog.validation import normalise_column

_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"=>(?:"((?:[^"\\]|\\.)*)"|NULL)')
_ESCAPE = re.compile(r"\\(.)")
_LEADING_INT = re.compile(r"^\s*(\d+)\s*$")
_YES = {"yes", "designated", "true", "1"}
UNNAMED = "未命名小区"


class OsmError(ValueError):
    """The OSM file cannot give features for the layer; the message says why."""


def parse_other_tags(text: str | None) -> dict[str, str]:
    """GDAL's ``other_tags`` text as a dict; robust to quotes, commas and '=>' inside values."""
    if not text or not isinstance(text, str):
        return {}
    return {_ESCAPE.sub(r"\1", k): _ESCAPE.sub(r"\1", v) for k, v in _PAIR.findall(text)}


def _read(path: Path, layer: str, where: str, notes: list[str] | None = None) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        # organizePolygons() complains about the broken rings that _repair_areas deals with below
        warnings.filterwarnings("ignore", message="organizePolygons", category=RuntimeWarning)
        try:
            frame = pyogrio.read_dataframe(path, layer=layer, where=where)
        except pyogrio.errors.FeatureError as e:
            if "Non increasing node id" not in str(e):
                raise
            # Files saved by editors (JOSM) may be unsorted; GDAL's fast node index needs sorted ids.
            frame = pyogrio.read_dataframe(path, layer=layer, where=where, USE_CUSTOM_INDEXING="NO")
    fixed = [c for c in frame.columns if c not in ("other_tags", "geometry")]
    raw = frame["other_tags"] if "other_tags" in frame else [None] * len(frame)
    tags = [parse_other_tags(t) for t in raw]
    for i, row in enumerate(frame[fixed].itertuples(index=False)):
        tags[i].update({k: v for k, v in zip(fixed, row, strict=True) if isinstance(v, str)})
    ids = [_osm_id(layer, t) for t in tags]
    found = gpd.GeoDataFrame({"tags": tags, "osm_id": ids}, geometry=frame.geometry.values, crs="EPSG:4326")
    return _repair_areas(found, notes if notes is not None else []) if layer == "multipolygons" else found


def _repair_areas(found: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    """Drop the broken rings of each area (fewer than 3 distinct points, or no area); skip an area
    with nothing valid left. Both are named by OSM id in ``notes``."""
    geoms = found.geometry.to_numpy(dtype=object).copy()
    keep = np.ones(len(geoms), dtype=bool)
    repaired, skipped = [], []
    for pos, geom in enumerate(geoms):
        if geom is None or geom.is_empty or shapely.is_valid(geom):
            continue
        fixed = _without_broken_rings(geom)
        label = _label(found["osm_id"].iloc[pos], found["tags"].iloc[pos])
        if fixed is None:
            keep[pos] = False
            skipped.append(label)
        elif fixed is not geom:
            geoms[pos] = fixed
            repaired.append(label)
    if repaired:
        notes.append(f"{len(repaired)} OSM area(s) had a broken ring or member (too few points), dropped, the "
                     f"rest kept: {_listed(repaired)}")
    if skipped:
        notes.append(f"{len(skipped)} OSM area(s) skipped, no valid ring left: {_listed(skipped)}")
    out = found.copy()
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=out.index, crs=out.crs)
    return out.loc[keep].reset_index(drop=True)


def _without_broken_rings(geom):
    """The area without its degenerate rings (and holes), or ``geom`` itself when its fault is another
    one (validation repairs or names it), or None when no ring is left."""
    polygons = []
    dropped = False
    for part in shapely.get_parts(geom):
        if part.geom_type != "Polygon":
            continue
        if not _ring_ok(part.exterior):
            dropped = True
            continue
        holes = [r for r in part.interiors if _ring_ok(r)]
        dropped = dropped or len(holes) != len(part.interiors)
        polygons.append(shapely.Polygon(part.exterior, holes))
    if not polygons:
        return None
    if not dropped:
        return geom
    fixed = shapely.MultiPolygon(polygons) if len(polygons) > 1 else polygons[0]
    if not fixed.is_valid:
        fixed = shapely.make_valid(fixed)
        areas = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
        fixed = shapely.union_all(areas) if areas else None
    return fixed if fixed is not None and not fixed.is_empty else None


def _ring_ok(ring) -> bool:
    return len(set(ring.coords)) >= 3 and shapely.Polygon(ring).area > 0


def _label(osm_id: str | None, tags: dict[str, str]) -> str:
    name = tags.get("name") or tags.get("name:zh")
    return f"{osm_id or 'OSM element'}" + (f" ({name})" if name else "")


def _listed(labels: list[str], limit: int = 10) -> str:
    return ", ".join(labels[:limit]) + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def unnamed_name(osm_id: str | None) -> str:
    """The name an unnamed residential area gets: says it is generated and which OSM element it is."""
    kind, _, number = (osm_id or "").partition("/")
    return f"{UNNAMED} (OSM {kind} {number})" if number else UNNAMED


def _osm_id(layer: str, tags: dict[str, str]) -> str | None:
    """The element's OSM id as ``node/1``, ``way/2`` or ``relation/3``: the source id of what it becomes."""
    if layer == "points":
        return f"node/{tags['osm_id']}" if tags.get("osm_id") else None
    if layer == "lines":  # GDAL's lines layer holds ways only
        return f"way/{tags['osm_id']}" if tags.get("osm_id") else None
    if tags.get("osm_way_id"):
        return f"way/{tags['osm_way_id']}"
    return f"relation/{tags['osm_id']}" if tags.get("osm_id") else None


def _features(path: Path, key: str, value: str, notes: list[str]) -> gpd.GeoDataFrame:
    """Nodes and areas tagged key=value (the area layer has ``amenity``/``landuse`` as columns)."""
    pattern = f"%\"{key}\"=>\"{value}\"%"
    points = _read(path, "points", f"other_tags LIKE '{pattern}'")
    areas = _read(path, "multipolygons", f"{key} = '{value}'", notes)
    both = pd.concat([points, areas], ignore_index=True)
    keep = [t.get(key) == value for t in both["tags"]]
    return gpd.GeoDataFrame(both.loc[keep].reset_index(drop=True), geometry="geometry", crs="EPSG:4326")


def _int(text: str | None) -> int | None:
    match = _LEADING_INT.match(text or "")
    return int(match.group(1)) if match else None


def _yes(tags: dict[str, str], key: str) -> bool:
    return tags.get(key, "").strip().lower() in _YES


# --------------------------------------------------------------------------- per layer

def _compounds(path: Path, warnings: list[str]) -> gpd.GeoDataFrame:
    found = _read(path, "multipolygons", "landuse = 'residential'", warnings)
    rows, geoms, unnamed, no_households = [], [], 0, 0
    for tags, osm_id, geom in zip(found["tags"], found["osm_id"], found.geometry, strict=True):
        name = tags.get("name") or tags.get("name:zh")
        if not name:
            unnamed += 1
            name = unnamed_name(osm_id)
        households = _int(tags.get("addr:households")) or _int(tags.get("building:flats"))
        if households is None:
            no_households += 1
            households = 0
        year = re.match(r"^\s*(\d{4})", tags.get("start_date", ""))
        rows.append({"osm_id": osm_id, "name": name, "district": tags.get("addr:district"),
                     "street": tags.get("addr:subdistrict"), "build_year": int(year.group(1)) if year else None,
                     "households": households})
        geoms.append(geom)
    if unnamed:
        warnings.append(f"{unnamed} unnamed areas named by their OSM id (e.g. {UNNAMED} (OSM way 123)); "
                        "rename them when their real names are known")
    if no_households:
        warnings.append(f"{no_households} compound(s) have no addr:households or building:flats tag: households "
                        "set to 0 (unknown); fill them in before parking or charging analyses")
    return _frame(rows, geoms)


_HYDRANT_STATUS = {
    "operational": "working", "ok": "working", "working": "working", "good": "working",
    "broken": "faulty", "out_of_order": "faulty", "defective": "faulty", "needs_maintenance": "faulty",
    "damaged": "faulty", "faulty": "faulty", "under_repair": "under_repair", "repair": "under_repair",
    "closed": "out_of_service", "removed": "out_of_service", "out_of_service": "out_of_service",
}
_HYDRANT_KIND = {"pillar": "above_ground", "underground": "underground", "wall": "wall"}


def _hydrant_status(tags: dict[str, str]) -> str:
    if "disused:emergency" in tags or _yes(tags, "disused") or _yes(tags, "abandoned"):
        return "out_of_service"
    status = tags.get("operational_status")
    if status is None:
        return "working"
    return _HYDRANT_STATUS.get(status.strip().lower(), "unknown")


def _flow_lps(text: str | None) -> float | None:
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z0-9/³]*)\s*$", text or "")
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2).lower().replace("³", "3")
    per_unit = {"": 1 / 60, "l/min": 1 / 60, "lpm": 1 / 60, "l/s": 1.0, "m3/h": 1 / 3.6}
    return round(value * per_unit[unit], 3) if unit in per_unit else None


def _hydrants(path: Path, warnings: list[str]) -> gpd.GeoDataFrame:
    found = _read(path, "points", "other_tags LIKE '%emergency\"=>\"fire_hydrant\"%'")
    rows, geoms = [], []
    for tags, osm_id, geom in zip(found["tags"], found["osm_id"], found.geometry, strict=True):
        if "fire_hydrant" not in (tags.get("emergency"), tags.get("disused:emergency")):
            continue
        rows.append({"osm_id": osm_id, "kind": _HYDRANT_KIND.get(tags.get("fire_hydrant:type", "").strip().lower()),
                     "status": _hydrant_status(tags), "last_inspected": tags.get("check_date"),
                     "flow_lps": _flow_lps(tags.get("flow_rate"))})
        geoms.append(geom)
    return _frame(rows, geoms)


def _parking(path: Path, warnings: list[str]) -> gpd.GeoDataFrame:
    found = _features(path, "amenity", "parking", warnings)
    residential = _read(path, "multipolygons", "landuse = 'residential'").geometry.values
    inside = np.zeros(len(found), dtype=bool)
    if len(found) and len(residential):
        where = shapely.point_on_surface(found.geometry.values)
        hits, _ = shapely.STRtree(residential).query(where, predicate="within")
        inside[hits] = True
    rows = []
    for tags, osm_id, in_residential in zip(found["tags"], found["osm_id"], inside, strict=True):
        access = tags.get("access", "").strip().lower()
        if tags.get("parking", "").strip().lower() in ("street_side", "lane", "on_street", "layby"):
            kind = "street"
        elif access == "customers":
            kind = "commercial"
        elif access in ("private", "residents", "permit"):
            kind = "compound" if in_residential else "office"
        else:
            kind = "public"
        rows.append({"osm_id": osm_id, "name": tags.get("name"), "kind": kind, "capacity": tags.get("capacity"),
                     "fee": tags.get("fee"), "open_hours": tags.get("opening_hours")})
    return _frame(rows, list(found.geometry.values))


def _two_wheeler(tags: dict[str, str]) -> bool:
    return (any(_yes(tags, k) for k in ("bicycle", "scooter", "e_bike", "ebike", "moped"))
            or tags.get("motorcar", "").strip().lower() == "no")


def _ports(tags: dict[str, str]) -> int | None:
    capacity = _int(tags.get("capacity"))
    if capacity is not None:
        return capacity
    sockets = [_int(v) for k, v in tags.items() if re.fullmatch(r"socket:[^:]+", k)]
    counts = [s for s in sockets if s is not None]
    return sum(counts) if counts else None


def _charging(path: Path, warnings: list[str]) -> gpd.GeoDataFrame:
    found = _features(path, "amenity", "charging_station", warnings)
    rows, geoms, skipped, no_ports = [], [], 0, 0
    for tags, osm_id, geom in zip(found["tags"], found["osm_id"], found.geometry, strict=True):
        if not _two_wheeler(tags):
            skipped += 1
            continue
        ports = _ports(tags)
        if ports is None:
            no_ports += 1
            ports = 0
        if _yes(tags, "disused"):
            status = "removed"
        elif tags.get("operational_status", "").strip().lower() in ("broken", "out_of_order", "defective"):
            status = "faulty"
        else:
            status = "working"
        covered = tags.get("covered")
        rows.append({"osm_id": osm_id, "name": tags.get("name"), "ports": ports, "status": status,
                     "covered": covered if covered in ("yes", "no") else None})
        geoms.append(geom if geom.geom_type == "Point" else shapely.point_on_surface(geom))
    if skipped:
        warnings.append(f"{skipped} charging station(s) skipped as not for e-bikes (no bicycle/scooter/e_bike/"
                        "moped=yes and no motorcar=no)")
    if no_ports:
        warnings.append(f"{no_ports} e-bike charging site(s) have no capacity or socket:* tag: ports set to 0 "
                        "(unknown)")
    return _frame(rows, geoms)


# ------------------------------------------------------------------ life circles (facilities, roads)

_AMENITY_CATEGORY = {
    "kindergarten": "kindergarten", "childcare": "kindergarten", "hospital": "hospital", "pharmacy": "pharmacy",
    "marketplace": "market", "community_centre": "community_centre", "arts_centre": "culture_centre",
}
_SHOP_CATEGORY = {"supermarket": "market", "greengrocer": "market", "convenience": "convenience_store"}
_LEISURE_CATEGORY = {"park": "park", "pitch": "fitness_ground", "fitness_station": "fitness_ground",
                     "sports_centre": "sports_centre"}


def _school(tags: dict[str, str]) -> str:
    name = tags.get("name", "") + tags.get("name:zh", "")
    level = tags.get("isced:level", "")
    return "middle_school" if "中学" in name or "初中" in name or level[:1] in ("2", "3") else "primary_school"


def _clinic(tags: dict[str, str]) -> str:
    centre = tags.get("healthcare") == "centre" or "卫生服务中心" in tags.get("name", "")
    return "health_centre" if centre else "health_station"


def _social(tags: dict[str, str]) -> str:
    kind = tags.get("social_facility", "")
    if kind in ("nursing_home", "assisted_living"):
        return "nursing_home"
    if kind == "day_care" or tags.get("social_facility:for") == "senior":
        return "elderly_day_care"
    return "community_service_station"


def facility_category(tags: dict[str, str]) -> str | None:
    """The GB 50180-2018 facility category of an OSM element, None when it is not one."""
    amenity = tags.get("amenity", "")
    if amenity == "school":
        return _school(tags)
    if amenity in ("clinic", "doctors"):
        return _clinic(tags)
    if amenity == "social_facility":
        return _social(tags)
    if amenity in _AMENITY_CATEGORY:
        return _AMENITY_CATEGORY[amenity]
    if tags.get("shop") in _SHOP_CATEGORY:
        return _SHOP_CATEGORY[tags["shop"]]
    if tags.get("leisure") in _LEISURE_CATEGORY:
        return _LEISURE_CATEGORY[tags["leisure"]]
    return "bus_stop" if tags.get("highway") == "bus_stop" else None


def _facility_status(tags: dict[str, str]) -> str:
    if (_yes(tags, "disused") or tags.get("opening_hours", "").strip().lower() == "closed"
            or any(k.startswith("disused:") for k in tags)):
        return "closed"
    return "under_construction" if _yes(tags, "construction") else "working"


def _facilities(path: Path, warnings: list[str]) -> gpd.GeoDataFrame:
    keys = ("amenity", "shop", "leisure")
    likes = " OR ".join(f"other_tags LIKE '%\"{k}\"=>%'" for k in keys)
    points = _read(path, "points", f"highway = 'bus_stop' OR {likes}")
    areas = _read(path, "multipolygons", " OR ".join(f"{k} IS NOT NULL" for k in keys))
    found = pd.concat([points, areas], ignore_index=True)
    rows, geoms = [], []
    for tags, osm_id, geom in zip(found["tags"], found["osm_id"], found.geometry, strict=True):
        category = facility_category(tags)
        if category is None:
            continue
        rows.append({"osm_id": osm_id, "category": category, "name": tags.get("name") or tags.get("name:zh"),
                     "capacity": tags.get("capacity"), "status": _facility_status(tags)})
        geoms.append(geom if geom.geom_type == "Point" else shapely.point_on_surface(geom))
    return _frame(rows, geoms)


_NOT_WALKABLE = {"motorway", "motorway_link", "construction", "proposed", "raceway", "bus_guideway", "abandoned"}
_FOOT_OK = {"yes", "designated", "permissive"}
_ROAD_CLASS = {
    "primary": "primary", "primary_link": "primary", "secondary": "secondary", "secondary_link": "secondary",
    "tertiary": "tertiary", "tertiary_link": "tertiary", "residential": "residential",
    "living_street": "residential", "unclassified": "residential", "service": "service", "footway": "footway",
    "sidewalk": "footway", "crossing": "footway", "cycleway": "footway", "path": "path", "track": "path",
    "bridleway": "path", "pedestrian": "pedestrian", "steps": "steps",
}


def walkable(tags: dict[str, str]) -> bool:
    """Whether a pedestrian may use a highway=* way (the rules in this module's table)."""
    highway = tags.get("highway", "")
    foot = tags.get("foot", "").strip().lower()
    if not highway or highway in _NOT_WALKABLE or foot == "no":
        return False
    if tags.get("access", "").strip().lower() in ("no", "private") and foot not in _FOOT_OK:
        return False
    if highway in ("trunk", "trunk_link"):
        return foot in _FOOT_OK or tags.get("sidewalk", "no").strip().lower() not in ("no", "none", "")
    return True


def _roads(path: Path, warnings: list[str]) -> gpd.GeoDataFrame:
    found = _read(path, "lines", "highway IS NOT NULL")
    rows, geoms, skipped = [], [], 0
    for tags, osm_id, geom in zip(found["tags"], found["osm_id"], found.geometry, strict=True):
        if not walkable(tags):
            skipped += 1
            continue
        sidewalk = tags.get("sidewalk", "").strip().lower()
        rows.append({"osm_id": osm_id, "name": tags.get("name"), "width_m": tags.get("width"),
                     "highway": _ROAD_CLASS.get(tags["highway"], "other"),
                     "sidewalk": {"no": False, "none": False, "": None}.get(sidewalk, True)})
        geoms.append(geom)
    if skipped:
        warnings.append(f"{skipped} highway way(s) skipped as not walkable (motorway, foot=no, private, ...)")
    return _frame(rows, geoms)


def _frame(rows: list[dict[str, Any]], geoms: list) -> gpd.GeoDataFrame:
    table = pd.DataFrame(rows, dtype=object)  # keep None as None (validation types the columns)
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")


MAPPERS: dict[str, Callable[[Path, list[str]], gpd.GeoDataFrame]] = {
    "compounds": _compounds,
    "fire_hydrants": _hydrants,
    "parking_facilities": _parking,
    "ebike_charging_sites": _charging,
    "service_facilities": _facilities,
    "roads": _roads,
}


def read_osm(path: Path, spec: LayerSpec) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The features of ``spec``'s layer in an OSM file, columns named like its fields, plus warnings."""
    mapper = MAPPERS.get(spec.id)
    if mapper is None:
        raise OsmError(f"there is no OSM mapping for layer {spec.id!r}; OSM files import into "
                       f"{', '.join(MAPPERS)}")
    warnings: list[str] = []
    frame = mapper(Path(path), warnings)
    _drop_unusable(frame, spec, warnings)
    return frame, warnings


def _drop_unusable(frame: gpd.GeoDataFrame, spec: LayerSpec, warnings: list[str]) -> None:
    """Blank tag values the field cannot take (type, allowed values, bounds): free-form tags never fail an import."""
    for fspec in spec.fields:
        if fspec.name not in frame.columns:
            continue
        errors = normalise_column(frame[fspec.name], fspec).errors
        if not errors:
            continue
        values = frame[fspec.name].to_numpy(dtype=object, copy=True)
        values[list(errors)] = None
        frame[fspec.name] = pd.Series(values, index=frame.index, dtype=object)
        bad = Counter(str(value) for _, value in errors.values())
        examples = ", ".join(repr(v) for v, _ in bad.most_common(3))
        warnings.append(f"{len(errors)} OSM value(s) for {fspec.name} could not be used and were left empty "
                        f"(e.g. {examples})")
