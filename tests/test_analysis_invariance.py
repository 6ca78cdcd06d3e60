"""Invariants of every analysis on random small scenes: input row order and input CRS do not matter.

Compounds sit on a 10.37 m grid, points half a step off it, and the parameters are odd numbers
(147.3 m, 503.7 m, ...), so no point lies exactly on a boundary and no distance exactly on a
threshold, where a sub-millimetre CRS round-off could flip a count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_service.analysis.registry import REGISTRY

from .test_analysis_support import GK, X0, Y0, layer, pt, square

STEP = 10.37
ODD = {"radius_m": 147.3, "walk_m": 503.7, "reach_m": 97.3, "near_m": 47.3, "eps_m": 297.3}
SLOW = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.data_too_large])


def _grid(draw, n: int) -> list[tuple[float, float]]:
    """Points half a step off the compounds' grid: never exactly on a boundary."""
    return [((draw(st.integers(0, 120)) + 0.5) * STEP, (draw(st.integers(0, 120)) + 0.5) * STEP) for _ in range(n)]


@st.composite
def scenes(draw) -> dict[str, list]:
    """Rows and geometries (metres) per layer: compounds on a 4 x 4 lattice of 400 m cells, never overlapping."""
    cells = draw(st.lists(st.integers(0, 15), min_size=1, max_size=6, unique=True))
    compounds = []
    for cell in cells:
        x, y = (cell % 4) * 40 * STEP, (cell // 4) * 40 * STEP
        w, h = draw(st.integers(8, 30)) * STEP, draw(st.integers(8, 30)) * STEP
        row = {"name": f"c{cell}", "street": draw(st.sampled_from(["梅陇镇", "莘庄镇"])),
               "build_year": draw(st.integers(1980, 2015)), "households": draw(st.integers(20, 2000)),
               "avg_flat_m2": draw(st.sampled_from([60.0, 120.0, 170.0])),
               "parking_spaces": draw(st.integers(0, 300))}
        if draw(st.booleans()):
            row["registered_vehicles"] = draw(st.integers(0, 1500))
        compounds.append((row, square(x, y, w, h)))
    n = {k: draw(st.integers(0, 10)) for k in ("hydrants", "lots", "sites", "points")}
    hydrants = [({"status": draw(st.sampled_from(["working", "working", "faulty", "out_of_service"]))}, pt(x, y))
                for x, y in _grid(draw, n["hydrants"])]
    lots = [({"name": f"L{i}", "kind": draw(st.sampled_from(["office", "public", "commercial", "hospital", "street"])),
              "night_free_spaces": draw(st.integers(0, 80)), "shareable": draw(st.booleans())}, pt(x, y))
            for i, (x, y) in enumerate(_grid(draw, n["lots"]))]
    sites = [({"ports": draw(st.integers(1, 40)), "status": "working", "has_sprinkler": draw(st.booleans())}, pt(x, y))
             for x, y in _grid(draw, n["sites"])]
    points = [({"depth_cm": draw(st.integers(5, 60)), "duration_min": draw(st.integers(10, 200)),
                "events_per_year": draw(st.integers(1, 6)),
                "cause": draw(st.sampled_from(["external_backflow", "internal_drainage", "other"]))}, pt(x, y))
              for x, y in _grid(draw, n["points"])]
    facilities = [({"category": draw(st.sampled_from(["kindergarten", "market", "park", "primary_school"])),
                    "status": draw(st.sampled_from(["working", "working", "closed"]))}, pt(x, y))
                  for x, y in _grid(draw, draw(st.integers(0, 10)))]
    # streets in the gaps between the compounds' cells (some missing): walks go round
    gaps = [(k * 40 + 35) * STEP for k in range(4)]
    roads = [({"highway": "tertiary"}, shapely.LineString([(X0 + g, Y0), (X0 + g, Y0 + 160 * STEP)]))
             for g in gaps if draw(st.booleans())]
    roads += [({"highway": "tertiary"}, shapely.LineString([(X0, Y0 + g), (X0 + 160 * STEP, Y0 + g)]))
              for g in gaps if draw(st.booleans())]
    return {"compounds": compounds, "fire_hydrants": hydrants, "parking_facilities": lots,
            "ebike_charging_sites": sites, "waterlogging_points": points, "service_facilities": facilities,
            "roads": roads}


def _frames(scene: dict[str, list], crs: str = "EPSG:4326", order: np.random.Generator | None = None):
    frames = {}
    for name, items in scene.items():
        items = list(items)
        ids = list(range(1, len(items) + 1))
        if order is not None:
            perm = order.permutation(len(items))
            items, ids = [items[i] for i in perm], [ids[i] for i in perm]
        frames[name] = layer([{"id": i, **row} for i, (row, _) in zip(ids, items, strict=True)],
                             [g for _, g in items], crs)
    return frames


def _numbers(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=frame.geometry.name).sort_index()


def _assert_same(a: pd.DataFrame, b: pd.DataFrame, rel: float = 0.0) -> None:
    a, b = _numbers(a), _numbers(b)
    assert list(a.index) == list(b.index) and list(a.columns) == list(b.columns)
    for column in a.columns:
        x, y = a[column], b[column]
        if pd.api.types.is_float_dtype(x) and rel:
            np.testing.assert_allclose(x.to_numpy(float), y.to_numpy(float), rtol=rel, atol=1e-6, err_msg=column)
        else:
            assert x.astype(object).where(x.notna(), None).tolist() == \
                y.astype(object).where(y.notna(), None).tolist(), column


def _params(name: str, **extra) -> dict:
    names = {p.name for p in REGISTRY[name].params}
    return {k: v for k, v in {**ODD, **extra}.items() if k in names}


@SLOW
@given(scenes(), st.integers(0, 2**32 - 1))
@pytest.mark.parametrize("name", list(REGISTRY))
def test_results_do_not_depend_on_row_order(name, scene, seed):
    analysis = REGISTRY[name]
    plain = analysis.run(_frames(scene), _params(name))
    shuffled = analysis.run(_frames(scene, order=np.random.default_rng(seed)), _params(name))
    assert plain.parts.keys() == shuffled.parts.keys()
    for part in plain.parts:
        _assert_same(plain[part], shuffled[part])
    assert plain.summary == shuffled.summary


@SLOW
@given(scenes())
@pytest.mark.parametrize("name", list(REGISTRY))
def test_results_do_not_depend_on_the_input_crs(name, scene):
    """The same data in EPSG:4326 and in CGCS2000 Gauss-Kruger (EPSG:4549) give the same numbers within 0.1 %."""
    analysis = REGISTRY[name]
    params = _params(name, net_of_sharing=False)  # shared-parking ties may split differently: compared by totals
    lonlat = analysis.run(_frames(scene), params)
    grid = analysis.run(_frames(scene, GK), params)
    assert lonlat.metric_crs == grid.metric_crs == "EPSG:32651"
    if name == "shared-parking":
        for key in ("served", "unserved", "pairs_in_reach"):
            assert lonlat.summary[key] == grid.summary[key]
        assert grid.summary["total_space_m"] == pytest.approx(lonlat.summary["total_space_m"], rel=1e-3, abs=1e-6)
        return
    for part in lonlat.parts:
        _assert_same(lonlat[part], grid[part], rel=1e-3)


@SLOW
@given(scenes())
def test_shared_parking_never_exceeds_free_spaces_or_gaps(scene):
    frames = _frames(scene)
    result = REGISTRY["shared-parking"].run(frames, {"walk_m": 503.7})
    plan = result["arrangements"]
    taken = plan.groupby("lot_id")["spaces"].sum()
    if len(taken):
        free = frames["parking_facilities"].set_index("id")["night_free_spaces"]
        assert (taken <= free.reindex(taken.index)).all()
    unserved = result["unserved"]
    assert (unserved["served"] <= unserved["gap_spaces"]).all() and (unserved["unserved"] >= 0).all()
    assert (plan["distance_m"] <= 503.7).all()
    assert set(plan["lot_kind"]) <= {"office", "public", "commercial", "hospital"}
