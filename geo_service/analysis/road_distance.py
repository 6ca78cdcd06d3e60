"""Walking distance along the roads for shared parking: the one walking network of :mod:`.network`.

Kept as the name shared parking imports; the graph, its engine and its cache live in ``network``.
"""

from __future__ import annotations

import numpy as np

from .network import MAX_SEGMENT_M, RoadNetwork, network

__all__ = ["MAX_SEGMENT_M", "RoadNetwork", "network", "pair_distances"]


def pair_distances(lines: np.ndarray, origins: np.ndarray, targets: np.ndarray, limit: float) -> np.ndarray:
    """Walking distance origins[k] -> targets[k] along ``lines`` (cached graph); inf beyond ``limit``."""
    return network(lines).pair_distances(origins, targets, limit)
