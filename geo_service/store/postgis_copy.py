"""Move a whole dataset between a GeoPackage and PostGIS (`geo-service db copy`), either way.

Every catalog layer is copied with its ids, the audit log goes along, and the destination's
id counters are raised to the source's, so an id deleted before the move is not handed out
again after it (audit trails refer to ids). The destination's layers and audit are replaced.
The GeoPackage side's audit table and id counters are read and written with sqlite3, in the
layout store/gpkg_format.py defines; the PostGIS side goes through the store's own methods.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from ..catalog import Catalog
from .base import FeatureStore


def parse_location(text: str) -> tuple[str, str]:
    """``gpkg:PATH``, ``PATH.gpkg`` or ``postgresql://...`` -> (kind, path-or-url)."""
    if text.startswith(("postgresql://", "postgres://")):
        return "postgis", text
    if text.startswith("gpkg:"):
        return "gpkg", text[len("gpkg:"):]
    if text.lower().endswith(".gpkg"):
        return "gpkg", text
    raise ValueError(f"{text!r}: use gpkg:PATH (or a .gpkg path) or a postgresql:// URL")


def open_location(text: str, catalog: Catalog, metric_crs: str | None = None) -> FeatureStore:
    kind, where = parse_location(text)
    if kind == "postgis":
        from .postgis import PostGISStore

        return PostGISStore(where, catalog, metric_crs=metric_crs)
    from .geopackage import GeoPackageStore

    return GeoPackageStore(Path(where), catalog, metric_crs=metric_crs)


def copy_dataset(src: FeatureStore, dst: FeatureStore, audit: bool = True,
                 say: Callable[[str], None] = lambda msg: None) -> dict[str, int]:
    """Copy every layer of the catalog (ids kept), then the audit log; returns rows per layer."""
    counts: dict[str, int] = {}
    for spec in src.catalog:
        frame = src.frame(spec.id).reset_index()
        dst.import_frame(spec.id, frame, mode="replace")
        _set_last_id(dst, spec.id, max(_last_id(src, spec.id), int(frame["id"].max()) if len(frame) else 0))
        counts[spec.id] = len(frame)
        say(f"{spec.id:24s} {len(frame):>9,d}")
    if audit:
        records = _read_audit(src)
        _write_audit(dst, records)
        say(f"{'audit records':24s} {len(records):>9,d}")
    return counts


# ---- the two sides: PostGIS has methods for this; the GeoPackage is reached with sqlite3

def _gpkg_path(store: FeatureStore) -> Path:
    return Path(store.path)  # GeoPackageStore


def _last_id(store: FeatureStore, layer: str) -> int:
    if hasattr(store, "last_id"):
        return store.last_id(layer)
    with sqlite3.connect(_gpkg_path(store)) as conn:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (layer,)).fetchone()
    return int(row[0]) if row else 0


def _set_last_id(store: FeatureStore, layer: str, value: int) -> None:
    if hasattr(store, "next_id_floor"):
        store.next_id_floor(layer, value)
        return
    conn = sqlite3.connect(_gpkg_path(store), timeout=60)
    try:
        with conn:
            conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (value, layer))
            if conn.execute("SELECT changes()").fetchone()[0] == 0:
                conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (layer, value))
    finally:
        conn.close()


_AUDIT_COLUMNS = ("layer", "feature_id", "action", "actor", "at", "before", "after")


def _read_audit(store: FeatureStore) -> list[dict[str, Any]]:
    if hasattr(store, "audit_records"):
        return store.audit_records()
    with sqlite3.connect(_gpkg_path(store)) as conn:
        rows = conn.execute(f"SELECT {', '.join(_AUDIT_COLUMNS)} FROM gcs_audit ORDER BY id").fetchall()
    return [{**dict(zip(_AUDIT_COLUMNS, r, strict=True)),
             "before": orjson.loads(r[5]) if r[5] else None, "after": orjson.loads(r[6]) if r[6] else None}
            for r in rows]


def _write_audit(store: FeatureStore, records: list[dict[str, Any]]) -> None:
    if hasattr(store, "replace_audit"):
        store.replace_audit(records)
        return
    conn = sqlite3.connect(_gpkg_path(store), timeout=60)
    try:
        with conn:
            conn.execute("DELETE FROM gcs_audit")
            conn.executemany(
                f"INSERT INTO gcs_audit ({', '.join(_AUDIT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r["layer"], r["feature_id"], r["action"], r["actor"], r["at"],
                  orjson.dumps(r["before"]).decode() if r["before"] is not None else None,
                  orjson.dumps(r["after"]).decode() if r["after"] is not None else None) for r in records])
    finally:
        conn.close()
