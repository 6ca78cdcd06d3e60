"""The walking network: one routable graph from the ``roads`` layer, used by life circles and shared parking.

The graph is the roads' lines, noded where they cross (a union of the lines), cut into pieces of
at most ``max_segment_m`` so that every point of a road is near a graph node; nodes closer than
1 cm are merged. A walk is: a straight leg from the origin to a node, the shortest path through the
graph, and a straight leg from a node to the target. Straight-line distance is a lower bound of it.

Engine: scipy.sparse.csgraph's Dijkstra (C, bounded by ``limit``). Nearest-facility queries run
once per category from a virtual source joined to every facility's node by its leg, so one
bounded Dijkstra answers "distance to the nearest facility" for every node at once; that is
cheaper than pandana's contraction hierarchies (a preprocessing step per graph and a query per
pair) for the few categories × all compounds a life circle asks. scripts/bench_life_circle.py
measures it.

A compound enters the network from its boundary: every node within ``entry_reach_m`` of its
polygon (inside counts, leg 0) is an entrance, so a compound fronting two streets leaves by
whichever is nearer its goal. A compound or facility farther than ``snap_max_m`` from any node is
not covered by the network; callers fall back to straight line × a detour factor and flag it.

A route (``walk_from`` + ``path``) is the same search from one compound's entrances with the
predecessors kept, followed back from the facility's node (analysis/walking_routes.py).

Graphs are cached by content (the lines' WKB and the segment length), so a layer is built once per
version however many analyses ask for it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ..cache import SingleFlightCache

MAX_SEGMENT_M = 25.0
_MATRIX_CELLS = 20_000_000  # Dijkstra returns sources x nodes distances: batch sources to bound memory
_GRAPHS = SingleFlightCache(maxsize=4)  # a few road layers (or CRSs) at once; keyed by content


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
        self.xy = nodes.reshape(-1, 2)
        self.edge_a, self.edge_b, self.edge_w = (edges.a.to_numpy(np.int64), edges.b.to_numpy(np.int64),
                                                 edges.w.to_numpy(float))
        self.graph = csr_matrix((np.r_[self.edge_w, self.edge_w],
                                 (np.r_[self.edge_a, self.edge_b], np.r_[self.edge_b, self.edge_a])), shape=(n, n))
        self.nodes = shapely.points(nodes) if n else np.empty(0, dtype=object)
        self._tree = shapely.STRtree(self.nodes)
        self._edges: np.ndarray | None = None  # the edges as segments, for snap_to_edges (built when first asked)
        self._edge_tree: shapely.STRtree | None = None

    def __len__(self) -> int:
        return len(self.nodes)

    def snap(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of each point and the straight distance to it."""
        if not len(self) or not len(points):
            return np.zeros(len(points), dtype=np.int64), np.full(len(points), np.inf)
        (_, node), dist = self._tree.query_nearest(points, return_distance=True, all_matches=False)
        return node, dist

    def entrances(self, polygons: np.ndarray, reach_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(polygon position, node, leg) of every node within ``reach_m`` of each polygon (inside: leg 0); a
        polygon with none takes the nodes within ``reach_m`` of its nearest one, however far (the caller
        judges coverage by the leg), so equally near nodes all count and no tie is broken by chance."""
        if not len(self) or not len(polygons):
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, np.empty(0)
        pi, ni = self._tree.query(polygons, predicate="dwithin", distance=reach_m)
        lonely = np.setdiff1d(np.arange(len(polygons)), pi)
        if len(lonely):
            (li, _), nearest = self._tree.query_nearest(polygons[lonely], return_distance=True, all_matches=False)
            far = np.zeros(len(polygons))
            far[lonely[li]] = nearest + reach_m
            lp, ln = self._tree.query(polygons[lonely], predicate="dwithin", distance=far[lonely])
            pi, ni = np.r_[pi, lonely[lp]], np.r_[ni, ln]
        return pi, ni, shapely.distance(polygons[pi], self.nodes[ni])

    def from_sources(self, nodes: np.ndarray, legs: np.ndarray, limit: float) -> np.ndarray:
        """Walking distance from the nearest source to every node (a source costs its leg to start); inf
        beyond ``limit``. One Dijkstra from a virtual node joined to each source node by its leg."""
        return self.walk_from(nodes, legs, limit)[0]

    def walk_from(self, nodes: np.ndarray, legs: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`from_sources`, with each node's predecessor on its shortest walk (-1 for a source
        node, and where unreached): :meth:`path` follows them back."""
        n = len(self)
        if not n or not len(nodes):
            return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
        legs = np.maximum(np.asarray(legs, float), 1e-9)  # a zero weight would be no edge in a sparse matrix
        g = self.graph  # append the virtual node's row to the CSR arrays: no conversion, no sort
        graph = csr_matrix((np.r_[g.data, legs], np.r_[g.indices, nodes], np.r_[g.indptr, g.indptr[-1] + len(nodes)]),
                           shape=(n + 1, n + 1))
        dist, pred = dijkstra(graph, directed=True, indices=n, limit=limit, return_predecessors=True)
        pred = pred[:n].astype(np.int64)
        pred[(pred == n) | (pred < 0)] = -1  # reached from the virtual node (a source) or not at all
        return dist[:n], pred

    @staticmethod
    def path(pred: np.ndarray, node: int) -> np.ndarray:
        """The nodes of the shortest walk ending at ``node``, from its source node on (see :meth:`walk_from`)."""
        nodes = [int(node)]
        while pred[nodes[-1]] >= 0:
            nodes.append(int(pred[nodes[-1]]))
        return np.asarray(nodes[::-1], dtype=np.int64)

    def reachable_lines(self, dist: np.ndarray, budget: float) -> np.ndarray:
        """The parts of every edge walkable within ``budget`` given each node's distance: whole edges, and
        partial edges cut at the remaining distance from each reached end."""
        near = np.flatnonzero((dist[self.edge_a] < budget) | (dist[self.edge_b] < budget))
        a, b, w = self.edge_a[near], self.edge_b[near], self.edge_w[near]
        da, db = dist[a], dist[b]
        from_a = np.clip((budget - da) / w, 0, 1)  # fraction of the edge walkable from a
        from_b = np.clip((budget - db) / w, 0, 1)
        whole = from_a + from_b >= 1
        pa, pb = self.xy[a], self.xy[b]
        pieces = [shapely.linestrings(np.stack([pa[whole], pb[whole]], axis=1)) if whole.any() else []]
        for frac, start, end in ((from_a, pa, pb), (from_b, pb, pa)):
            part = ~whole & (frac > 0)
            if part.any():
                tip = start[part] + (end[part] - start[part]) * frac[part, None]
                pieces.append(shapely.linestrings(np.stack([start[part], tip], axis=1)))
        return np.concatenate([np.asarray(p, dtype=object) for p in pieces]) if pieces else np.empty(0, object)

    def joins(self, points: np.ndarray, tie_m: float = 0.01) -> pd.DataFrame:
        """Where each point joins the network: on its nearest edge (not its nearest node: a point halfway
        between two nodes would otherwise jump 25 m with a centimetre's move), and on every other edge as near
        within ``tie_m`` (a point midway between two streets may take either, so the same data in two CRSs
        never splits a tie differently). Rows: point, edge, node a/b, cost to a/b, leg, position along."""
        if self._edge_tree is None:
            self._edges = shapely.linestrings(np.stack([self.xy[self.edge_a], self.xy[self.edge_b]], axis=1))
            self._edge_tree = shapely.STRtree(self._edges)
        (pi, _), nearest = self._edge_tree.query_nearest(points, return_distance=True, all_matches=False)
        reach = np.zeros(len(points))
        reach[pi] = nearest + tie_m
        pi, edge = self._edge_tree.query(points, predicate="dwithin", distance=reach)
        leg = shapely.distance(points[pi], self._edges[edge])
        w = self.edge_w[edge]
        along = np.clip(shapely.line_locate_point(self._edges[edge], points[pi]), 0.0, w)
        return pd.DataFrame({"point": pi, "edge": edge, "a": self.edge_a[edge], "b": self.edge_b[edge],
                             "to_a": leg + along, "to_b": leg + (w - along), "leg": leg, "along": along})

    def pair_distances(self, origins: np.ndarray, targets: np.ndarray, limit: float) -> np.ndarray:
        """Walking distance origins[k] -> targets[k] for each pair; inf where longer than ``limit``. Both
        ends join the network on their nearest edge(s) and may walk off either end of it."""
        out = np.full(len(origins), np.inf)
        if not len(origins) or not len(self):
            return out
        o, t = self.joins(origins), self.joins(targets)
        both = o.merge(t, on=["point", "edge"], suffixes=("_o", "_t"))  # along one edge, no node reached
        if len(both):
            direct = (both.leg_o + both.leg_t + (both.along_o - both.along_t).abs()).to_numpy()
            np.minimum.at(out, both.point.to_numpy(), direct)
        ends_o = pd.concat([o[["point", "a", "to_a"]].set_axis(["point", "node", "cost"], axis=1),
                            o[["point", "b", "to_b"]].set_axis(["point", "node", "cost"], axis=1)])
        ends_t = pd.concat([t[["point", "a", "to_a"]].set_axis(["point", "node", "cost"], axis=1),
                            t[["point", "b", "to_b"]].set_axis(["point", "node", "cost"], axis=1)])
        rows = ends_o.merge(ends_t, on="point", suffixes=("_o", "_t"))
        sources = np.unique(rows.node_o.to_numpy())
        batch = max(1, _MATRIX_CELLS // max(1, len(self)))
        for start in range(0, len(sources), batch):
            chunk = sources[start:start + batch]
            dist = dijkstra(self.graph, directed=False, indices=chunk, limit=limit)
            mine = rows[rows.node_o.isin(chunk)]
            via = (mine.cost_o.to_numpy() + dist[np.searchsorted(chunk, mine.node_o.to_numpy()),
                                                  mine.node_t.to_numpy()] + mine.cost_t.to_numpy())
            np.minimum.at(out, mine.point.to_numpy(), via)
        out[out > limit] = np.inf
        return out


def network(lines: np.ndarray, max_segment_m: float = MAX_SEGMENT_M) -> RoadNetwork:
    """The graph of these lines (metric coordinates), built once per distinct content."""
    lines = np.asarray(lines, dtype=object)
    digest = hashlib.blake2b(digest_size=16)
    present = lines[~shapely.is_missing(lines)] if len(lines) else lines
    for wkb in shapely.to_wkb(present, output_dimension=2) if len(present) else ():
        digest.update(wkb)
    return _GRAPHS.get((digest.hexdigest(), len(present), float(max_segment_m)),
                       lambda: RoadNetwork(lines, max_segment_m))
