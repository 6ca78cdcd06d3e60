"""E-bike charging coverage (电动自行车集中充电): ports per 100 households against the target.

A charging site serves one compound: the one it stands in, else the nearest compound within
``reach_m`` of its boundary (ties to the lower id). Serving one compound only keeps ports from
being counted twice where compounds face each other across a road. Only sites whose status is
counted (working; a site without a status counts) add ports; the others are listed. A site without
a recorded sprinkler counts as lacking one (简易喷淋, Minhang guide item 12): someone has to check.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from . import defaults as D
from .frames import choose_crs, flag, geometries, known, lonlat_of, num, result_frame, text, to_metric
from .params import split_list
from .result import AnalysisResult


def serving_compound(sites: np.ndarray, polys: np.ndarray, reach_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Position of the compound each site serves (-1: none in reach) and the distance to it."""
    owner = np.full(len(sites), -1, dtype=np.int64)
    dist = np.full(len(sites), np.nan)
    if not len(sites) or not len(polys):
        return owner, dist
    si, ci = shapely.STRtree(polys).query(sites, predicate="dwithin", distance=reach_m)
    d = shapely.distance(sites[si], polys[ci])
    order = np.lexsort((ci, d, si))  # per site: nearest first (inside = 0), then the lower id
    si, ci, d = si[order], ci[order], d[order]
    first = np.ones(len(si), dtype=bool)
    first[1:] = si[1:] != si[:-1]
    owner[si[first]] = ci[first]
    dist[si[first]] = d[first]
    return owner, dist


def charging_coverage(compounds: gpd.GeoDataFrame, ebike_charging_sites: gpd.GeoDataFrame, *,
                      reach_m: float = D.REACH_M.default,
                      target_ports_per_100_households: float = D.TARGET_PORTS.default,
                      counted_statuses: str = D.COUNTED_STATUSES.default,
                      metric_crs: str | None = None) -> AnalysisResult:
    """Parts: ``compounds`` (polygons: sites, ports per 100 households, shortfall, sites without sprinkler;
    compounds with no charging first) and ``sites`` (points, with the compound each serves)."""
    crs = choose_crs([compounds], metric_crs)
    compounds_m = to_metric(compounds, crs)
    sites_m = to_metric(ebike_charging_sites, crs)
    polys, points = geometries(compounds_m), geometries(sites_m)
    n = len(polys)
    owner, dist = serving_compound(points, polys, reach_m)
    status = text(sites_m, "status")
    counted = np.isin(status, split_list(counted_statuses)) | ~known(sites_m, "status")
    ports = np.nan_to_num(num(sites_m, "ports"))
    sprinkler = flag(sites_m, "has_sprinkler")
    serves = counted & (owner >= 0)
    at = owner[serves]

    households = np.nan_to_num(num(compounds_m, "households"))
    n_sites = np.bincount(at, minlength=n)
    n_ports = np.bincount(at, weights=ports[serves], minlength=n)
    per_100 = np.divide(100.0 * n_ports, households, out=np.full(n, np.nan), where=households > 0)
    wanted = np.ceil(np.round(households * target_ports_per_100_households / 100.0, 6))
    table = {
        "name": text(compounds_m, "name"),
        "district": text(compounds_m, "district"),
        "street": text(compounds_m, "street"),
        "households": households.astype(np.int64),
        "sites": n_sites,
        "ports": n_ports.astype(np.int64),
        "ports_per_100_households": np.round(per_100, 2),
        "target_per_100_households": np.full(n, target_ports_per_100_households),
        "port_shortfall": np.maximum(wanted - n_ports, 0).astype(np.int64),
        "meets_target": n_ports >= wanted,
        "sites_without_sprinkler": np.bincount(at[~sprinkler[serves]], minlength=n),
        "sites_not_counted": np.bincount(owner[~counted & (owner >= 0)], minlength=n),
        "no_charging": n_sites == 0,
    }
    part = result_frame(table, lonlat_of(compounds_m), index=compounds_m.index)
    part = part.iloc[np.lexsort((part.index.to_numpy(), -table["port_shortfall"], ~table["no_charging"]))]

    ids = compounds_m.index.to_numpy()
    has_owner = owner >= 0
    sites = result_frame({
        "name": text(sites_m, "name"),
        "compound_id": np.where(has_owner, ids[np.maximum(owner, 0)], None),
        "compound_name": np.where(has_owner, text(compounds_m, "name")[np.maximum(owner, 0)], None),
        "distance_m": np.round(dist, 1),
        "ports": ports.astype(np.int64),
        "status": status,
        "counted": counted,
        "has_sprinkler": sprinkler,
    }, lonlat_of(sites_m), index=sites_m.index)

    summary = {
        "compounds": n,
        "compounds_without_charging": int(table["no_charging"].sum()),
        "compounds_meeting_target": int(table["meets_target"].sum()),
        "sites": len(points),
        "sites_serving_a_compound": int(serves.sum()),
        "sites_without_sprinkler": int((serves & ~sprinkler).sum()),
        "ports": int(ports[serves].sum()),
        "port_shortfall": int(table["port_shortfall"].sum()),
    }
    return AnalysisResult({"compounds": part, "sites": sites}, summary, crs.to_string())
