"""The pure compound analyses: counts, parking supply, and exact hydrant coverage."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geo_service.analysis import compound_assets as ca
from geo_service.crs import metric_crs

ORIGIN = (121.40, 31.12)  # 梅陇, 闵行区
LOCAL = pyproj.CRS.from_proj4(f"+proj=aeqd +lon_0={ORIGIN[0]} +lat_0={ORIGIN[1]} +datum=WGS84 +units=m")
TO_LONLAT = pyproj.Transformer.from_crs(LOCAL, "EPSG:4326", always_xy=True)
GEOD = pyproj.Geod(ellps="WGS84")


def lonlat(geom):
    """A geometry drawn in local metres (origin at ORIGIN) as lon/lat."""
    return shapely.transform(geom, lambda xy: np.column_stack(TO_LONLAT.transform(xy[:, 0], xy[:, 1])))


def ground_m(a, b) -> float:
    return GEOD.inv(a.x, a.y, b.x, b.y)[2]


SQUARE = lonlat(shapely.box(0, 0, 300, 300))
CRS = metric_crs(SQUARE.bounds)


# ---------------------------------------------------------------------------------- exact farthest point

def test_farthest_from_one_corner_is_the_opposite_corner():
    xy, d = ca.farthest_from_sites(shapely.box(0, 0, 300, 300), np.array([[0.0, 0.0]]))
    assert d == pytest.approx(300 * math.sqrt(2), abs=1e-6)
    assert xy == pytest.approx([300, 300], abs=1e-6)


def test_farthest_can_be_a_voronoi_vertex_inside():
    # four corner sites: every boundary point is within 100 m of one; the centre is 100·√2 from all
    xy, d = ca.farthest_from_sites(shapely.box(0, 0, 200, 200), np.array([[0, 0], [200, 0], [0, 200], [200, 200]]))
    assert d == pytest.approx(100 * math.sqrt(2), abs=1e-6)
    assert xy == pytest.approx([100, 100], abs=1e-6)


def test_farthest_on_an_edge_between_two_sites():
    # sites below the bottom edge at x=0 and x=300: on the top edge (y=100) the worst point is the
    # bisector crossing (150, 100), √(150² + 110²) away; the top corners are only √(0² + 110²) away
    xy, d = ca.farthest_from_sites(shapely.box(0, 0, 300, 100), np.array([[0, -10], [300, -10]]))
    assert d == pytest.approx(math.hypot(150, 110), abs=1e-6)
    assert xy == pytest.approx([150, 100], abs=1e-6)


def test_duplicate_and_collinear_sites():
    sites = np.array([[0, -50], [0, -50], [100, -50], [200, -50], [300, -50]])
    xy, d = ca.farthest_from_sites(shapely.box(0, 0, 300, 100), sites)
    assert d == pytest.approx(math.hypot(50, 150), abs=1e-6)  # top edge, halfway between two sites


@pytest.mark.parametrize("seed", range(8))
def test_farthest_matches_dense_sampling(seed):
    """Exact answer >= every sample, and within the sampling step of the best sample."""
    rng = np.random.default_rng(seed)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 11))
    radii = rng.uniform(80, 300, 11)
    region = shapely.Polygon(np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])).buffer(0)
    if seed % 2:
        region = region.difference(shapely.Point(0, 0).buffer(30))  # a hole: its rim is boundary too
    sites = rng.uniform(-400, 400, (int(rng.integers(1, 12)), 2))
    xy, d = ca.farthest_from_sites(region, sites)

    step = 1.0
    minx, miny, maxx, maxy = region.bounds
    gx, gy = np.meshgrid(np.arange(minx, maxx, step), np.arange(miny, maxy, step))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    grid = grid[shapely.contains_xy(region, grid[:, 0], grid[:, 1])]
    rim = shapely.get_coordinates(shapely.segmentize(region.boundary, step / 2))
    samples = np.vstack([grid, rim])
    sampled = np.sqrt(((samples[:, None, :] - sites[None, :, :]) ** 2).sum(-1)).min(1)
    assert shapely.dwithin(region, shapely.Point(xy), 1e-6)
    assert d >= sampled.max() - 1e-6
    assert d <= sampled.max() + step * math.sqrt(2) / 2 + 1e-6


# ---------------------------------------------------------------------------------- in lon/lat

def test_hydrant_coverage_of_a_square_from_one_corner():
    corner = lonlat(shapely.Point(0, 0))
    cov = ca.hydrant_coverage(SQUARE, [corner], CRS)
    opposite = lonlat(shapely.Point(300, 300))
    assert cov.farthest_m == pytest.approx(300 * math.sqrt(2), abs=1.0)
    assert ground_m(shapely.Point(cov.farthest_lon, cov.farthest_lat), opposite) < 1.0
    assert cov.hydrants == 1
    assert not cov.fully_covered
    assert cov.covered_share == pytest.approx(math.pi * 150**2 / 4 / 300**2, rel=0.01)  # a quarter disc

    wide = ca.hydrant_coverage(SQUARE, [corner], CRS, radius_m=430)
    assert wide.fully_covered and wide.covered_share == pytest.approx(1.0, abs=1e-3)


def test_no_hydrants_means_nothing_covered():
    cov = ca.hydrant_coverage(SQUARE, [], CRS)
    assert cov.farthest_m is None and cov.farthest_lon is None
    assert not cov.fully_covered and cov.covered_share == 0.0


def test_reach_is_the_farthest_vertex():
    corner = lonlat(shapely.Point(0, 0))
    assert ca.hydrant_reach_m(SQUARE, corner, CRS) == pytest.approx(300 * math.sqrt(2), abs=1.0)


def test_area_and_centroid_in_metres():
    assert ca.area_m2(SQUARE, CRS) == pytest.approx(90_000, rel=1e-3)
    assert ground_m(ca.centroid_lonlat(SQUARE, CRS), lonlat(shapely.Point(150, 150))) < 0.5


# ---------------------------------------------------------------------------------- counts and parking

def test_status_counts_lists_every_allowed_value():
    values = pd.Series(["working", "faulty", "working", None], dtype=object)
    counts = ca.status_counts(values, ["working", "faulty", "unknown"])
    assert counts == {"working": 2, "faulty": 1, "unknown": 0, ca.UNSET: 1}
    assert ca.status_counts(pd.Series([], dtype=object), ["open"]) == {"open": 0}


def test_per_100_households():
    assert ca.per_100_households({"fire_hydrants": 3, "ebike_charging_sites": 0}, 1500) == {
        "fire_hydrants": 0.2, "ebike_charging_sites": 0.0}
    assert ca.per_100_households({"fire_hydrants": 3}, 0) == {"fire_hydrants": None}
    assert ca.per_100_households({"fire_hydrants": 3}, None) == {"fire_hydrants": None}


def test_parking_supply_counts_own_car_parks_inside_only():
    lots = gpd.GeoDataFrame(
        {"kind": ["compound", "public", "compound", "compound"], "capacity": [120, 50, 30, pd.NA]},
        geometry=[lonlat(shapely.Point(100, 100)),  # own car park inside: counted
                  lonlat(shapely.Point(200, 200)),  # public lot inside: not the compound's supply
                  lonlat(shapely.Point(150, 360)),  # own kind but across the road: not counted
                  lonlat(shapely.box(20, 20, 60, 60))],  # polygon inside, capacity unknown: counted as 0
        crs="EPSG:4326")
    s = ca.parking_supply(SQUARE, 200, lots)
    # total is the larger of the two, not their sum: own car parks usually are the compound's spaces
    assert (s.compound_spaces, s.facilities, s.facilities_capacity, s.total) == (200, 2, 120, 200)
    empty = ca.parking_supply(SQUARE, None, lots.iloc[:0])
    assert (empty.compound_spaces, empty.facilities, empty.total) == (0, 0, 0)
