"""Feature stores: the embedded GeoPackage store and (with a database URL) PostGIS."""

from __future__ import annotations

from pathlib import Path

from ..catalog import load_catalog
from ..settings import Settings
from .base import FeatureStore
from .errors import Conflict, InvalidFeature, InvalidQuery, NotFound, StoreError
from .geojson import GeoJSONPage
from .geopackage import GeoPackageStore
from .location import StoreLocationError, check_gpkg_location
from .query import Filter, Query, QueryResult

__all__ = ["Conflict", "FeatureStore", "Filter", "GeoJSONPage", "GeoPackageStore", "InvalidFeature", "InvalidQuery",
           "NotFound", "Query", "QueryResult", "StoreError", "StoreLocationError", "check_gpkg_location",
           "open_store", "store_location"]


def store_location(settings: Settings) -> str:
    """The store the settings select, for people: the GeoPackage's absolute path or the database."""
    if settings.database_url:
        return "PostGIS " + settings.database_url.split("@")[-1]  # no credentials
    return f"GeoPackage {Path(settings.gpkg).expanduser().absolute()}"


def open_store(settings: Settings | None = None, create: bool = True) -> FeatureStore:
    """The store the settings select: PostGIS when database_url is set, else the GeoPackage.

    ``create=False`` refuses (StoreLocationError) a GeoPackage path that does not exist yet, is a
    folder, unreadable or not a GeoPackage, instead of creating a new empty store there.
    """
    settings = settings or Settings()
    catalog = load_catalog(settings.layers)
    if settings.database_url:
        try:
            from .postgis import PostGISStore  # deferred: psycopg is an optional dependency
        except ImportError as e:
            raise RuntimeError(f"GEO_SERVICE_DATABASE_URL is set but the PostGIS driver is missing ({e}); "
                               "install it with: pip install 'compound-gis[postgis]'") from None
        return PostGISStore(settings.database_url, catalog, metric_crs=settings.metric_crs,
                            service_area=settings.service_area)
    path = check_gpkg_location(settings.gpkg, create)
    return GeoPackageStore(path, catalog, metric_crs=settings.metric_crs, service_area=settings.service_area)
