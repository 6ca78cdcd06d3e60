"""Programme progress: ``GET /programme/progress`` (JSON or CSV) and the ``/programme`` page.

Targets come from ``programmes/*.yaml`` (catalog.programmes), read once when the app is built; the
figures are counted from the stored plans on every request (planning.progress)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from ..catalog.programmes import Programme
from ..planning.progress import progress
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
        return programme.years[-1]
    if year not in programme.years:
        raise ApiError(400, "InvalidParameterValue",
                       f"year={year}: programme {programme.id} runs in {', '.join(map(str, programme.years))}")
    return year


@router.get("/programme/progress", tags=["Programme"],
            summary="Targets against plans per street (or the district) and category, budgets, compounds without "
                    "a plan")
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
            response_class=HTMLResponse)
def programme_dashboard(request: Request, year: int | None = Query(None),
                        programme: str | None = Query(None)):
    p = _programme(request, programme)
    store = request.app.state.store
    by_street = progress(store, store.catalog, p, _year(p, year), "street")
    district = progress(store, store.catalog, p, _year(p, year), "district")
    return HTMLResponse(programme_page(by_street, district, p.years, base_url(request)))
