"""Walking distance along a road network (when a ``roads`` layer is loaded).

The network is the roads' lines, noded where they cross (a union of the lines), cut into pieces
of at most ``max_segment_m`` so that every point of a road is near a graph node; nodes closer than
1 cm are merged. A walk is: a straight leg from the origin to its nearest node, the shortest path
through the graph (scipy's Dijkstra, bounded by the walking limit), and a straight leg from the
target's nearest node. Straight-line distance is a lower bound of this, so callers pick candidate
pairs by straight line first and only route those.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

MAX_SEGMENT_M = 25.0
_MATRIX_CELLS = 20_000_000  # Dijkstra returns sources x nodes distances: batch sources to bound memory


class RoadNetwork:
    def __init__(self, lines: np.ndarray, max_segment_m: float = MAX_SEGMENT_M):
        lines = np.asarray(lines, dtype=object)
        lines = lines[~shapely.is_missing(lines) & ~shapely.is_empty(lines)]
        if len(lines):
            lines = shapely.get_parts(shapely.union_all(lines))  # node the lines where they cross
            lines = shapely.segmentize(lines[shapely.get_type_id(lines) == 1], max_segment_m)
        coords, line = shapely.get_coordinates(lines, return_index=True) if len(lines) else (np.empty((0, 2)), [])
        line = np.asarray(line)
        nodes, node_of = np.unique(np.round(coords, 2), axis=0, return_inverse=True)
        node_of = node_of.ravel()
        same = line[1:] == line[:-1]
        a, b = node_of[:-1][same], node_of[1:][same]
        length = np.hypot(*(coords[1:] - coords[:-1])[same].T)
        keep = a != b
        edges = pd.DataFrame({"a": np.minimum(a, b)[keep], "b": np.maximum(a, b)[keep], "w": length[keep]})
        edges = edges.groupby(["a", "b"], as_index=False)["w"].min()
        n = len(nodes)
        self.graph = csr_matrix((np.r_[edges.w, edges.w], (np.r_[edges.a, edges.b], np.r_[edges.b, edges.a])),
                                shape=(n, n))
        self.nodes = shapely.points(nodes) if n else np.empty(0, dtype=object)
        self._tree = shapely.STRtree(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def snap(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of each point and the straight distance to it."""
        (_, node), dist = self._tree.query_nearest(points, return_distance=True, all_matches=False)
        return node, dist

    def pair_distances(self, origins: np.ndarray, targets: np.ndarray, limit: float) -> np.ndarray:
        """Walking distance origins[k] -> targets[k] for each pair; inf where longer than ``limit``."""
        out = np.full(len(origins), np.inf)
        if not len(origins) or not len(self):
            return out
        o_node, o_leg = self.snap(origins)
        t_node, t_leg = self.snap(targets)
        sources, row = np.unique(o_node, return_inverse=True)
        batch = max(1, _MATRIX_CELLS // max(1, len(self)))
        for start in range(0, len(sources), batch):
            chunk = sources[start:start + batch]
            dist = dijkstra(self.graph, directed=False, indices=chunk, limit=limit)
            pairs = np.flatnonzero((row >= start) & (row < start + len(chunk)))
            out[pairs] = dist[row[pairs] - start, t_node[pairs]] + o_leg[pairs] + t_leg[pairs]
        out[out > limit] = np.inf
        return out
