"""Build the demo layers from one seed, and write them into a store through the import validation."""

from __future__ import annotations

import sys

import geopandas as gpd
import numpy as np

from ..catalog.validation import validate_frame
from ..store.base import FeatureStore
from .charging import ebike
from .city import City
from .compounds import compounds, describe_compounds
from .constants import DEFAULT_SEED, LAYER_IDS
from .facilities import life_circle_layers
from .hydrants import hydrants
from .names import name_compounds
from .parking import parking
from .plans import write_plans
from .waterlogging import waterlogging


def build_demo(scale: float = 1.0, seed: int = DEFAULT_SEED) -> dict[str, gpd.GeoDataFrame]:
    """All demo layers as GeoDataFrames in EPSG:4326, keyed by layer id.

    Each frame has an integer ``id`` (1..N), the fields of its layer spec and a geometry.
    Same ``seed`` and ``scale``: identical frames. ``scale`` multiplies every count.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    rng = np.random.default_rng(seed)
    # Every step draws from the one Generator, so the order below is part of the output.
    city = City(rng, scale)
    describe_compounds(city)
    name_compounds(city)
    frames = {
        "compounds": compounds(city),
        "waterlogging_points": waterlogging(city),
        "parking_facilities": parking(city),
        "ebike_charging_sites": ebike(city),
        "fire_hydrants": hydrants(city),
        **life_circle_layers(city, seed),
    }
    return {layer: frames[layer] for layer in LAYER_IDS}


def write_demo(store: FeatureStore, scale: float = 1.0, seed: int = DEFAULT_SEED,
               progress: bool = False) -> dict[str, int]:
    """Build the demo and replace each catalog layer of ``store`` with it; returns rows per layer.

    Frames pass the import validation, so the demo is written exactly as a file import would be
    (and a generator bug shows up as a clear error here). Layers the store's catalog does not
    declare are skipped; fields it does not declare are dropped.
    """
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    say(f"building demo city (scale {scale:g}, seed {seed}) ...")
    frames = build_demo(scale=scale, seed=seed)
    counts: dict[str, int] = {}
    for layer_id, frame in frames.items():
        if layer_id not in store.catalog:
            say(f"{layer_id}: not in the catalog, skipped")
            continue
        spec = store.catalog.get(layer_id)
        keep = ["id"] + [c for c in frame.columns if spec.has_field(c)] + [frame.geometry.name]
        frame = frame[keep]
        result = validate_frame(frame, spec)
        if result.errors:
            shown = "; ".join(str(e) for e in result.errors[:5])
            raise ValueError(f"demo data for {layer_id} fails validation ({len(result.errors)} errors): {shown}")
        frame = _with_ids(result.valid, frame)
        store.import_frame(layer_id, frame, mode="replace")
        counts[layer_id] = len(frame)
        say(f"{layer_id}: {len(frame):,} features written")
    counts.update(write_plans(store, frames, seed))  # the programme: plans and agreements (issue 16)
    return counts


def _with_ids(valid: gpd.GeoDataFrame, original: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Keep our ids even if the validator moved them to the index or dropped the column."""
    if "id" in valid.columns:
        return valid
    valid = valid.copy()
    valid.insert(0, "id", original["id"].to_numpy() if len(valid) == len(original) else valid.index)
    return valid
