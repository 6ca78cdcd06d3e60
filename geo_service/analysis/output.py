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

from .labels import COLUMNS_ZH
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
    """The part as a plain table: the index as the first column, no geometry, headers by ``lang``."""
    data = pd.DataFrame(frame.drop(columns=frame.geometry.name)).reset_index()
    if lang == "zh":
        data = data.rename(columns=lambda c: COLUMNS_ZH.get(str(c), str(c)))
    return data


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
