"""Shared-parking agreements already made: the spaces they fix before anything else is allocated.

An agreement binds when it is signed or active and still valid (its ``valid_to`` is today or later,
or open-ended). Its spaces leave the lot's free spaces and the compound's gap first, so the next
shared-parking plan never hands out the same spaces twice.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

BINDING_STATES = ("signed", "active")


def binding(agreements: gpd.GeoDataFrame | None, today: dt.date | None = None) -> pd.DataFrame:
    """(compound, lot, spaces) of the agreements that bind on ``today`` (default: the current date)."""
    empty = pd.DataFrame({"compound": pd.Series([], dtype=np.int64), "lot": pd.Series([], dtype=np.int64),
                          "spaces": pd.Series([], dtype=np.int64)})
    if agreements is None or not len(agreements) or "status" not in agreements:
        return empty
    day = (today or dt.date.today()).isoformat()
    valid_to = agreements["valid_to"] if "valid_to" in agreements else pd.Series(None, index=agreements.index)
    still = valid_to.isna() | (valid_to.astype(str) >= day)  # ISO dates compare as text
    keep = agreements["status"].isin(BINDING_STATES) & still & agreements["compound"].notna() \
        & agreements["lot"].notna() & agreements["spaces"].notna()
    chosen = agreements.loc[keep]
    return pd.DataFrame({"compound": chosen["compound"].astype(np.int64).to_numpy(),
                         "lot": chosen["lot"].astype(np.int64).to_numpy(),
                         "spaces": chosen["spaces"].astype(np.int64).to_numpy()})


def per_id(fixed: pd.DataFrame, column: str, ids: np.ndarray) -> np.ndarray:
    """Spaces fixed per id in ``ids`` (compound or lot ids), 0 where none."""
    totals = fixed.groupby(column)["spaces"].sum()
    return totals.reindex(ids).fillna(0).to_numpy(dtype=np.int64)
