"""Feature stores: the embedded GeoPackage store and (with a database URL) PostGIS."""

from __future__ import annotations

from ..catalog import load_catalog
from ..settings import Settings
from .base import Conflict, FeatureStore, Filter, InvalidFeature, InvalidQuery, NotFound, Query, QueryResult

__all__ = ["Conflict", "FeatureStore", "Filter", "InvalidFeature", "InvalidQuery", "NotFound", "Query",
           "QueryResult", "open_store"]


def open_store(settings: Settings | None = None) -> FeatureStore:
    """The store the settings select: PostGIS when database_url is set, else the GeoPackage."""
    settings = settings or Settings()
    catalog = load_catalog(settings.layers)
    if settings.database_url:
        raise NotImplementedError("the PostGIS store is not available in this version; unset "
                                  "GEO_SERVICE_DATABASE_URL to use the embedded GeoPackage")
    from .geopackage import GeoPackageStore

    return GeoPackageStore(settings.gpkg, catalog, metric_crs=settings.metric_crs)
