"""Reading source files into one shape: a GeoDataFrame, its CRS, and human row numbers.

GeoJSON, GeoPackage, Shapefile (.shp or zipped) and OpenStreetMap go through GDAL (pyogrio,
Arrow where it helps: 200,000 points in ~0.3 s); CSV goes through ``csvfile``. Whatever goes
wrong surfaces as a :class:`ReadError` naming the file and the reason in words, never as a
GDAL traceback.

The CRS is the file's own (GeoJSON ``crs`` member, .prj, GeoPackage SRS) unless ``crs`` is
given, which overrides it (a warning says so when they differ). Files that cannot state a CRS
(CSV, Shapefile without .prj) are taken as EPSG:4326.
"""

from __future__ import annotations

import json
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj

from ..catalog import LayerSpec
from ..catalog.validation import RowError
from ..crs import WGS84, parse_crs
from .csvfile import CHUNK_ROWS, CsvError, CsvStream, codec_name
from .osm import OsmError, read_osm
from .xlsxfile import open_workbook

FORMATS = "GeoJSON (.geojson/.json), GeoPackage (.gpkg), Shapefile (.shp or .zip), CSV (.csv/.txt/.tsv), " \
          "Excel (.xlsx), OpenStreetMap (.osm.pbf/.osm)"


class ReadError(Exception):
    """A file that cannot be read; str() names the file and the reason."""


@dataclass
class SourceData:
    frame: gpd.GeoDataFrame  # source columns (an ``id`` column if the source had ids) + geometry
    crs: pyproj.CRS | str  # the CRS to convert from: a pyproj CRS, or "gcj02"/"bd09"
    row_numbers: np.ndarray  # human row numbers (CSV: line; other formats: feature index from 1)
    description: str
    warnings: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)  # rows the reader could not make into features
    raw: pd.DataFrame | None = None  # CSV: the table as in the file (for the rejects file)


def read_source(path: Path | str, *, layer_id: str, source_layer: str | None = None, encoding: str | None = None,
                crs: str | None = None, spec: LayerSpec | None = None) -> SourceData:
    """Read ``path`` for the target layer ``layer_id`` (which also picks the layer of a multi-layer file).

    ``spec`` is needed for OpenStreetMap files, whose tags are mapped onto the layer's fields.
    """
    path = Path(path)
    _check_file(path)
    override = _override(path, crs)
    try:
        data = _read_by_type(path, layer_id, source_layer, encoding, spec)
    except (ReadError, CsvError, OsmError) as e:
        raise ReadError(f"{path}: {e}") from None
    except (RuntimeError, OSError, pyproj.exceptions.CRSError) as e:  # pyogrio's errors are RuntimeErrors
        raise ReadError(f"{path}: cannot be read: {_gdal_message(e, path)}") from None
    except Exception as e:  # noqa: BLE001 - whatever a reader or driver raises: a message, never a traceback
        raise ReadError(f"{path}: cannot be read ({type(e).__name__}: {e})") from None
    if len(data.frame) == 0 and not data.errors:
        raise ReadError(f"{path}: holds no features")
    _settle_crs(data, override, crs)
    return data


@dataclass
class Source:
    """A file opened for a streaming import: ``chunks`` yields SourceData pieces of at most
    ``chunk_rows`` rows (once; a CSV is read as it goes, other formats are read whole by GDAL
    first). ``describe(n)`` says what was read once the ``n`` rows are known."""

    crs: pyproj.CRS | str
    chunks: Iterator[SourceData]
    describe: object  # Callable[[int], str]
    warnings: list[str] = field(default_factory=list)


def open_source(path: Path | str, *, layer_id: str, source_layer: str | None = None, encoding: str | None = None,
                crs: str | None = None, spec: LayerSpec | None = None, chunk_rows: int = CHUNK_ROWS,
                sheet: str | None = None) -> Source:
    """Like read_source, in chunks: ReadError for what can be known at once (missing file, bad header);
    a ReadError raised while iterating ``chunks`` is a problem further down the file."""
    path = Path(path)
    lower = path.name.lower()
    if not lower.endswith((".csv", ".txt", ".tsv", ".xlsx", ".xlsm")):
        if sheet is not None:
            raise ReadError(f"{path}: --sheet is for Excel workbooks (.xlsx)")
        data = read_source(path, layer_id=layer_id, source_layer=source_layer, encoding=encoding, crs=crs, spec=spec)
        text = data.description
        return Source(crs=data.crs, chunks=_slices(data, chunk_rows), describe=lambda n: text,
                      warnings=data.warnings)
    _check_file(path)
    override = _override(path, crs)
    has_geometry = spec is None or spec.has_geometry
    try:
        if lower.endswith((".xlsx", ".xlsm")):
            stream = open_workbook(path, sheet, chunk_rows, has_geometry)
            kind = f"Excel {path.name}, sheet {stream.sheet!r}"
        else:
            if sheet is not None:
                raise ReadError("--sheet is for Excel workbooks (.xlsx)")
            stream = CsvStream(path, encoding, chunk_rows, has_geometry)
            kind = f"CSV {path.name}"
    except (ReadError, CsvError) as e:
        raise ReadError(f"{path}: {e}") from None
    except Exception as e:  # noqa: BLE001 - e.g. openpyxl on a damaged workbook
        raise ReadError(f"{path}: cannot be read ({type(e).__name__}: {e})") from None
    target = override if override is not None else WGS84
    geometry_from = stream.geometry_from

    def describe(n: int) -> str:
        return f"{kind} ({n:,} rows, geometry from {geometry_from}), CRS {crs_name(target)}"

    return Source(crs=target, chunks=_table_chunks(path, stream, target), describe=describe,
                  warnings=list(stream.warnings))


def _table_chunks(path: Path, stream, crs) -> Iterator[SourceData]:
    try:
        for table in stream.tables():
            frame = table.frame.set_crs(crs, allow_override=True) if isinstance(crs, pyproj.CRS) else table.frame
            yield SourceData(frame=frame, crs=crs, row_numbers=table.row_numbers, description="",
                             errors=table.errors, raw=table.raw)
    except (ReadError, CsvError) as e:
        raise ReadError(f"{path}: {e}") from None
    except Exception as e:  # noqa: BLE001 - whatever a reader raises mid-file: a message, never a traceback
        raise ReadError(f"{path}: cannot be read ({type(e).__name__}: {e})") from None


def _slices(data: SourceData, chunk_rows: int) -> Iterator[SourceData]:
    n = len(data.frame)
    for start in range(0, max(n, 1), chunk_rows):
        stop = min(n, start + chunk_rows)
        rows = data.row_numbers[start:stop]
        inside = set(rows.tolist())
        errors = [e for e in data.errors if (e.row is None and start == 0) or e.row in inside]
        yield SourceData(frame=data.frame.iloc[start:stop], crs=data.crs, row_numbers=rows, description="",
                         errors=errors, raw=None if data.raw is None else data.raw.iloc[start:stop])


def _override(path: Path, crs: str | None):
    if crs is None:
        return None
    try:
        return parse_crs(crs)
    except ValueError as e:
        raise ReadError(f"{path}: --crs: {e}") from None


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ReadError(f"{path}: no such file")
    if path.is_dir():
        raise ReadError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise ReadError(f"{path}: the file is empty (0 bytes)")


def _read_by_type(path: Path, layer_id: str, source_layer: str | None, encoding: str | None,
                  spec: LayerSpec | None) -> SourceData:
    lower = path.name.lower()
    if lower.endswith((".osm.pbf", ".pbf", ".osm")):
        return _read_osm(path, spec)
    if lower.endswith((".geojson", ".json")):
        return _read_geojson(path)
    if lower.endswith(".gpkg"):
        return _read_gpkg(path, layer_id, source_layer)
    if lower.endswith(".shp"):
        return _read_shapefile(path, encoding)
    if lower.endswith(".zip"):
        return _read_zip(path, layer_id, source_layer, encoding)
    if lower.endswith((".csv", ".txt", ".tsv")):
        return _read_csv(path, encoding, spec is None or spec.has_geometry)
    if lower.endswith((".xlsx", ".xlsm")):
        return _read_xlsx(path, spec is None or spec.has_geometry)
    if lower.endswith(".xls"):
        raise ReadError("is an old-style Excel file (.xls); open it in Excel or WPS and save it as .xlsx")
    raise ReadError(f"unsupported file type {path.suffix or '(no extension)'!r}; use {FORMATS}")


def _settle_crs(data: SourceData, override: pyproj.CRS | str | None, crs_text: str | None) -> None:
    """--crs wins over the file's own CRS (with a warning when they differ); none at all means WGS84."""
    if override is not None:
        if data.crs is not None and not _same_crs(data.crs, override):
            data.warnings.append(f"--crs {crs_text} overrides the file's own CRS ({crs_name(data.crs)})")
        data.crs = override
    elif data.crs is None:
        data.crs = WGS84
    if isinstance(data.crs, pyproj.CRS):
        data.frame = data.frame.set_crs(data.crs, allow_override=True)
    data.description += f", CRS {crs_name(data.crs)}"


def crs_name(crs: pyproj.CRS | str) -> str:
    if isinstance(crs, str):
        return crs.upper().replace("GCJ02", "GCJ-02").replace("BD09", "BD-09")
    code = crs.to_epsg()
    return f"EPSG:{code} ({crs.name})" if code else crs.name


def _same_crs(a: pyproj.CRS | str, b: pyproj.CRS | str) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return a.equals(b, ignore_axis_order=True)


def _gdal_message(error: Exception, path: Path) -> str:
    """GDAL's message without its boilerplate and with the path it repeats removed."""
    text = str(error).split("; It might help", 1)[0].strip()
    for form in (str(path), path.name):
        text = text.replace(f"'{form}' ", "").replace(f"{form}: ", "")
    return text.rstrip(".") or type(error).__name__


def _declared(crs_text: str | None) -> pyproj.CRS | None:
    return pyproj.CRS.from_user_input(crs_text) if crs_text else None


def _with_ids(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """Keep a source ``id`` column (any case) as the id; else the FID when positive and unique."""
    id_col = next((c for c in frame.columns if isinstance(c, str) and c.lower() == "id"), None)
    if id_col is not None:
        frame = frame.rename(columns={id_col: "id"})
    else:
        fids = frame.index.to_numpy()
        if len(fids) and np.issubdtype(fids.dtype, np.integer) and fids.min() > 0 and frame.index.is_unique:
            frame.insert(0, "id", fids)
    return frame.reset_index(drop=True)


def _gdal(path: str | Path, *, layer: str | None = None, encoding: str | None = None) -> tuple[gpd.GeoDataFrame, dict]:
    """Read with pyogrio (Arrow); GDAL's warnings are kept in ``info["warnings"]`` for the report."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = pyogrio.read_info(path, layer=layer, encoding=encoding)
        # GDAL promotes a GeoJSON integer ``id`` property to the FID and keeps it as a field as well;
        # asking for both gives two ``id`` columns (pandas: "Index data must be 1-dimensional").
        fid_column = info.get("fid_column") or ""
        clash = fid_column.lower() in {str(f).lower() for f in info.get("fields", [])}
        frame = pyogrio.read_dataframe(path, layer=layer, fid_as_index=not clash, use_arrow=True, encoding=encoding)
    info["warnings"] = [f"GDAL: {w.message}" for w in caught if issubclass(w.category, RuntimeWarning)]
    if not isinstance(frame, gpd.GeoDataFrame):
        raise ReadError(f"{'layer ' + repr(layer) if layer else 'the data'} has no geometry column "
                        "(an attribute table); nothing to put on a map")
    _nested_as_json(frame)
    if fid_column and not clash and fid_column.lower() != "id":
        # A real FID column (GeoPackage ``fid``) is the source's identifier: keep it as a column.
        frame.insert(0, fid_column, frame.index.to_numpy())
    return _with_ids(frame), info


def _nested_as_json(frame: pd.DataFrame) -> None:
    """Objects and arrays in properties ({"a": 1}, [1, 2]) become JSON text: a text field stores them as
    such, any other field rejects them by its type (see README, "Keeping data current")."""
    for column in frame.columns:
        if column == frame.geometry.name or frame[column].dtype != object:
            continue
        values = frame[column]
        nested = values.map(lambda v: isinstance(v, dict | list | np.ndarray))
        if nested.any():
            frame[column] = values.where(~nested, values[nested].map(_json_text))


def _json_text(value) -> str:
    return json.dumps(value.tolist() if isinstance(value, np.ndarray) else value, ensure_ascii=False,
                      default=str)


def _from_gdal(frame: gpd.GeoDataFrame, info: dict, description: str, notes: tuple[str, ...] = ()) -> SourceData:
    n = len(frame)
    return SourceData(frame=frame, crs=_declared(info.get("crs")), row_numbers=np.arange(1, n + 1),
                      description=f"{description} ({info.get('geometry_type') or 'no geometry'}, {n:,} features)",
                      warnings=[*notes, *info.get("warnings", [])])


# --------------------------------------------------------------------------- formats

def _read_geojson(path: Path) -> SourceData:
    with path.open("rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        raise ReadError("holds a JSON array; a GeoJSON file holds one object, e.g. "
                        '{"type": "FeatureCollection", "features": [...]}')
    try:
        frame, info = _gdal(path)
    except pyogrio.errors.DataSourceError as e:
        raise ReadError(_why_not_geojson(path) or f"cannot be read as GeoJSON: {_gdal_message(e, path)}") from None
    _check_legacy_crs(head)
    return _from_gdal(frame, info, f"GeoJSON {path.name}")


_LEGACY_CRS = re.compile(rb'"crs"\s*:\s*\{\s*"type"\s*:\s*"name"\s*,\s*"properties"\s*:\s*\{\s*'
                         rb'"name"\s*:\s*"([^"]{1,200})"')


def _check_legacy_crs(head: bytes) -> None:
    """A legacy ``crs`` member (GeoJSON 2008) naming a CRS nobody knows: GDAL quietly reads the coordinates
    as WGS84, which would put every feature in the wrong place without a word, so refuse it instead."""
    found = _LEGACY_CRS.search(head)
    if found is None:
        return
    name = found.group(1).decode("utf-8", "replace")
    try:
        pyproj.CRS.from_user_input(name)
    except pyproj.exceptions.CRSError:
        raise ReadError(f"its crs member names {name!r}, which is not a known coordinate system; if the "
                        "coordinates are WGS84 lon/lat remove the member, else give the right one with --crs "
                        "after removing it") from None


def _why_not_geojson(path: Path) -> str | None:
    """A precise reason for a GeoJSON file GDAL refused (JSON syntax position, or what it holds)."""
    if path.stat().st_size > 200_000_000:
        return None
    try:
        text = path.read_bytes().decode("utf-8-sig")
        doc = json.loads(text)
    except UnicodeDecodeError as e:
        return f"not UTF-8 text (byte offset {e.start}); GeoJSON must be UTF-8"
    except json.JSONDecodeError as e:
        end = "; the file looks truncated" if not text.rstrip().endswith(("}", "]")) else ""
        return f"not valid JSON ({e.msg.removesuffix(' at')}, line {e.lineno} column {e.colno}){end}"
    if isinstance(doc, dict) and "type" in doc:
        found = f"an object of type {doc['type']!r}"
    else:
        found = "an object without a \"type\" member" if isinstance(doc, dict) else f"a JSON {type(doc).__name__}"
    return f"not GeoJSON: expected a FeatureCollection, Feature or geometry object, found {found}"


def _read_gpkg(path: Path, layer_id: str, source_layer: str | None) -> SourceData:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a broken file fails below with GDAL's reason
        layers = pyogrio.list_layers(path)
    chosen = _choose_layer([str(n) for n, _ in layers], layer_id, source_layer,
                           described=", ".join(f"{n} ({t or 'no geometry'})" for n, t in layers))
    frame, info = _gdal(path, layer=chosen)
    return _from_gdal(frame, info, f"GeoPackage {path.name}, layer {chosen!r}")


def _choose_layer(names: list[str], layer_id: str, source_layer: str | None, described: str) -> str:
    """--source-layer if given; else the layer named like the target; else the only layer."""
    if source_layer is not None:
        if source_layer in names:
            return source_layer
        raise ReadError(f"has no layer {source_layer!r}; its layers: {described}")
    by_name = [n for n in names if n.lower() == layer_id.lower()]
    if by_name:
        return by_name[0]
    if len(names) == 1:
        return names[0]
    if not names:
        raise ReadError("holds no layers")
    raise ReadError(f"holds several layers and none is named {layer_id!r}; its layers: {described}; "
                    "pick one with --source-layer")


def _sidecar(files: dict[str, str], stem: str, ext: str) -> str | None:
    """The member/file named stem + ext, any case (``files`` maps lower-case names to real names)."""
    return files.get(f"{stem}{ext}".lower())


def _shapefile(gdal_path: str, files: dict[str, str], stem: str, read_bytes, encoding: str | None) -> SourceData:
    """Shared by .shp and .zip: sidecar checks, encoding choice, CRS from .prj."""
    for ext in (".dbf", ".shx"):
        if _sidecar(files, stem, ext) is None:
            raise ReadError(f"the Shapefile has no {ext} beside {stem}.shp (a Shapefile is .shp + .shx + .dbf, "
                            "plus .prj for its CRS and .cpg for its text encoding)")
    notes: list[str] = []
    cpg = _sidecar(files, stem, ".cpg")
    if cpg is not None:
        declared = read_bytes(cpg).decode("ascii", "replace").strip()
        if encoding is not None and declared.lower().replace("-", "") != encoding.lower().replace("-", ""):
            notes.append(f"the .cpg says the text is {declared}; --encoding {encoding} was not used")
        encoding = None  # GDAL reads the .cpg itself
    elif encoding is None:
        encoding = _guess_dbf_encoding(read_bytes(_sidecar(files, stem, ".dbf"), 1 << 20), notes)
    else:
        encoding = codec_name(encoding).upper()  # GDAL (iconv) takes the same names
    frame, info = _gdal(gdal_path, encoding=encoding)
    if _sidecar(files, stem, ".prj") is None:
        info["crs"] = None
        notes.append("the Shapefile has no .prj: coordinates taken as EPSG:4326 lon/lat unless --crs is given")
    return _from_gdal(frame, info, f"Shapefile {stem}.shp", notes=tuple(notes))


def _guess_dbf_encoding(head: bytes, notes: list[str]) -> str | None:
    """No .cpg and no --encoding: the DBF code-page byte if set, else UTF-8 if the text decodes as such.

    Otherwise GBK (as GB18030): Shapefiles from Chinese ArcGIS/MapGIS installs without a .cpg are
    almost always GBK. Said in a warning, with the way to override it.
    """
    if len(head) > 29 and head[29] != 0:
        return None  # GDAL maps the language-driver id (e.g. 0x4D = GB2312) itself
    text = _dbf_text(head)
    for codec in ("utf-8", "gb18030"):
        try:
            text.decode(codec)
        except UnicodeDecodeError as e:
            if e.start < len(text) - 3:  # not merely a character cut by the sample's end
                continue
        if codec == "gb18030":
            notes.append("the Shapefile has no .cpg and its text is not UTF-8: read as GBK; if names look "
                         "wrong, re-import with --encoding NAME")
        return codec.upper()
    notes.append("the Shapefile has no .cpg and its text is neither UTF-8 nor GBK: read as ISO-8859-1; "
                 "pass --encoding NAME")
    return "ISO-8859-1"


def _dbf_text(head: bytes) -> bytes:
    """The text parts of a DBF's start: field names (32-byte descriptors up to 0x0D) and the records."""
    header_length = int.from_bytes(head[8:10], "little") if len(head) >= 10 else len(head)
    names = []
    for start in range(32, min(header_length, len(head)) - 1, 32):
        if head[start] == 0x0D:
            break
        names.append(head[start:start + 11].split(b"\0", 1)[0])
    return b" ".join(names) + b" " + head[header_length:]


def _read_shapefile(path: Path, encoding: str | None) -> SourceData:
    files = {p.name.lower(): p.name for p in path.parent.iterdir()}
    stem = path.name[:-4]

    def read_bytes(member: str, limit: int = -1) -> bytes:
        with (path.parent / member).open("rb") as f:
            return f.read(limit)

    return _shapefile(str(path), files, stem, read_bytes, encoding)


def _read_zip(path: Path, layer_id: str, source_layer: str | None, encoding: str | None) -> SourceData:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ReadError("is not a valid zip archive") from None
    with archive:
        names = [n for n in archive.namelist() if not n.startswith("__MACOSX/") and not n.endswith("/")]
        shps = [n for n in names if n.lower().endswith(".shp")]
        if not shps:
            shown = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "") or "nothing"
            raise ReadError(f"the zip archive holds no .shp file (it holds: {shown})")
        stems = {Path(n).name[:-4]: n for n in shps}
        member = stems[_choose_layer(list(stems), layer_id, source_layer, described=", ".join(stems))]
        folder = member.rsplit("/", 1)[0] + "/" if "/" in member else ""
        files = {n[len(folder):].lower(): n for n in names if n.startswith(folder) and "/" not in n[len(folder):]}

        def read_bytes(name: str, limit: int = -1) -> bytes:
            with archive.open(name) as f:
                return f.read(limit)

        data = _shapefile(f"/vsizip/{path.resolve()}/{member}", files, Path(member).name[:-4], read_bytes, encoding)
    data.description = f"zipped {data.description} in {path.name}"
    return data


def _read_csv(path: Path, encoding: str | None, geometry: bool = True) -> SourceData:
    stream = CsvStream(path, encoding, chunk_rows=1 << 62, geometry=geometry)  # one chunk: the whole file
    table = next(stream.tables(), None) or stream.empty()
    n = len(table.frame)
    return SourceData(frame=table.frame, crs=None, row_numbers=table.row_numbers,
                      description=f"CSV {path.name} ({n:,} rows, geometry from {table.geometry_from})",
                      errors=table.errors, raw=table.raw)


def _read_xlsx(path: Path, geometry: bool = True) -> SourceData:
    stream = open_workbook(path, None, chunk_rows=1 << 62, geometry=geometry)  # one chunk: the whole sheet
    table = next(stream.tables(), None) or stream.empty()
    n = len(table.frame)
    return SourceData(frame=table.frame, crs=None, row_numbers=table.row_numbers,
                      description=f"Excel {path.name}, sheet {stream.sheet!r} ({n:,} rows, geometry from "
                                  f"{table.geometry_from})", errors=table.errors, raw=table.raw,
                      warnings=stream.warnings)


def _read_osm(path: Path, spec: LayerSpec | None) -> SourceData:
    if spec is None:
        raise ReadError("OpenStreetMap files need the target layer's spec to map tags onto fields")
    frame, notes = read_osm(path, spec)
    n = len(frame)
    if n == 0:
        raise ReadError(f"holds no OpenStreetMap features for layer {spec.id!r} (see the OSM mapping in "
                        "geo_service/ingest/osm.py)")
    return SourceData(frame=frame, crs=WGS84, row_numbers=np.arange(1, n + 1),
                      description=f"OpenStreetMap {path.name} ({n:,} features for {spec.id})", warnings=notes)
