"""One colour system across the map: every legend entry of every layer and overlay has its own colour,
far enough from every other to be told apart, also by people with red-green colour blindness; and
clusters show the worst status they hold."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import shapely

from geo_service import styles
from geo_service.catalog import load_catalog
from geo_service.web import viewport
from geo_service.web.data import OVERLAYS

LAYERS = Path(__file__).resolve().parent.parent / "layers"
MIN_DELTA_E = 15.0  # CIE76 in normal vision: clearly different at a glance
MIN_DELTA_E_DEUTAN = 7.0  # the same pair seen with deuteranopia (Machado et al. 2009, severity 1)


def _linear(hex_color: str) -> np.ndarray:
    c = np.array([int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(rgb_linear: np.ndarray) -> np.ndarray:
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ rgb_linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _deutan(rgb_linear: np.ndarray) -> np.ndarray:
    m = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]])
    return np.clip(m @ rgb_linear, 0, 1)


def legend_entries() -> list[tuple[str, str]]:
    """(where, colour) of every legend row the default map shows: each layer's classes, then overlays."""
    out = []
    for spec in load_catalog(LAYERS):
        scheme = styles.layer_scheme(spec)
        out += [(f"{spec.id}.{c.key}", c.color.lower()) for c in scheme.classes]
    out += [(f"overlay.{name}", ov.color.lower()) for name, ov in OVERLAYS.items()]
    return out


def test_no_two_meanings_share_a_colour():
    entries = legend_entries()
    assert len(entries) > 20
    colours = [c for _, c in entries] + [styles.NO_DATA_COLOR]  # "no data" means the same in every layer
    dupes = {c: [w for w, x in entries if x == c] for c in colours if colours.count(c) > 1}
    assert not dupes, f"colours used for more than one meaning: {dupes}"


@pytest.mark.parametrize("vision", ["normal", "deuteranopia"])
def test_legend_colours_are_told_apart(vision):
    entries = legend_entries() + [("no data", styles.NO_DATA_COLOR)]
    seen = {w: _linear(c) for w, c in entries}
    if vision == "deuteranopia":
        seen = {w: _deutan(c) for w, c in seen.items()}
    floor = MIN_DELTA_E if vision == "normal" else MIN_DELTA_E_DEUTAN
    close = [(a, b, round(float(np.linalg.norm(_lab(x) - _lab(y))), 1))
             for (a, x), (b, y) in itertools.combinations(seen.items(), 2)
             if np.linalg.norm(_lab(x) - _lab(y)) < floor]
    assert close == [], f"too alike ({vision}): {close}"


def test_analysis_tiers_match_the_compound_tier_field():
    tiers = {c.key: c.color for c in styles.ANALYSIS_SCHEMES["renovation-priorities"].classes}
    spec = load_catalog(LAYERS).get("compounds")
    assert tiers == {c.key: c.color for c in styles.field_scheme(spec, "renovation_tier").classes}


def test_cluster_takes_the_worst_status_it_holds():
    spec = load_catalog(LAYERS).get("fire_hydrants")
    scheme = styles.layer_scheme(spec)
    keys = scheme.keys()
    statuses = ["working"] * 49 + ["faulty"]
    lon = 121.40 + np.arange(50) * 1e-6  # all in one cell
    index = viewport.LayerIndex.build(np.arange(1, 51), shapely.points(lon, np.full(50, 31.1)),
                                      scheme.classify(statuses))
    pos = np.arange(50)
    clusters, _ = viewport.grid_clusters(index, pos, 12, keys, ranks=scheme.ranks())
    assert [c[2:] for c in clusters] == [[50, "faulty"]]
    clusters, _ = viewport.grid_clusters(index, pos, 12, keys)  # unordered classes: the most common
    assert [c[2:] for c in clusters] == [[50, "working"]]
    repair = scheme.classify(["working"] * 10 + ["under_repair", "unknown"])
    index = viewport.LayerIndex.build(np.arange(1, 13), shapely.points(lon[:12], np.full(12, 31.1)), repair)
    clusters, _ = viewport.grid_clusters(index, np.arange(12), 12, keys, ranks=scheme.ranks())
    assert clusters[0][3] == "under_repair"
