"""The FastAPI app factory. The API is thin: parse, call the store or an analysis, serialise.

`create_app` builds every service the routers use once (store, caches, ...) and puts it on
``app.state``; the one lifespan warms what is slow to start and closes those services at shutdown.
No router builds state inside a request.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from ..cache import SingleFlightCache
from ..catalog.programmes import load_programmes
from ..crs import warm_up
from ..reports.jobs import ReportJobs
from ..settings import Settings
from ..store import FeatureStore, open_store
from ..web import basemaps
from . import (
    analysis,
    auth,
    capabilities,
    collections,
    compounds,
    edits,
    items,
    life_circle,
    login,
    openapi,
    programme,
    reports,
    tiles,
    webmap,
)
from .errors import install_error_handlers
from .heavy import HeavyWork, default_concurrency, heavy_slot_dir
from .middleware import RequestId, SecurityHeaders

ANALYSIS_CACHE_ENTRIES = 8  # whole-city results are a few MB each

# OGC API - Features classes of the read side (capabilities, collections, items); the other
# routers declare theirs in their own CONFORMANCE lists.
FEATURES_CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    # Part 3 filtering and CQL2: QGIS and GDAL send `filter=` only when all of these are declared.
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
]


@dataclass
class Services:
    """What the app owns and must close: built by create_app, closed by the lifespan."""

    store: FeatureStore
    owns_store: bool
    closers: list = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        if self.owns_store:
            self.store.close()


@asynccontextmanager
async def lifespan(app: FastAPI):
    warm_up(app.state.settings.metric_crs)  # pyproj's first transformers take ~1 s; not on a request
    try:
        yield
    finally:
        app.state.services.close()


def tile_origins(settings: Settings) -> list[str]:
    """Origins of the configured basemaps' tiles, for the CSP's img-src (`{s}` subdomains as `*.`)."""
    origins = []
    for basemap in basemaps.configured(settings, None):
        for url in filter(None, (basemap.url, *basemap.annotation_urls)):
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") and parts.netloc:
                host = ".".join("*" if "{" in label else label for label in parts.netloc.split("."))
                origins.append(f"{parts.scheme}://{host}")
    return sorted(set(origins))


def _conformance(*modules) -> list[str]:
    out = list(FEATURES_CONFORMANCE)
    for module in modules:
        out += [c for c in module.CONFORMANCE if c not in out]
    return out


def create_app(settings: Settings | None = None, store: FeatureStore | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="compound-gis",
        description="Residential-compound infrastructure: compounds, waterlogging points, parking, e-bike "
                    "charging and fire hydrants as OGC API - Features.",
        version="0.1.0",
        openapi_url=None,  # /api and /api.html are routes of capabilities.py
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    services = Services(store if store is not None else open_store(settings), owns_store=store is None)
    app.state.services = services
    app.state.settings = settings
    app.state.store = services.store
    app.state.analysis_cache = SingleFlightCache(ANALYSIS_CACHE_ENTRIES)
    app.state.map_data = webmap.build_map_data(settings, services.store)
    app.state.programmes = load_programmes(settings.programmes, services.store.catalog)
    app.state.report_jobs = ReportJobs(settings, services.store, reopenable=services.owns_store)
    services.closers += [lambda: app.state.map_data.close(), lambda: app.state.report_jobs.shutdown()]
    app.state.heavy = HeavyWork(settings.heavy_concurrency or default_concurrency(), settings.heavy_queue,
                                settings.heavy_per_minute, heavy_slot_dir(settings))

    # Added first = innermost: the security headers see the uncompressed HTML they hash, gzip runs last.
    app.add_middleware(SecurityHeaders, img_origins=tile_origins(settings), hsts_seconds=settings.hsts_seconds)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    if settings.cors_origins:
        exposed = ["ETag", "Content-Crs", "Location", "Allow", "Accept-Post", "Accept-Patch", "WWW-Authenticate",
                   "X-Request-Id"]
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["*"], expose_headers=exposed)
    app.add_middleware(RequestId)  # outermost: every answer, errors included, carries the id
    install_error_handlers(app)
    auth.install(app)

    # Reads need a key only when configured; edits check their own (editor) role.
    guarded = settings.read_requires_key
    read_deps = [Depends(auth.require_reader)] if guarded else []
    catalog = services.store.catalog
    # Routing tries the routes in order, at a few microseconds each (about 0.25 ms for the hundred before
    # /health): the routes clients call all the time (items, tiles, the map's data) come first. No path of
    # theirs overlaps another router's, so the order changes nothing else.
    for router in (items.build_router(catalog, guarded), tiles.router, webmap.router,
                   capabilities.build_router(guarded), collections.build_router(catalog, guarded), compounds.router,
                   life_circle.router, analysis.router, reports.router, programme.router):
        app.include_router(router, dependencies=read_deps)
    app.include_router(edits.router)
    app.include_router(capabilities.build_open_router())
    app.include_router(login.router)
    # Leaflet, Swagger UI and our own map script: public library files, open even when reads need a key.
    app.mount("/static", webmap.StaticAssets(), name="static")
    app.include_router(collections.build_fallback_router())  # last: only paths no route answers
    app.state.conformance = _conformance(edits, compounds, analysis, tiles, webmap, reports)
    openapi.install(app)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (each worker builds its own app from the environment)."""
    return create_app(Settings())
