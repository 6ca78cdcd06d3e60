"""The nearest working facility of each life-circle category from one compound, and the walk to it as a line.

The walk is the life circle's (:mod:`.life_circle`): it leaves the compound at an entrance (a road
node within ``entry_reach_m`` of its boundary), follows the shortest path through the walking network
(:mod:`.network`) and ends with the straight leg from the facility's nearest node. One bounded
Dijkstra from the compound's entrances answers every category; the route is rebuilt from its
predecessors, so its length is the distance reported. Where the network covers the compound or the
facility not (farther than ``snap_max_m``), the distance is straight line x ``detour_factor`` and the
route is the straight segment from the compound's boundary, flagged ``estimated`` (its length is then
the straight line, not the distance).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .frames import geometries, known, lonlat, result_frame, text, to_metric
from .life_circle import Rules, compound_entrances
from .network import RoadNetwork
from .params import split_list


@dataclass(frozen=True)
class Facilities:
    """The counted (working) facilities of a layer in a metric CRS, prepared once for many compounds."""

    ids: np.ndarray
    names: np.ndarray
    category: np.ndarray
    points: np.ndarray
    tree: shapely.STRtree  # over ``points``: a compound looks only at facilities within max_walk_m


def counted_facilities(service_facilities: gpd.GeoDataFrame | None, crs, **rules) -> Facilities:
    """The facilities that serve (status in ``facility_statuses``, or no status), sorted by id."""
    r = Rules(**rules)
    if service_facilities is None or not len(service_facilities):
        empty = np.empty(0, dtype=object)
        return Facilities(np.empty(0, dtype=np.int64), empty, empty, empty, shapely.STRtree(empty))
    fac_m = to_metric(service_facilities, crs)
    keep = np.isin(text(fac_m, "status"), split_list(r.facility_statuses)) | ~known(fac_m, "status")
    keep &= ~shapely.is_missing(geometries(fac_m)) & ~shapely.is_empty(geometries(fac_m))
    fac_m = fac_m[keep]
    points = shapely.point_on_surface(geometries(fac_m))
    return Facilities(fac_m.index.to_numpy(np.int64), text(fac_m, "name"), text(fac_m, "category"), points,
                      shapely.STRtree(points))


@dataclass(frozen=True)
class _Walks:
    """Walks from one compound to the candidate facilities ``at`` (positions in :class:`Facilities`)."""

    at: np.ndarray
    metres: np.ndarray
    estimated: np.ndarray
    node: np.ndarray  # each candidate's nearest network node (where routed)
    pred: np.ndarray | None  # Dijkstra predecessors from the compound's entrances


def _walks(poly, fac: Facilities, wanted: list[str], net: RoadNetwork | None, r: Rules) -> _Walks:
    """Walks to the facilities of the ``wanted`` categories within ``max_walk_m`` in a straight line (no
    walk is shorter), by the network where it covers both ends, else straight line x detour factor."""
    near = fac.tree.query(poly, predicate="dwithin", distance=r.max_walk_m)
    at = np.sort(near[np.isin(fac.category[near], wanted)])
    straight = shapely.distance(poly, fac.points[at]) * r.detour_factor
    metres, estimated = straight, np.ones(len(at), dtype=bool)
    node, pred = np.zeros(len(at), dtype=np.int64), None
    (_, ni, leg), covered = compound_entrances(net, np.array([poly], dtype=object), r)
    if net is not None and covered[0] and len(at):
        dist, pred = net.walk_from(ni, leg, r.max_walk_m)
        node, f_leg = net.snap(fac.points[at])
        on = f_leg <= r.snap_max_m
        metres = np.where(on, dist[node] + f_leg, straight)
        estimated = ~on
    return _Walks(at, np.where(metres > r.max_walk_m, np.inf, metres), estimated, node, pred)


def _route(poly, point, net: RoadNetwork | None, walks: _Walks, k: int) -> shapely.LineString:
    """Boundary -> entrance node -> network path -> facility node -> facility (or the straight segment)."""
    if walks.estimated[k]:
        return shapely.shortest_line(poly, point)
    nodes = net.path(walks.pred, int(walks.node[k]))
    start = shapely.get_coordinates(shapely.shortest_line(poly, net.nodes[nodes[0]]))[0]
    coords = np.vstack([start, net.xy[nodes], shapely.get_coordinates(point)])
    keep = np.r_[True, np.any(coords[1:] != coords[:-1], axis=1)]  # zero-length legs add no vertex
    coords = coords[keep]
    line = shapely.LineString(coords if len(coords) > 1 else np.vstack([coords, coords]))
    return shapely.simplify(line, 0.01)  # the 25 m pieces' collinear vertices go; the length stays


def nearest_facilities(compound: gpd.GeoDataFrame, facilities: Facilities, net: RoadNetwork | None, crs,
                       categories: list[str] | None = None, **rules) -> gpd.GeoDataFrame:
    """Per required category (all, or ``categories`` in the standard's order) of one compound (a one-row
    frame): the nearest counted facility by walking distance and the route to it (lon/lat), its
    distance, minutes at ``walk_speed_m_per_min``, the category's circle and whether the walk lies
    within its radius. A category with nothing within ``max_walk_m`` has no facility and no route."""
    r = Rules(**rules)
    compound_m = to_metric(compound, crs)
    poly = geometries(compound_m)[0]
    cats = [(c, m) for c, m in r.categories() if categories is None or c in categories]
    walks = _walks(poly, facilities, [c for c, _ in cats], net, r)
    rows, routes = [], []
    for cat, minutes in cats:
        mine = np.flatnonzero(facilities.category[walks.at] == cat)
        k = mine[np.argmin(walks.metres[mine])] if len(mine) else None  # ties: the lowest id (sorted by id)
        found = k is not None and np.isfinite(walks.metres[k])
        best = walks.at[k] if found else None
        metres = float(walks.metres[k]) if found else np.nan
        radius = r.radius(minutes)
        rows.append({"category": cat, "circle": minutes, "radius_m": radius,
                     "facility_id": int(facilities.ids[best]) if found else None,
                     "facility_name": facilities.names[best] if found else None,
                     "distance_m": round(metres, 1), "minutes": round(metres / r.walk_speed_m_per_min, 1),
                     "within_circle": bool(found and round(metres, 2) <= radius),
                     "estimated": bool(found and walks.estimated[k])})
        routes.append(_route(poly, facilities.points[best], net, walks, k) if found else None)
    table = pd.DataFrame(rows, columns=["category", "circle", "radius_m", "facility_id", "facility_name",
                                        "distance_m", "minutes", "within_circle", "estimated"])
    table.insert(0, "compound_id", compound_m.index.to_numpy()[0])
    table["facility_id"] = table["facility_id"].astype("Int64")
    table[["distance_m", "minutes"]] = table[["distance_m", "minutes"]].astype(float)  # missing: NaN
    return result_frame(table, lonlat(np.asarray(routes, dtype=object), crs),
                        index=pd.RangeIndex(len(rows)))
