"""Where points join the walking network: on the nearest edge (not node), and on every edge tied for nearest.

Found by the CRS-invariance property test: a compound midway between two streets that do not meet joined one
street in EPSG:4326 and the other in EPSG:4549 (1e-9 m apart), so a lot on the first street was in reach in
one CRS and unreachable in the other; and joining at the nearest node made walks jump by up to a node spacing.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo_service.analysis.network import RoadNetwork


def test_a_point_midway_between_two_streets_may_use_either():
    streets = np.array([shapely.LineString([(0, 0), (1000, 0)]), shapely.LineString([(0, 400), (1000, 400)])])
    net = RoadNetwork(streets)
    lot = shapely.Point(600, -100)  # beside the first street only
    for wobble in (-1e-9, 0.0, 1e-9):
        start = shapely.Point(500, 200 + wobble)  # 200 m from both streets
        got = net.pair_distances(np.array([start]), np.array([lot]), 10_000)[0]
        assert got == pytest.approx(200 + 100 + 100, abs=1e-6)


def test_joining_on_the_edge_is_continuous():
    net = RoadNetwork(np.array([shapely.LineString([(0, 0), (1000, 0)])]))
    target = shapely.Point(1000, 0)
    for x in (410.0, 412.49, 412.51, 415.0):  # nodes every 25 m: 400, 425; the walk moves with the point
        got = net.pair_distances(np.array([shapely.Point(x, 30)]), np.array([target]), 10_000)[0]
        assert got == pytest.approx(30 + (1000 - x), abs=1e-6)


def test_both_ends_on_one_edge_walk_along_it():
    net = RoadNetwork(np.array([shapely.LineString([(0, 0), (1000, 0)])]))
    got = net.pair_distances(np.array([shapely.Point(405, 10)]), np.array([shapely.Point(415, -5)]), 10_000)[0]
    assert got == pytest.approx(10 + 10 + 5, abs=1e-6)
