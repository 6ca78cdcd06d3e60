"""Min-cost max-flow on a bipartite graph: compounds short of spaces -> lots with free spaces.

The plan serves as much of the gap as any plan can, and among those plans walks the least in
total (spaces x distance); no lot gives more than its free spaces, no compound gets more than
its gap. It is a transportation problem, solved component by component of the compound-lot
graph:

* a component with one compound (or one lot) is solved exactly by filling from the nearest
  lot (compound) on, vectorised over all such components at once;
* a larger one is a linear programme, min sum((d_e - B) x_e) under the compound and lot
  capacities, solved by HiGHS' dual simplex. The constraint matrix is a bipartite incidence
  matrix (totally unimodular), so the simplex vertex is integral. With B larger than any
  augmenting path's length the optimum is a maximum flow of least cost; this is checked against
  an exact maximum flow (scipy's push-relabel), and if the check ever fails the component is
  solved again in two stages (total flow fixed to the maximum, then least cost).

The caller passes the edges in a canonical order (by compound, then lot), so ties are broken
the same way whatever the input's row order.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix, vstack
from scipy.sparse.csgraph import connected_components, maximum_flow

_BIG_M_FACTOR = 1_000.0  # B = factor x (longest edge + 1): room for augmenting paths of ~1,000 edges


def allocate(gap: np.ndarray, free: np.ndarray, edge_c: np.ndarray, edge_l: np.ndarray,
             cost: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Spaces per edge (compound ``edge_c[e]`` -> lot ``edge_l[e]``) and statistics of the solve.

    ``gap`` (per compound) and ``free`` (per lot) are non-negative integers; ``cost`` is the
    walking distance of an edge.
    """
    gap = np.asarray(gap, dtype=np.int64)
    free = np.asarray(free, dtype=np.int64)
    edge_c, edge_l = np.asarray(edge_c, dtype=np.int64), np.asarray(edge_l, dtype=np.int64)
    cost = np.asarray(cost, dtype=float)
    flow = np.zeros(len(edge_c), dtype=np.int64)
    stats = {"components": 0, "largest_component": 0, "greedy_components": 0, "lp_components": 0}
    live = np.flatnonzero((gap[edge_c] > 0) & (free[edge_l] > 0))
    if not len(live):
        return flow, stats
    nc = len(gap)
    nodes = len(gap) + len(free)
    graph = coo_matrix((np.ones(len(live)), (edge_c[live], nc + edge_l[live])), shape=(nodes, nodes))
    _, label = connected_components(graph, directed=False)
    comp = label[edge_c[live]]
    # compounds and lots per component, counted over the live edges
    comps, comp = np.unique(comp, return_inverse=True)
    n_comp = len(comps)
    n_c = _distinct_per_group(comp, edge_c[live], n_comp)
    n_l = _distinct_per_group(comp, edge_l[live], n_comp)
    stats["components"] = n_comp
    stats["largest_component"] = int((n_c + n_l).max())

    one_compound = (n_c == 1)[comp]
    one_lot = (n_l == 1)[comp] & ~one_compound
    for mask, own, other, own_cap, other_cap in ((one_compound, edge_c, edge_l, gap, free),
                                                 (one_lot, edge_l, edge_c, free, gap)):
        e = live[mask]
        if len(e):
            flow[e] = _fill_nearest_first(comp[mask], own_cap[own[e]], other_cap[other[e]], cost[e], other[e])
    stats["greedy_components"] = int(((n_c == 1) | (n_l == 1)).sum())

    rest = ~(one_compound | one_lot)
    if rest.any():
        e_rest, c_rest = live[rest], comp[rest]
        order = np.argsort(c_rest, kind="stable")
        e_rest, c_rest = e_rest[order], c_rest[order]
        bounds = np.flatnonzero(np.diff(c_rest)) + 1
        for e in np.split(e_rest, bounds):
            flow[e] = solve_component(gap, free, edge_c[e], edge_l[e], cost[e])
            stats["lp_components"] += 1
    return flow, stats


def _distinct_per_group(group: np.ndarray, member: np.ndarray, n: int) -> np.ndarray:
    pairs = np.unique(np.stack([group, member], 1), axis=0)
    return np.bincount(pairs[:, 0], minlength=n)


def _fill_nearest_first(group: np.ndarray, own_cap: np.ndarray, other_cap: np.ndarray, cost: np.ndarray,
                        other: np.ndarray) -> np.ndarray:
    """Exact plan of star-shaped components: the centre's capacity goes to its nearest partners first."""
    order = np.lexsort((other, cost, group))
    g, own, oth = group[order], own_cap[order], other_cap[order]
    before = np.cumsum(oth) - oth  # running total of partner capacity before this edge, over all groups
    start = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    before -= np.repeat(before[start], np.diff(np.r_[start, len(g)]))
    out = np.empty(len(group), dtype=np.int64)
    out[order] = np.clip(own - before, 0, oth)
    return out


def max_flow_value(gap: np.ndarray, free: np.ndarray, edge_c: np.ndarray, edge_l: np.ndarray) -> int:
    """The most spaces any plan can serve over these edges (exact, integer)."""
    cs, c_local = np.unique(edge_c, return_inverse=True)
    ls, l_local = np.unique(edge_l, return_inverse=True)
    nc, nl = len(cs), len(ls)
    source, sink = nc + nl, nc + nl + 1
    rows = np.concatenate([np.full(nc, source), c_local, nc + np.arange(nl)])
    cols = np.concatenate([np.arange(nc), nc + l_local, np.full(nl, sink)])
    cap = np.concatenate([gap[cs], np.minimum(gap[edge_c], free[edge_l]), free[ls]])
    limit = np.iinfo(np.int32).max
    graph = csr_matrix((np.minimum(cap, limit).astype(np.int32), (rows, cols)), shape=(nc + nl + 2, nc + nl + 2))
    return int(maximum_flow(graph, source, sink).flow_value)


def solve_component(gap: np.ndarray, free: np.ndarray, edge_c: np.ndarray, edge_l: np.ndarray,
                    cost: np.ndarray) -> np.ndarray:
    """Least-cost maximum flow of one component by linear programming (see the module docstring)."""
    cs, c_local = np.unique(edge_c, return_inverse=True)
    ls, l_local = np.unique(edge_l, return_inverse=True)
    n = len(edge_c)
    cols = np.arange(n)
    incidence = vstack([csr_matrix((np.ones(n), (c_local, cols)), shape=(len(cs), n)),
                        csr_matrix((np.ones(n), (l_local, cols)), shape=(len(ls), n))]).tocsr()
    caps = np.concatenate([gap[cs], free[ls]]).astype(float)
    target = max_flow_value(gap, free, edge_c, edge_l)
    big = _BIG_M_FACTOR * (float(cost.max()) + 1.0)
    res = linprog(cost - big, A_ub=incidence, b_ub=caps, bounds=(0, None), method="highs-ds")
    x = _integral(res, n)
    if x is None or int(x.sum()) != target:  # a path longer than B allowed for: fix the flow, then minimise
        res = linprog(cost, A_ub=incidence, b_ub=caps, A_eq=csr_matrix(np.ones((1, n))), b_eq=[float(target)],
                      bounds=(0, None), method="highs-ds")
        x = _integral(res, n)
        if x is None:
            raise RuntimeError(f"shared-parking allocation failed: {res.message}")
    return x


def _integral(res, n: int) -> np.ndarray | None:
    if res.status != 0 or res.x is None or len(res.x) != n:
        return None
    x = np.round(res.x)
    if np.abs(res.x - x).max(initial=0.0) > 1e-6:
        return None
    return np.maximum(x, 0).astype(np.int64)
