"""Capabilities: landing page, conformance, the API definition and its HTML docs, health and readiness."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..store.base import Query, StoreError
from . import html, openapi
from .dependencies import lang, only_f
from .openapi import ok, operation
from .responses import HTML, JSON, OPENAPI, base_url, send

API_PATH, DOCS_PATH = "/api", "/api.html"
COMPOUNDS = "compounds"


def landing_doc(request: Request) -> dict[str, Any]:
    base = base_url(request)
    s = request.app.state.settings
    return {
        "title": "compound-gis" if s.lang == "en" else "compound-gis 住宅小区基础设施地图服务",
        "description": "Residential-compound infrastructure as OGC API - Features: compounds, waterlogging "
                       "points, parking, e-bike charging, fire hydrants.",
        "links": [
            {"rel": "self", "type": JSON, "title": "this document", "href": f"{base}/"},
            {"rel": "alternate", "type": HTML, "title": "this document as HTML", "href": f"{base}/?f=html"},
            {"rel": "service-desc", "type": OPENAPI, "title": "the API definition (OpenAPI 3.0)",
             "href": f"{base}{API_PATH}"},
            {"rel": "service-doc", "type": HTML, "title": "the API documentation", "href": f"{base}{DOCS_PATH}"},
            {"rel": "conformance", "type": JSON, "title": "conformance classes", "href": f"{base}/conformance"},
            {"rel": "data", "type": JSON, "title": "the collections", "href": f"{base}/collections"},
        ],
    }


def landing(request: Request, as_html: bool = Depends(only_f)):
    body = landing_doc(request)
    if as_html:
        return send(request, landing_page(request, body), HTML)
    return send(request, orjson.dumps(body), JSON)


def landing_page(request: Request, body: dict[str, Any]) -> str:
    """The HTML landing page: every layer with its count and last change, and the atlases to ask for."""
    store, base, language = request.app.state.store, base_url(request), lang(request)
    layers = [{"title": spec.title.get(language), "count": f"{store.count(spec.id):,}",
               "updated": _day_time(store.last_modified(spec.id)),
               "href": f"{base}/collections/{spec.id}/items?f=html", "map": f"{base}/map?layers={quote(spec.id)}"}
              for spec in store.catalog]
    streets, districts = _places(store)
    return html.landing(body, language, layers, base=base,
                        streets=[{"name": n, "href": f"{base}/reports/streets/{quote(n)}.pdf"} for n in streets],
                        districts=[{"name": n, "href": f"{base}/reports/districts/{quote(n)}.pdf"} for n in districts])


def _day_time(stamp: str | None) -> str | None:
    """2026-12-04T05:01:02.123+00:00 -> 2026-12-04 05:01 (UTC)."""
    return f"{stamp[:10]} {stamp[11:16]} UTC" if stamp and len(stamp) >= 16 else stamp


def _places(store) -> tuple[list[str], list[str]]:
    """The compounds' streets and districts (the atlases there are to make)."""
    if COMPOUNDS not in store.catalog:
        return [], []
    spec = store.catalog.get(COMPOUNDS)
    wanted = [f for f in ("street", "district") if spec.has_field(f)]
    if not wanted:
        return [], []
    frame = store.query(COMPOUNDS, Query(properties=wanted)).features
    names = {f: sorted({str(v) for v in frame[f].dropna() if str(v)}) for f in wanted}
    return names.get("street", []), names.get("district", [])


def conformance(request: Request, as_html: bool = Depends(only_f)):
    body = {"conformsTo": request.app.state.conformance}
    if as_html:
        return send(request, html.conformance(body, lang(request)), HTML)
    return send(request, orjson.dumps(body), JSON)


def api_document(request: Request) -> Response:
    return Response(orjson.dumps(request.app.openapi()), media_type=OPENAPI)


SWAGGER = "static/vendor/swagger-ui-dist"  # relative to /api.html: no Host header reaches the page


def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI from the service's own static files (installed from npm), so it works offline; its one
    inline script is allowed by hash in the page's Content-Security-Policy."""
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>compound-gis API</title>
<link rel="stylesheet" href="{SWAGGER}/swagger-ui.css"></head><body><div id="swagger-ui"></div>
<script src="{SWAGGER}/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: "{API_PATH.lstrip("/")}", dom_id: "#swagger-ui"}});</script>
</body></html>"""
    return HTMLResponse(page)


def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "store": request.app.state.store.health()})


def ready(request: Request) -> JSONResponse:
    """The store's kind, where it is, whether it takes writes, the layer versions; where report jobs live."""
    store, settings = request.app.state.store, request.app.state.settings
    info = store.health()
    if info.get("ok") and "versions" not in info:
        try:
            info["versions"] = {spec.id: store.version(spec.id) for spec in store.catalog}
        except StoreError as e:
            info.update(ok=False, status=f"unavailable: {e}")
    info["report_jobs"] = {"backend": "files", "folder": str(Path(settings.static_maps_dir).resolve()),
                           "shared_between": "the workers of this host"}
    return JSONResponse(info, status_code=200 if info.get("ok") else 503,
                        headers=None if info.get("ok") else {"Retry-After": "2"})


def build_router(read_requires_key: bool) -> APIRouter:
    """The capability routes; each carries its own OpenAPI fragment."""
    router = APIRouter()
    f = [openapi.ref("f")]
    router.add_api_route("/", landing, methods=["GET"], response_class=Response, openapi_extra=operation(
        "getLandingPage", "Capabilities", "Landing page", f, ok(
            "links to the API definition, the conformance classes and the collections", JSON,
            {"$ref": "#/components/schemas/landingPage"}), read_requires_key))
    router.add_api_route("/conformance", conformance, methods=["GET"], response_class=Response,
                         openapi_extra=operation("getConformanceDeclaration", "Capabilities", "Conformance classes", f,
                                                 ok("the conformance classes implemented", JSON,
                                                    {"$ref": "#/components/schemas/confClasses"}), read_requires_key))
    return router


def build_open_router() -> APIRouter:
    """Routes open even when reads need a key: the definition says how to authenticate; probes need no key."""
    router = APIRouter()
    router.add_api_route(API_PATH, api_document, methods=["GET"], response_class=Response,
                         openapi_extra=openapi.api_definition_operation())
    router.add_api_route(DOCS_PATH, api_docs, methods=["GET"], response_class=HTMLResponse,
                         openapi_extra=openapi.api_docs_operation())
    router.add_api_route("/health", health, methods=["GET"], tags=["Capabilities"],
                         summary="Liveness: the process answers; store status included")
    router.add_api_route("/ready", ready, methods=["GET"], tags=["Capabilities"],
                         summary="Readiness: 200 when the store answers, else 503",
                         responses={503: {"description": "the store is unavailable"}})
    return router
