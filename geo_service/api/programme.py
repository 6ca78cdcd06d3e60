"""Programme progress: ``GET /programme/progress`` (JSON or CSV) and the ``/programme`` page.

Targets come from ``programmes/*.yaml`` (catalog.programmes), read once when the app is built; the
figures are counted from the stored plans on every request (planning.progress, which counts with
analysis.programme_progress as the printed atlases do)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from ..analysis.params import ParamError
from ..analysis.registry import get
from ..catalog.programmes import Programme
from ..planning.progress import progress
from .analysis import result_for
from .compound_models import ERRORS
from .errors import ApiError
from .programme_page import programme_page
from .responses import CSV, base_url, json_response

router = APIRouter()


def _programme(request: Request, name: str | None) -> Programme:
    programmes: list[Programme] = request.app.state.programmes
    if not programmes:
        raise ApiError(404, "NotFound", "no programme is declared (programmes/*.yaml)")
    if name is None:
        return programmes[0]
    for p in programmes:
        if p.id == name:
            return p
    raise ApiError(404, "NotFound", f"no programme {name!r}; known: {', '.join(p.id for p in programmes)}")


def _year(programme: Programme, year: int | None) -> int:
    if year is None:
        return programme.current_year
    if year not in programme.years:
        raise ApiError(400, "InvalidParameterValue",
                       f"year={year}: programme {programme.id} runs in {', '.join(map(str, programme.years))}")
    return year


@router.get("/programme/progress", tags=["Programme"],
            summary="Targets against plans per street (or the district) and category, budgets, compounds without "
                    "a plan", responses=ERRORS)
def programme_progress(request: Request, year: int | None = Query(None, description="programme year (default: "
                                                                                    "its last)"),
                       by: Literal["street", "district"] = Query("street"),
                       programme: str | None = Query(None, description="programme id (file name); default: the "
                                                                       "first"),
                       f: Literal["json", "csv"] = Query("json")):
    p = _programme(request, programme)
    result = progress(request.app.state.store, request.app.state.store.catalog, p, _year(p, year), by)
    if f == "csv":
        return Response(result.table().to_csv(index=False), media_type=CSV)
    return json_response(result.as_json())


@router.get("/programme", tags=["Programme"], summary="The programme dashboard (HTML)",
            response_class=HTMLResponse, responses=ERRORS)
def programme_dashboard(request: Request, year: int | None = Query(None),
                        programme: str | None = Query(None)):
    p = _programme(request, programme)
    store = request.app.state.store
    by_street = progress(store, store.catalog, p, _year(p, year), "street")
    district = progress(store, store.catalog, p, _year(p, year), "district")
    return HTMLResponse(programme_page(by_street, district, p.years, base_url(request)))


@router.get("/compounds/{compound_id}/plan", tags=["Programme"],
            summary="建议版本 (analysis) beside 计划版本 (stored plan and its status) for a compound and year",
            responses=ERRORS)
def compound_plan(request: Request, compound_id: int, year: int | None = Query(None, description="programme "
                                                                                                  "year (default: "
                                                                                                  "this year)")):
    analysis = get("renovation-priorities")
    settings = request.app.state.settings
    try:
        params = analysis.resolve(settings.analysis_params, {"plan_year": year} if year is not None else None)
    except ParamError as e:
        raise ApiError(400, "InvalidParameterValue", str(e)) from None
    result, _, _, _ = result_for(request, analysis, params)
    table = result["compounds"]
    if compound_id not in table.index:
        raise ApiError(404, "NotFound", f"compounds: no feature with id {compound_id}")
    row = table.loc[compound_id]

    def plain(v):
        return None if v is None or (isinstance(v, float) and v != v) else v

    return json_response({
        "compound": compound_id, "year": result.summary.get("plan_year"),
        "suggested": {"tier": plain(row["tier"]), "tier_zh": plain(row["tier_zh"]), "eligible": bool(row["eligible"]),
                      "score": float(row["score"]), "categories": plain(row["categories"])},
        "plan": None if plain(row["plan_id"]) is None else {
            "id": int(row["plan_id"]), "tier": plain(row["plan_tier"]), "tier_zh": plain(row["plan_tier_zh"]),
            "status": plain(row["plan_status"]), "status_zh": plain(row["plan_status_zh"])}})
