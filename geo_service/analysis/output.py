"""Serialising results: GeoJSON FeatureCollections, CSV tables and files (GeoPackage, CSV, GeoJSON).

Used by the API and the CLI alike, so a file and a response hold the same numbers. CSV is written
with a byte-order mark so that Excel, which Chinese street offices open it with, reads UTF-8; with
``lang="zh"`` the headers are the Chinese column titles of :mod:`.labels`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyogrio
import shapely

from .labels import CODE_SUFFIX, COLUMNS_ZH, VALUES, YES_NO
from .result import AnalysisResult

FILE_SUFFIXES = (".gpkg", ".csv", ".geojson", ".json")


def _plain_columns(frame: pd.DataFrame) -> dict[str, list]:
    """Each column as a list of JSON-ready Python values (missing -> None)."""
    out = {}
    for column in frame.columns:
        series = frame[column]
        values = series.astype(object).where(series.notna(), None).tolist()
        out[str(column)] = [v.item() if isinstance(v, np.generic) else v for v in values]
    return out


def feature_collection(frame: gpd.GeoDataFrame, members: dict[str, Any] | None = None) -> bytes:
    """A GeoJSON FeatureCollection of a result part; ``members`` are added as foreign members."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    geo_json = shapely.to_geojson(geoms) if len(geoms) else []
    columns = _plain_columns(frame.drop(columns=frame.geometry.name))
    ids = [v.item() if isinstance(v, np.generic) else v for v in frame.index.tolist()]
    names = list(columns)
    features = []
    for i, fid in enumerate(ids):
        props = orjson.dumps({c: columns[c][i] for c in names})
        geometry = geo_json[i].encode() if geo_json[i] is not None else b"null"
        features.append(b'{"type":"Feature","id":%s,"geometry":%s,"properties":%s}'
                        % (orjson.dumps(fid), geometry, props))
    head = {"type": "FeatureCollection", **(members or {}), "numberReturned": len(features)}
    return orjson.dumps(head)[:-1] + b',"features":[' + b",".join(features) + b"]}"


def table(frame: gpd.GeoDataFrame, lang: str = "en") -> pd.DataFrame:
    """The part as a plain table for people: the index first, no geometry, everything in ``lang``.

    Coded values show as their labels with the codes in the next column (for joins and scripts),
    yes/no columns as 是/否 or Yes/No, a column's twin in the other language (``tier_zh``,
    ``categories_en``) is left out, and headers are unique."""
    data = pd.DataFrame(frame.drop(columns=frame.geometry.name)).reset_index()
    data = _one_language(data, lang)
    i = 0 if lang == "zh" else 1  # labels are (zh, en)
    columns: dict[str, pd.Series] = {}
    for name in data.columns:
        series, header = data[name], _header(str(name), lang)
        codes = VALUES.get(str(name))
        if codes is not None and not pd.api.types.is_numeric_dtype(series):
            columns[header] = series.map(lambda v, c=codes: c[v][i] if v in c else v)
            columns[_unique(header + CODE_SUFFIX[lang], columns)] = series
        elif pd.api.types.is_bool_dtype(series) or _is_yes_no(series):
            columns[_unique(header, columns)] = series.map(lambda v: YES_NO[bool(v)][i] if _known(v) else v)
        else:
            columns[_unique(header, columns)] = series
    return pd.DataFrame(columns)


def _one_language(data: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Drop the other language's twin columns; in English, ``x_en`` takes the place of ``x``."""
    other = "_en" if lang == "zh" else "_zh"
    data = data.drop(columns=[c for c in data.columns if str(c).endswith(other)])
    if lang == "zh":
        return data.drop(columns=[c for c in data.columns if str(c).endswith("_zh") and str(c)[:-3] in VALUES])
    twins = {c: str(c)[:-3] for c in data.columns if str(c).endswith("_en") and str(c)[:-3] in data.columns}
    return data.drop(columns=list(twins.values())).rename(columns=twins)


def _header(name: str, lang: str) -> str:
    return COLUMNS_ZH.get(name, name) if lang == "zh" else name


def _unique(header: str, taken: dict) -> str:
    out, n = header, 2
    while out in taken:
        out, n = f"{header} ({n})", n + 1
    return out


def _known(v: Any) -> bool:
    return v is not None and v is not pd.NA and not (isinstance(v, float) and np.isnan(v))


def _is_yes_no(series: pd.Series) -> bool:
    """An object column holding only booleans (and missing values)."""
    if series.dtype != object:
        return False
    present = series.dropna()
    return len(present) > 0 and all(isinstance(v, bool | np.bool_) for v in present)


def csv_bytes(frame: gpd.GeoDataFrame, lang: str = "en") -> bytes:
    return table(frame, lang).to_csv(index=False).encode("utf-8-sig")


def _for_file(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Object columns that hold numbers or booleans (with None) get a nullable dtype GDAL can write."""
    out = frame.reset_index()
    for column in out.columns:
        if column == out.geometry.name or out[column].dtype != object:
            continue
        kind = pd.api.types.infer_dtype(out[column], skipna=True)
        if kind == "integer":
            out[column] = out[column].astype("Int64")
        elif kind in ("floating", "mixed-integer-float"):
            out[column] = out[column].astype("Float64")
        elif kind == "boolean":
            out[column] = out[column].astype("boolean")
    return out


def write(result: AnalysisResult, path: Path | str, part: str | None = None, lang: str = "en") -> list[str]:
    """Write to ``path`` by its suffix: .gpkg every part as a layer, .csv/.geojson one part; returns parts written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise ValueError(f"{path.name}: write .gpkg, .csv or .geojson")
    if suffix == ".gpkg":
        names = [part] if part else list(result.parts)
        if path.exists():
            path.unlink()
        for name in names:
            frame = _for_file(result[name])
            if frame.geometry.isna().all():  # a plain table: a GeoPackage attribute table
                frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
            pyogrio.write_dataframe(frame, path, layer=name.replace("-", "_"), driver="GPKG")
        return names
    name = part or result.main_part
    if suffix == ".csv":
        path.write_bytes(csv_bytes(result[name], lang))
    else:
        path.write_bytes(feature_collection(result[name], {"part": name}))
    return [name]
