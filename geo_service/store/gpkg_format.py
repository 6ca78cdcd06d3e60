"""The bits of the OGC GeoPackage 1.2 format the embedded store writes itself.

The store talks to SQLite directly (not through GDAL) so that every write is one
transaction it controls. What it writes is an ordinary GeoPackage: core tables,
feature tables registered in gpkg_contents/gpkg_geometry_columns, the standard
R-tree extension with its triggers, and data-column titles/enums for QGIS.
"""

from __future__ import annotations

import sqlite3
import struct

import numpy as np
import shapely

from ..catalog import LayerSpec

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10200  # GeoPackage 1.2
SRS_ID = 4326

WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)

SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "boolean": "BOOLEAN",
             "date": "DATE", "datetime": "DATETIME", "list": "TEXT"}  # a list: its JSON array as text

CORE_DDL = """
CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE IF NOT EXISTS gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE IF NOT EXISTS gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
CREATE TABLE IF NOT EXISTS gpkg_data_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT,
  mime_type TEXT, constraint_name TEXT,
  CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name));
CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (
  constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, value TEXT, min NUMERIC,
  min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN, description TEXT,
  CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value));
CREATE TABLE IF NOT EXISTS gcs_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT, layer TEXT NOT NULL, feature_id INTEGER NOT NULL,
  action TEXT NOT NULL, actor TEXT, at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  before TEXT, after TEXT);
CREATE INDEX IF NOT EXISTS gcs_audit_feature ON gcs_audit (layer, feature_id);
CREATE TABLE IF NOT EXISTS gcs_layer_state (
  layer TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 0,
  updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
"""

SRS_ROWS = [
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
    ("WGS 84 geodetic", SRS_ID, "EPSG", 4326, WGS84_WKT, "longitude/latitude coordinates in decimal degrees"),
]

# ---------------------------------------------------------------- geometry blobs

_HEADER = struct.Struct("<2sBBi4d")  # magic, version, flags, srs_id, minx, maxx, miny, maxy
_FLAGS_LE_ENVELOPE_XY = 0b0000_0011
_FLAGS_EMPTY = 0b0001_0001
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def encode(geoms: np.ndarray) -> list[bytes | None]:
    """Shapely geometries -> GeoPackage blobs (little-endian WKB with an XY envelope)."""
    geoms = np.asarray(geoms, dtype=object)
    wkb = shapely.to_wkb(geoms, byte_order=1, output_dimension=2)
    b = shapely.bounds(geoms)
    empty = shapely.is_empty(geoms)
    pack = _HEADER.pack
    out: list[bytes | None] = []
    for i, w in enumerate(wkb):
        if w is None:
            out.append(None)
        elif empty[i]:
            out.append(struct.pack("<2sBBi", b"GP", 0, _FLAGS_EMPTY, SRS_ID) + w)
        else:
            out.append(pack(b"GP", 0, _FLAGS_LE_ENVELOPE_XY, SRS_ID, b[i, 0], b[i, 2], b[i, 1], b[i, 3]) + w)
    return out


def _header_len(blob: bytes) -> int:
    return 8 + _ENVELOPE_BYTES.get((blob[3] >> 1) & 0b111, 0)


def decode(blobs: list[bytes | None]) -> np.ndarray:
    """GeoPackage blobs (ours or GDAL's) -> shapely geometries."""
    wkb = [None if b is None else b[_header_len(b):] for b in blobs]
    return shapely.from_wkb(np.asarray(wkb, dtype=object))


def _envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """(minx, maxx, miny, maxy) from the header, or computed when the header has none."""
    if blob is None or len(blob) < 8:
        return None
    flags = blob[3]
    if flags & 0b1_0000:
        return None
    if (flags >> 1) & 0b111:
        order = "<" if flags & 1 else ">"
        return struct.unpack_from(order + "4d", blob, 8)
    g = shapely.from_wkb(blob[_header_len(blob):])
    if g.is_empty:
        return None
    minx, miny, maxx, maxy = g.bounds
    return minx, maxx, miny, maxy


def _st(i: int):
    def f(blob):
        env = _envelope(blob)
        return None if env is None else env[i]
    return f


def register_functions(conn: sqlite3.Connection) -> None:
    """The SQL functions the R-tree extension's triggers call (GDAL registers its own)."""
    for name, idx in (("ST_MinX", 0), ("ST_MaxX", 1), ("ST_MinY", 2), ("ST_MaxY", 3)):
        conn.create_function(name, 1, _st(idx), deterministic=True)
    conn.create_function("ST_IsEmpty", 1, lambda b: 1 if b is None or _envelope(b) is None else 0,
                         deterministic=True)


# ---------------------------------------------------------------- DDL

def q(name: str) -> str:
    """Quote an identifier. Names come from the validated catalog, so this is belt and braces."""
    return '"' + name.replace('"', '""') + '"'


def exec_script(conn: sqlite3.Connection, script: str) -> None:
    """Run several statements inside the caller's transaction (executescript would commit)."""
    stmt = ""
    for line in script.splitlines(keepends=True):
        stmt += line
        if sqlite3.complete_statement(stmt):
            conn.execute(stmt)
            stmt = ""
    if stmt.strip():
        raise ValueError(f"incomplete SQL statement: {stmt[:80]!r}")


def init_core(conn: sqlite3.Connection) -> None:
    exec_script(conn, CORE_DDL)
    conn.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)", SRS_ROWS)
    conn.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) VALUES "
                 "('gcs_layer_state', 'attributes', 'gcs_layer_state', 'compound-gis: version stamp per layer')")
    conn.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) VALUES "
                 "('gcs_audit', 'attributes', 'gcs_audit', 'compound-gis: who changed which feature, when, "
                 "before and after (GeoJSON)')")
    for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
        if not conn.execute("SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND extension_name = "
                            "'gpkg_schema'", (table,)).fetchone():
            conn.execute("INSERT INTO gpkg_extensions VALUES (?, NULL, 'gpkg_schema', "
                         "'http://www.geopackage.org/spec/#extension_schema', 'read-write')", (table,))
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {USER_VERSION}")


def schema_current(conn: sqlite3.Connection, catalog) -> bool:
    """True when the file already has every table, column and trigger this catalog needs (read-only)."""
    if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        return False
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"gpkg_contents", "gpkg_geometry_columns", "gcs_layer_state", "gcs_audit", "gpkg_data_columns"} <= tables:
        return False
    triggers = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    states = {r[0] for r in conn.execute("SELECT layer FROM gcs_layer_state")}
    for spec in catalog:
        if spec.id not in tables or spec.id not in states:
            return False
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({q(spec.id)})")}
        if not set(spec.field_names) <= have:
            return False
        if not {f"gcs_{spec.id}_version_{e}" for e in ("insert", "update", "delete")} <= triggers:
            return False
    return True


def create_layer(conn: sqlite3.Connection, spec: LayerSpec) -> None:
    """Table, registration, R-tree with the standard triggers, and the version trigger."""
    t = spec.id
    cols = ", ".join(f"{q(f.name)} {SQL_TYPES[f.type]}" for f in spec.fields)
    conn.execute(f"CREATE TABLE {q(t)} (id INTEGER PRIMARY KEY AUTOINCREMENT, geom {spec.geometry_column_type}, "
                 f"{cols})")
    conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                 "VALUES (?, 'features', ?, ?, ?)", (t, spec.title.en, spec.description, SRS_ID))
    conn.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, 0, 0)",
                 (t, spec.geometry_column_type, SRS_ID))
    conn.execute("INSERT INTO gpkg_extensions VALUES (?, 'geom', 'gpkg_rtree_index', "
                 "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')", (t,))
    rt = q(f"rtree_{t}_geom")
    conn.execute(f"CREATE VIRTUAL TABLE {rt} USING rtree(id, minx, maxx, miny, maxy)")
    env = "ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)"
    has = "(NEW.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))"
    hasnt = "(NEW.geom IS NULL OR ST_IsEmpty(NEW.geom))"
    tr = f"rtree_{t}_geom"
    exec_script(conn, f"""
CREATE TRIGGER {q(tr + '_insert')} AFTER INSERT ON {q(t)} WHEN {has}
BEGIN INSERT OR REPLACE INTO {rt} VALUES (NEW.id, {env}); END;
CREATE TRIGGER {q(tr + '_update1')} AFTER UPDATE OF geom ON {q(t)} WHEN OLD.id = NEW.id AND {has}
BEGIN INSERT OR REPLACE INTO {rt} VALUES (NEW.id, {env}); END;
CREATE TRIGGER {q(tr + '_update2')} AFTER UPDATE OF geom ON {q(t)} WHEN OLD.id = NEW.id AND {hasnt}
BEGIN DELETE FROM {rt} WHERE id = OLD.id; END;
CREATE TRIGGER {q(tr + '_update3')} AFTER UPDATE ON {q(t)} WHEN OLD.id != NEW.id AND {has}
BEGIN DELETE FROM {rt} WHERE id = OLD.id; INSERT OR REPLACE INTO {rt} VALUES (NEW.id, {env}); END;
CREATE TRIGGER {q(tr + '_update4')} AFTER UPDATE ON {q(t)} WHEN OLD.id != NEW.id AND {hasnt}
BEGIN DELETE FROM {rt} WHERE id IN (OLD.id, NEW.id); END;
CREATE TRIGGER {q(tr + '_delete')} AFTER DELETE ON {q(t)} WHEN OLD.geom NOT NULL
BEGIN DELETE FROM {rt} WHERE id = OLD.id; END;
""")
    create_version_triggers(conn, t)
    conn.execute("INSERT OR IGNORE INTO gcs_layer_state (layer, version) VALUES (?, 0)", (t,))
    describe_columns(conn, spec)


def bulk_triggers(conn: sqlite3.Connection, t: str) -> list[str]:
    """Drop the per-row triggers that a bulk insert would fire; return their SQL to recreate them.

    Call inside the import's transaction: SQLite DDL is transactional, so a failed or killed
    import restores the triggers along with the data.
    """
    names = [f"rtree_{t}_geom_insert", f"gcs_{t}_version_insert"]
    sqls = []
    for name in names:
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)).fetchone()
        if row:
            sqls.append(row[0])
            conn.execute(f"DROP TRIGGER {q(name)}")
    return sqls


def fill_rtree(conn: sqlite3.Connection, t: str, ids: list[int], geoms: np.ndarray) -> None:
    b = shapely.bounds(np.asarray(geoms, dtype=object))
    ok = ~np.isnan(b).any(axis=1)
    rows = zip(np.asarray(ids)[ok].tolist(), b[ok, 0].tolist(), b[ok, 2].tolist(), b[ok, 1].tolist(),
               b[ok, 3].tolist(), strict=True)
    conn.executemany(f"INSERT OR REPLACE INTO {q(f'rtree_{t}_geom')} VALUES (?, ?, ?, ?, ?)", rows)


def bump_version(conn: sqlite3.Connection, t: str) -> None:
    conn.execute("UPDATE gcs_layer_state SET version = version + 1, "
                 "updated = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE layer = ?", (t,))


def create_version_triggers(conn: sqlite3.Connection, t: str) -> None:
    """Bump the layer's version on any row change, whoever writes (this service, GDAL, QGIS)."""
    bump = (f"UPDATE gcs_layer_state SET version = version + 1, "
            f"updated = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE layer = '{t}';")
    for event in ("INSERT", "UPDATE", "DELETE"):
        conn.execute(f"CREATE TRIGGER IF NOT EXISTS {q(f'gcs_{t}_version_{event.lower()}')} "
                     f"AFTER {event} ON {q(t)} BEGIN {bump} END")


def add_missing_columns(conn: sqlite3.Connection, spec: LayerSpec) -> list[str]:
    """A field added to the YAML later becomes a new nullable column; nothing else changes."""
    have = {r[1] for r in conn.execute(f"PRAGMA table_info({q(spec.id)})")}
    added = []
    for f in spec.fields:
        if f.name not in have:
            conn.execute(f"ALTER TABLE {q(spec.id)} ADD COLUMN {q(f.name)} {SQL_TYPES[f.type]}")
            added.append(f.name)
    if added:
        describe_columns(conn, spec)
    return added


def describe_columns(conn: sqlite3.Connection, spec: LayerSpec) -> None:
    """Field titles and allowed values in gpkg_data_columns: GDAL/QGIS show them as aliases and domains."""
    t = spec.id
    for f in spec.fields:
        cname = None
        if f.values:
            cname = f"{t}_{f.name}_values"
            conn.execute("DELETE FROM gpkg_data_column_constraints WHERE constraint_name = ?", (cname,))
            conn.executemany(
                "INSERT INTO gpkg_data_column_constraints (constraint_name, constraint_type, value, description)"
                " VALUES (?, 'enum', ?, ?)",
                [(cname, v, f"{title.zh} / {title.en}") for v, title in f.values.items()])
        conn.execute("INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title, "
                     "description, constraint_name) VALUES (?, ?, ?, ?, ?, ?)",
                     (t, f.name, f.title.zh, f.title.en, f.description or None, cname))
