"""Move a whole dataset between two stores (`geo-service db copy`), GeoPackage and PostGIS either way.

Every catalog layer is copied with its ids, the audit log goes along, and the destination's
id counters are raised to the source's, so an id deleted before the move is not handed out
again after it (audit trails refer to ids). The destination's layers and audit are replaced.
Only the FeatureStore contract is used, so any pair of stores works.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..catalog import Catalog
from .base import FeatureStore
from .geopackage import GeoPackageStore


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
        from .postgis import PostGISStore  # deferred: psycopg is an optional dependency

        return PostGISStore(where, catalog, metric_crs=metric_crs)
    return GeoPackageStore(Path(where), catalog, metric_crs=metric_crs)


def copy_dataset(src: FeatureStore, dst: FeatureStore, audit: bool = True,
                 say: Callable[[str], None] = lambda msg: None) -> dict[str, int]:
    """Copy every layer of the catalog (ids kept), then the audit log; returns rows per layer."""
    counts: dict[str, int] = {}
    for spec in src.catalog:
        frame = src.frame(spec.id).reset_index()
        dst.import_frame(spec.id, frame, mode="replace")
        top = int(frame["id"].max()) if len(frame) else 0
        dst.next_id_floor(spec.id, max(src.last_id(spec.id), top))
        counts[spec.id] = len(frame)
        say(f"{spec.id:24s} {len(frame):>9,d}")
    if audit:
        records = src.audit_records()
        dst.replace_audit(records)
        say(f"{'audit records':24s} {len(records):>9,d}")
    return counts
