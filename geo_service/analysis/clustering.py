"""DBSCAN in metres, deterministic, on scipy's k-d tree.

A point with at least ``min_points`` points within ``eps`` (itself included) is a core point;
clusters are the connected groups of core points within ``eps`` of each other; a non-core point
within ``eps`` of a core point joins the cluster of its nearest core point (ties to the lower
position), everything else is noise (-1). Unlike scikit-learn, border points do not depend on the
visiting order, so the labels depend only on the points. Clusters are numbered by their first
member's position.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree


def dbscan(xy: np.ndarray, eps: float, min_points: int) -> np.ndarray:
    """Cluster label per point (0, 1, ...; -1 for noise)."""
    n = len(xy)
    labels = np.full(n, -1, dtype=np.int64)
    if not n:
        return labels
    pairs = cKDTree(xy).query_pairs(eps, output_type="ndarray")
    a, b = pairs[:, 0], pairs[:, 1]
    core = (np.bincount(a, minlength=n) + np.bincount(b, minlength=n) + 1) >= min_points
    both = core[a] & core[b]
    graph = coo_matrix((np.ones(both.sum()), (a[both], b[both])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    if not core.any():
        return labels
    labels[core] = comp[core]  # component ids for now; renumbered below
    # border points: nearest core within eps
    border_a = core[a] & ~core[b]
    border_b = core[b] & ~core[a]
    point = np.r_[b[border_a], a[border_b]]
    anchor = np.r_[a[border_a], b[border_b]]
    if len(point):
        dist = np.hypot(*(xy[point] - xy[anchor]).T)
        order = np.lexsort((anchor, dist, point))
        point, anchor = point[order], anchor[order]
        first_of = np.r_[True, point[1:] != point[:-1]]
        labels[point[first_of]] = labels[anchor[first_of]]
    # renumber by each cluster's first member (cores or borders), for a stable order
    present = labels >= 0
    _, first_member = np.unique(labels[present], return_index=True)
    old = labels[present][np.sort(first_member)]
    remap = np.full(labels.max() + 1, -1, dtype=np.int64)
    remap[old] = np.arange(len(old))
    labels[present] = remap[labels[present]]
    return labels
