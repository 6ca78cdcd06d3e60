"""Renovation tiers per street/town (Minhang 2016 guide): 示范版 >= 10 %, 提升版 >= 40 %, 基础版 the rest.

Within each street the eligible compounds are ranked by score (highest first, ties to the lower
id): the first ceil(10 % x n) are proposed as demonstration, the next ceil(40 % x n) as upgrade,
the rest as basic. Rounding up makes both quotas hold whenever they can: only a street with a single
eligible compound cannot have both (it gets a demonstration compound, as the guide asks every
street for at least one; the street table flags the unmet upgrade quota).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

TIERS = ("demonstration", "upgrade", "basic")
TIER_ZH = {"demonstration": "示范版", "upgrade": "提升版", "basic": "基础版"}


def quota(n: int, share: float) -> int:
    """ceil(share x n), immune to float noise (0.1 x 30 must give 3, not 4)."""
    return math.ceil(round(share * n, 9))


def propose_tiers(street: np.ndarray, score: np.ndarray, eligible: np.ndarray, ids: np.ndarray,
                  demonstration_share: float, upgrade_share: float) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """(tier per compound, None when not eligible; rank within its street, 0 when not eligible; street table)."""
    street = np.array([s if s is not None else "" for s in street], dtype=object)
    tier = np.full(len(score), None, dtype=object)
    rank = np.zeros(len(score), dtype=np.int64)
    rows = []
    pos = np.flatnonzero(eligible)
    if len(pos):
        order = pos[np.lexsort((ids[pos], -score[pos], street[pos]))]
        groups = np.r_[0, np.flatnonzero(street[order][1:] != street[order][:-1]) + 1, len(order)]
        for start, stop in zip(groups[:-1], groups[1:], strict=True):
            members, n = order[start:stop], stop - start
            n_demo = min(quota(n, demonstration_share), n)
            n_up = min(quota(n, upgrade_share), n - n_demo)
            rank[members] = np.arange(1, n + 1)
            tier[members] = np.where(rank[members] <= n_demo, TIERS[0],
                                     np.where(rank[members] <= n_demo + n_up, TIERS[1], TIERS[2]))
            rows.append({"street": street[members[0]], "eligible": n, "demonstration": n_demo, "upgrade": n_up,
                         "basic": n - n_demo - n_up, "demonstration_share": round(n_demo / n, 4),
                         "upgrade_share": round(n_up / n, 4),
                         "quotas_met": n_demo >= demonstration_share * n - 1e-9 and n_up >= upgrade_share * n - 1e-9})
    streets = pd.DataFrame(rows, columns=["street", "eligible", "demonstration", "upgrade", "basic",
                                          "demonstration_share", "upgrade_share", "quotas_met"])
    return tier, rank, streets
