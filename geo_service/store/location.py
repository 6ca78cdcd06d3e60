"""Where the GeoPackage store is, and refusing the wrong one before anything is opened.

Opening a path that does not exist would silently create a new, empty store (SQLite does): an
import run from another folder or a mistyped ``GEO_SERVICE_GPKG`` then writes where nobody
looks. Only the commands that mean to create a store (``demo``, ``db init``, ``import
--new-store``) pass ``create=True``; everything else gets one line naming the absolute path.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import StoreError

SQLITE_HEADER = b"SQLite format 3\x00"
HOW_TO_SET = "set GEO_SERVICE_GPKG to the store's path"


class StoreLocationError(StoreError):
    """The configured GeoPackage is missing, a folder, unreadable or not a GeoPackage."""


def check_gpkg_location(path: Path | str, create: bool) -> Path:
    """The store's absolute path, if it may be opened; else StoreLocationError in one line."""
    path = Path(path).expanduser().absolute()
    if not path.exists():
        if create:
            return path
        raise StoreLocationError(f"no GeoPackage store at {path}; {HOW_TO_SET} (or create one with "
                                 "geo-service demo, or geo-service import --new-store)")
    if path.is_dir():
        raise StoreLocationError(f"{path} is a folder, not a GeoPackage store; {HOW_TO_SET} (a .gpkg file)")
    if not os.access(path, os.R_OK):
        raise StoreLocationError(f"{path} cannot be read (permission denied); {HOW_TO_SET}, or fix its permissions")
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError as e:
        raise StoreLocationError(f"{path} cannot be read ({e.strerror}); {HOW_TO_SET}") from None
    if head != SQLITE_HEADER:
        raise StoreLocationError(f"{path} is not a GeoPackage (not an SQLite file); {HOW_TO_SET}")
    return path
