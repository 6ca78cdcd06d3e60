"""Feature stores: the embedded GeoPackage store and (with a database URL) PostGIS."""

from __future__ import annotations

from ..catalog import load_catalog
from ..settings import Settings
from .base import FeatureStore
from .errors import Conflict, InvalidFeature, InvalidQuery, NotFound, StoreError
from .geojson import GeoJSONPage
from .geopackage import GeoPackageStore
from .query import Filter, Query, QueryResult

__all__ = ["Conflict", "FeatureStore", "Filter", "GeoJSONPage", "GeoPackageStore", "InvalidFeature", "InvalidQuery",
           "NotFound", "Query", "QueryResult", "StoreError", "open_store"]


def open_store(settings: Settings | None = None) -> FeatureStore:
    """The store the settings select: PostGIS when database_url is set, else the GeoPackage."""
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
    return GeoPackageStore(settings.gpkg, catalog, metric_crs=settings.metric_crs, service_area=settings.service_area)
