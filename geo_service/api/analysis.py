"""Analyses over HTTP: GET /analysis/{name} (GeoJSON, or f=csv), cached until the data changes.

One route per analysis of the registry, with its parameters as typed query parameters, so
FastAPI validates them and OpenAPI documents them (default and source in each description).
Values resolve as defaults < ``settings.analysis_params`` < query. A result is cached under
(analysis, resolved parameters, version stamps of the layers it reads, metric CRS): any edit or
import changes a stamp, and the next request recomputes. The router only parses, calls and
serialises; the analyses live in ``geo_service.analysis``.
"""

from __future__ import annotations

import inspect
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ..analysis import output
from ..analysis.params import ParamError
from ..analysis.registry import REGISTRY, Analysis
from ..analysis.result import AnalysisResult
from ..analysis.runner import layers_read, load_frames, versions
from .errors import ApiError
from .heavy import heavy
from .responses import CSV, GEOJSON, base_url, cached, json_response, key_etag

router = APIRouter()
CONFORMANCE: list[str] = []

FORMATS = ("json", "geojson", "csv")
COMMON = ("f", "part", "lang")

# ------------------------------------------------------------------ listing

def _describe(analysis: Analysis, base: str, store=None) -> dict[str, Any]:
    return {
        "name": analysis.name,
        "title": analysis.title_en,
        "title_zh": analysis.title_zh,
        "description": analysis.description,
        "layers": list(analysis.layers),
        "optional_layers": list(analysis.optional_layers),
        "parts": list(analysis.parts),
        "parameters": [p.describe() for p in analysis.params],
        "links": [
            {"rel": "data", "type": GEOJSON, "href": f"{base}/analysis/{analysis.name}"},
            {"rel": "alternate", "type": "text/csv", "href": f"{base}/analysis/{analysis.name}?f=csv"},
        ],
    }


@router.get("/analysis", tags=["Analysis"], summary="The analyses, their parameters and where each default comes from")
def list_analyses(request: Request):
    base = base_url(request)
    return json_response({"analyses": [_describe(a, base) for a in REGISTRY.values()],
                          "links": [{"rel": "self", "type": "application/json", "href": f"{base}/analysis"}]})


# ------------------------------------------------------------------ one analysis

def result_for(request: Request, analysis: Analysis,
               params: dict[str, Any]) -> tuple[AnalysisResult, dict[str, int], tuple, dict]:
    """The analysis on the store's data with resolved ``params`` from the app's one cache (computed in a
    heavy slot when missing): (result, layer versions, cache key, the cache entry for its encodings)."""
    settings = request.app.state.settings
    store = request.app.state.store
    try:
        layers = layers_read(analysis, store)
    except LookupError as e:
        raise ApiError(404, "NotFound", str(e)) from None
    stamps = versions(store, layers)
    key = (analysis.name, tuple(sorted(params.items())), tuple(sorted(stamps.items())), settings.metric_crs)

    def compute() -> AnalysisResult:
        try:
            return analysis.run(load_frames(store, layers), params, settings.metric_crs)
        except ParamError as e:
            raise ApiError(400, "InvalidParameterValue", str(e)) from None

    # The app's one analysis cache: a result and its encodings, computed once per key.
    entry = request.app.state.analysis_cache.get(key, lambda: {"result": heavy(request, compute), "encoded": {}})
    return entry["result"], stamps, key, entry


def _run(request: Request, analysis: Analysis, query: dict[str, Any]) -> Response:
    allowed = {p.name for p in analysis.params} | set(COMMON)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ApiError(400, "InvalidParameterValue",
                     f"unknown parameter(s) {', '.join(unknown)}; {analysis.name} takes: {', '.join(sorted(allowed))}")
    fmt = query.pop("f") or "json"
    part = query.pop("part") or analysis.parts[0]
    settings = request.app.state.settings
    lang = query.pop("lang") or "en"
    try:
        analysis.resolve(settings.analysis_params)
    except ParamError as e:
        raise ApiError(500, "ServerError", f"settings.analysis_params is invalid: {e}") from None
    try:
        params = analysis.resolve(settings.analysis_params, {k: v for k, v in query.items() if v is not None})
    except ParamError as e:
        raise ApiError(400, "InvalidParameterValue", str(e)) from None

    result, stamps, key, entry = result_for(request, analysis, params)
    if part not in result.parts:
        raise ApiError(404, "NotFound", f"{analysis.name} has no part {part!r} for this data; parts: "
                                      f"{', '.join(result.parts)}")

    def encode() -> bytes:
        encoded, enc_key = entry["encoded"], (part, fmt, lang)
        if enc_key not in encoded:
            encoded[enc_key] = (output.csv_bytes(result[part], lang) if fmt == "csv" else output.feature_collection(
                result[part], _members(request, analysis, part, params, stamps, result)))
        return encoded[enc_key]

    headers = {"Content-Disposition": f'inline; filename="{analysis.name}-{part}.csv"'} if fmt == "csv" else None
    return cached(request, key_etag(key, part, fmt, lang), encode, CSV if fmt == "csv" else GEOJSON,
                  headers=headers, vary=None)


def _members(request: Request, analysis: Analysis, part: str, params: dict[str, Any], stamps: dict[str, int],
             result: AnalysisResult) -> dict[str, Any]:
    base = f"{base_url(request)}/analysis/{analysis.name}"
    links = [{"rel": "self", "type": GEOJSON, "href": str(request.url)},
             {"rel": "alternate", "type": "text/csv", "href": f"{base}?f=csv&part={part}"},
             {"rel": "describedby", "type": "application/json", "href": f"{base_url(request)}/analysis"}]
    links += [{"rel": "related", "type": GEOJSON, "title": f"part {p}", "href": f"{base}?part={p}"}
              for p in result.parts if p != part]
    return {"analysis": analysis.name, "part": part, "parts": list(result.parts), "parameters": params,
            "summary": result.summary, "metricCrs": result.metric_crs, "layerVersions": stamps, "links": links}


def _query_description(p) -> str:
    return f"{p.description}. Default {p.default!r} ({p.source})."


def _endpoint(analysis: Analysis):
    def endpoint(request: Request, **query: Any) -> Response:
        return _run(request, analysis, query)

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)]
    for p in analysis.params:
        kind = Literal[p.choices] if p.choices else p.type  # type: ignore[valid-type]
        extra = {k: v for k, v in (("ge", p.minimum), ("le", p.maximum)) if v is not None}
        parameters.append(inspect.Parameter(p.name, keyword, annotation=kind | None,
                                            default=Query(None, description=_query_description(p), **extra)))
    parameters += [
        inspect.Parameter("f", keyword, annotation=Literal[FORMATS] | None,  # type: ignore[valid-type]
                          default=Query(None, description="json/geojson (GeoJSON FeatureCollection) or csv")),
        inspect.Parameter("part", keyword, annotation=Literal[analysis.parts] | None,  # type: ignore[valid-type]
                          default=Query(None, description=f"result part; default {analysis.parts[0]}")),
        inspect.Parameter("lang", keyword, annotation=Literal["en", "zh"] | None,
                          default=Query(None, description="CSV headers: en (field names) or zh (Chinese titles)")),
    ]
    endpoint.__signature__ = inspect.Signature(parameters)
    endpoint.__name__ = "analysis_" + analysis.name.replace("-", "_")
    return endpoint


for _analysis in REGISTRY.values():
    router.add_api_route(
        f"/analysis/{_analysis.name}", _endpoint(_analysis), methods=["GET"], tags=["Analysis"],
        summary=f"{_analysis.title_en} ({_analysis.title_zh})", description=_analysis.description,
        response_class=Response,
        responses={200: {"description": "GeoJSON FeatureCollection, or CSV with f=csv",
                         "content": {GEOJSON: {}, "text/csv": {}}},
                   304: {"description": "not modified (If-None-Match)"},
                   400: {"description": "a parameter is invalid"},
                   404: {"description": "a layer the analysis needs, or the requested part, is missing"},
                   429: {"description": "too many heavy computations: the server's slots and queue are full, or "
                                        "this client started too many a minute; Retry-After says when to retry",
                         "headers": {"Retry-After": {"schema": {"type": "integer"}}}}})
