"""Getting input frames into shape: ids, a metric CRS, typed columns, and back to lon/lat.

Analyses accept frames from the store (indexed by ``id``, EPSG:4326), from ``build_demo``
(an ``id`` column) or from anywhere else (any CRS pyproj knows; no CRS means lon/lat). Rows are
sorted by id first, so every result is independent of the input's row order. Columns a frame
lacks read as missing values, so hand-built frames need only the fields an analysis uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..crs import metric_crs, to_wgs84

WGS84 = "EPSG:4326"
LONLAT = "_lonlat"  # column of metric frames holding each row's original lon/lat geometry


def with_ids(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame indexed by its integer ``id`` (column or index), sorted by it, with a CRS."""
    out = frame.set_index("id") if "id" in frame.columns else frame.copy()
    out.index = pd.Index(pd.to_numeric(out.index), name="id")
    if out.crs is None:
        out = out.set_crs(WGS84)
    return out.sort_index(kind="stable")


def choose_crs(frames: Sequence[gpd.GeoDataFrame | None], configured: str | None = None) -> pyproj.CRS:
    """The configured metric CRS, else the UTM zone of the first non-empty frame's lon/lat bounds.

    The bounds are taken in lon/lat whatever the input CRS, so the same data given in EPSG:4326 or
    in a Gauss-Kruger grid is analysed in the same CRS and gives the same numbers.
    """
    for frame in frames:
        if frame is not None and len(frame) and not frame.geometry.is_empty.all():
            geoms = frame.geometry if frame.crs is not None else frame.geometry.set_crs(WGS84)
            bounds = geoms.to_crs(WGS84).total_bounds
            return metric_crs(bounds, configured)
    return metric_crs((0.0, 0.0, 0.0, 0.0), configured)


def to_metric(frame: gpd.GeoDataFrame | None, crs: pyproj.CRS) -> gpd.GeoDataFrame | None:
    """Ids in the index (sorted) and geometry in ``crs``; None stays None.

    The lon/lat geometry rides along in column ``LONLAT`` so results can show the input's own
    coordinates rather than a round trip through the metric CRS.
    """
    if frame is None:
        return None
    frame = with_ids(frame)
    if LONLAT in frame.columns and frame.crs is not None and frame.crs.equals(crs):
        return frame  # prepared already (an analysis running others converts once)
    original = frame.geometry.to_crs(WGS84)
    out = frame.to_crs(crs)
    out[LONLAT] = np.asarray(original.values, dtype=object)
    return out


def lonlat_of(frame_m: gpd.GeoDataFrame) -> np.ndarray:
    """The lon/lat geometries of a frame made by :func:`to_metric` (after any filtering)."""
    return frame_m[LONLAT].to_numpy(dtype=object)


def lonlat(geoms: np.ndarray | gpd.GeoSeries, crs: pyproj.CRS) -> np.ndarray:
    """Metric geometries back to lon/lat (an object array; None stays None)."""
    arr = np.asarray(geoms, dtype=object)
    out = np.full(len(arr), None, dtype=object)
    present = ~shapely.is_missing(arr)
    if present.any():
        out[present] = to_wgs84(arr[present], crs)
    return out


def geometries(frame: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(frame.geometry.values, dtype=object)


def representative_points(frame: gpd.GeoDataFrame) -> np.ndarray:
    """A point inside each geometry (a point stays itself): where lines start and walks begin."""
    return shapely.point_on_surface(geometries(frame))


def num(frame: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """A column as floats, NaN where missing (also when the frame lacks the column)."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def text(frame: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """A column as an object array of str or None."""
    if column not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    values = frame[column].astype(object).to_numpy()
    return np.where(pd.isna(values), None, values).astype(object)


def flag(frame: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """A boolean column with missing values as False."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return pd.array(frame[column].astype(object).where(frame[column].notna(), None),
                    dtype="boolean").fillna(False).to_numpy(dtype=bool)


def known(frame: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """Where a column has a value (False everywhere when the frame lacks it)."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].notna().to_numpy()


def joined(values: Sequence, groups: np.ndarray, n: int, sep: str = ",") -> np.ndarray:
    """``sep``-joined strings of ``values`` per group 0..n-1, in the given order ("" for groups without any)."""
    out = np.full(n, "", dtype=object)
    groups = np.asarray(groups, dtype=np.int64)
    if len(groups):
        order = np.argsort(groups, kind="stable")
        strings = np.array([str(v) for v in np.asarray(values, dtype=object)[order]], dtype=object)
        g = groups[order]
        starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
        for group, chunk in zip(g[starts], np.split(strings, starts[1:]), strict=True):
            out[group] = sep.join(chunk)
    return out


def result_frame(columns: dict, geoms: np.ndarray | None, index: Sequence | None = None,
                 index_name: str | None = None) -> gpd.GeoDataFrame:
    """A result part in EPSG:4326 (geometry may be all None for pure tables)."""
    data = pd.DataFrame(columns, index=index)
    if index_name:
        data.index.name = index_name
    if geoms is None:
        geoms = np.full(len(data), None, dtype=object)
    series = gpd.GeoSeries(np.asarray(geoms, dtype=object), index=data.index, crs=WGS84)
    return gpd.GeoDataFrame(data, geometry=series, crs=WGS84)
