"""The FastAPI app factory. The API is thin: parse, call the store or an analysis, serialise."""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..reports.jobs import ReportJobs
from ..settings import Settings
from ..store import FeatureStore, open_store
from ..store.base import StoreError
from .crs_support import UnsupportedCRS
from .errors import ApiError, error_response
from .geojson import FeatureCache

log = logging.getLogger("geo_service.api")


def create_app(settings: Settings | None = None, store: FeatureStore | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="compound-gis",
        description="Residential-compound infrastructure: compounds, waterlogging points, parking, e-bike "
                    "charging and fire hydrants as OGC API - Features.",
        version="0.1.0",
        openapi_url="/api",
        docs_url="/api.html",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store if store is not None else open_store(settings)
    app.state.owns_store = store is None
    app.state.cache = FeatureCache()

    app.add_middleware(GZipMiddleware, minimum_size=1024)
    if settings.cors_origins:
        exposed = ["ETag", "Content-Crs", "Location", "Allow", "Accept-Post", "Accept-Patch", "WWW-Authenticate"]
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["*"], expose_headers=exposed)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.description)

    @app.exception_handler(StoreError)
    async def _store_error(request: Request, exc: StoreError):
        code = {404: "NotFound", 409: "Conflict", 400: "InvalidParameterValue", 422: "InvalidFeature",
                412: "PreconditionFailed", 503: "Unavailable"}.get(exc.status, "ServerError")
        body = {"code": code, "description": str(exc)}
        if hasattr(exc, "errors"):
            body["errors"] = [{"field": f, "reason": r} for f, r in exc.errors]
        headers = {"Retry-After": "2"} if exc.status == 503 else None
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(UnsupportedCRS)
    async def _crs_error(request: Request, exc: UnsupportedCRS):
        return error_response(400, "InvalidParameterValue", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path", "body"))
            parts.append(f"{where}: {e.get('msg')}")
        return error_response(400, "InvalidParameterValue", "; ".join(parts))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code = {404: "NotFound", 405: "MethodNotAllowed", 406: "NotAcceptable"}.get(exc.status_code, "Error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "ServerError", "internal error; see the server log")

    from . import analysis, auth, compounds, edits, features, maps, reports, webmap

    # Built once here, closed at shutdown; routers reach them through dependencies (webmap.map_data, ...).
    app.state.map_data = webmap.build_map_data(settings, app.state.store)
    app.state.report_jobs = ReportJobs(settings, app.state.store, reopenable=app.state.owns_store)
    app.mount("/static", webmap.StaticAssets(), name="static")
    auth.install(app)
    # Reads need a key only when configured; edits check their own (editor) role.
    read_deps = [Depends(auth.require_reader)] if settings.read_requires_key else []
    # Each router module declares the OGC conformance classes it implements.
    app.state.conformance = []
    for module in (features, edits, compounds, analysis, maps, webmap, reports):
        app.include_router(module.router, dependencies=[] if module is edits else read_deps)
        app.state.conformance += [c for c in getattr(module, "CONFORMANCE", []) if c not in app.state.conformance]
    features.install(app)  # /api: the OGC OpenAPI 3.0 document built from the catalog and settings

    @app.get("/health", tags=["Capabilities"], summary="Liveness: the process answers; store status included")
    def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "store": app.state.store.health()})

    @app.get("/ready", tags=["Capabilities"], summary="Readiness: 200 when the store answers, else 503",
             responses={503: {"description": "the store is unavailable"}})
    def ready() -> JSONResponse:
        info = app.state.store.health()
        return JSONResponse(info, status_code=200 if info.get("ok") else 503,
                            headers=None if info.get("ok") else {"Retry-After": "2"})

    @app.on_event("shutdown")
    def _close() -> None:
        app.state.report_jobs.shutdown()
        app.state.map_data.close()
        if app.state.owns_store:
            app.state.store.close()

    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (each worker builds its own app from the environment)."""
    return create_app(Settings())
