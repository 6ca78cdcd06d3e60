"""Map reports over HTTP: a compound's page at once, street and district atlases as background jobs.

``GET /reports/compounds/{id}.pdf`` draws the page in the request (about a second) and returns it.
``GET /reports/streets/{name}.pdf`` and ``/reports/districts/{name}.pdf`` return the finished atlas
when the data have not changed since it was made; otherwise they start (or join) a job and answer
``202 Accepted`` with ``Location: /reports/jobs/{id}``. Polling the job gives its status and pages
done, then ``303 See Other`` to ``/reports/jobs/{id}/file``. Reports are files in
``settings.static_maps_dir`` (see :mod:`geo_service.reports.files`); the router only parses, calls
and serialises. The app's :class:`~geo_service.reports.jobs.ReportJobs` is built once in ``create_app``
(``app.state.report_jobs``) and reaches the routes through the :func:`report_jobs` dependency.
"""

from __future__ import annotations

import re
from pathlib import Path as FsPath
from typing import Literal
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from ..reports import files
from ..reports.data import Scope
from ..reports.jobs import ReportJobs, job_body
from ..reports.pdf import report_target
from .errors import ApiError
from .heavy import heavy
from .openapi import error_responses
from .responses import base_url, conditional, json_response, not_modified

router = APIRouter(tags=["Reports"])
CONFORMANCE: list[str] = []

PDF = "application/pdf"
MAX_NAME = 200
Lang = Literal["zh", "en"]
_LANG = Query(None, description="language of the report: zh or en (default: settings.lang)")


def report_jobs(request: Request) -> ReportJobs:
    """Dependency: the ReportJobs create_app put on the app."""
    return request.app.state.report_jobs


def _file_response(request: Request, path: FsPath, etag: str | None = None) -> Response:
    headers = {"Content-Disposition": _disposition(path.name)}
    if etag:
        tags = conditional(request, f'"{etag}"', vary=None)
        if tags is None:
            return not_modified({"ETag": f'"{etag}"'})
        headers.update(tags)
    return FileResponse(path, media_type=PDF, headers=headers)


def _disposition(name: str) -> str:
    """inline, with an ASCII fallback name and the real (UTF-8) one per RFC 6266 / 5987."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _check_name(name: str) -> str:
    if not name.strip() or len(name) > MAX_NAME:
        raise ApiError(400, "InvalidParameterValue", f"the name must have 1 to {MAX_NAME} characters")
    return name


@router.get("/reports/compounds/{compound_id}.pdf", summary="One compound's page (一小区一方案) as PDF",
            response_class=Response,
            responses={200: {"content": {PDF: {}}, "description": "the A4 landscape page"},
                       404: {"description": "no compound with that id"}})
def compound_report(request: Request,
                    compound_id: int = Path(..., ge=1, le=2**53, description="compound id"),
                    lang: Lang | None = _LANG, jobs: ReportJobs = Depends(report_jobs)) -> Response:
    settings, store = request.app.state.settings, request.app.state.store
    scope = Scope("compound", str(compound_id))
    path, key, _ = report_target(store, settings, scope, "pdf", lang or settings.lang)
    if files.cached(path, key) is not None:
        return _file_response(request, path, key)
    # Drawing the page costs a second of CPU: only in one of the app's heavy-work slots.
    out = heavy(request, lambda: jobs.draw(scope, "pdf", lang))
    return _file_response(request, out.path, _meta_key(out.path))


def _meta_key(path: FsPath) -> str | None:
    try:
        return orjson.loads(files.meta_path(path).read_bytes()).get("key")
    except (OSError, orjson.JSONDecodeError):
        return None


def _atlas(request: Request, jobs: ReportJobs, kind: str, name: str, lang: str | None) -> Response:
    settings, store = request.app.state.settings, request.app.state.store
    scope = Scope(kind, _check_name(name))
    lang = lang or settings.lang
    path, key, title = report_target(store, settings, scope, "pdf", lang)
    if files.cached(path, key) is not None:
        return _file_response(request, path, key)
    state = jobs.submit(key, scope, "pdf", lang, title, path.name)
    base = base_url(request)
    return json_response(job_body(state, base), status=202,
                         headers={"Location": f"{base}/reports/jobs/{state.id}", "Retry-After": "2"})


_ATLAS_RESPONSES = {200: {"content": {PDF: {}}, "description": "the atlas, made earlier from the same data"},
                    202: {"description": "being made: poll the job in Location"},
                    404: {"description": "no compounds with that name"}}


@router.get("/reports/streets/{name:path}.pdf", summary="A street's (街道/镇) atlas: cover, ranked table, contents, "
            "one page per compound", response_class=Response, responses=_ATLAS_RESPONSES)
def street_report(request: Request, name: str = Path(..., description="street / town name, e.g. 梅陇镇"),
                  lang: Lang | None = _LANG, jobs: ReportJobs = Depends(report_jobs)) -> Response:
    return _atlas(request, jobs, "street", name, lang)


@router.get("/reports/districts/{name:path}.pdf", summary="A district's atlas (every compound of the district)",
            response_class=Response, responses=_ATLAS_RESPONSES)
def district_report(request: Request, name: str = Path(..., description="district name, e.g. 闵行区"),
                    lang: Lang | None = _LANG, jobs: ReportJobs = Depends(report_jobs)) -> Response:
    return _atlas(request, jobs, "district", name, lang)


@router.get("/reports/jobs/{job_id}", summary="A report job: status and progress, then a redirect to the file",
            response_class=Response,
            responses={200: {"description": "queued, running or failed (JSON)"},
                       303: {"description": "done: Location is the file"}, **error_responses(400, 404)})
def report_job(request: Request, job_id: str = Path(..., pattern=r"^[0-9a-f]{8,64}$"),
               jobs: ReportJobs = Depends(report_jobs)) -> Response:
    state = jobs.read(job_id)
    if state is None:
        raise ApiError(404, "NotFound", f"no report job {job_id}")
    base = base_url(request)
    if jobs.local_file(state) is not None:  # done here, or drawn by another host and fetched from the database
        return RedirectResponse(f"{base}/reports/jobs/{job_id}/file", status_code=303)
    if state.stale():
        state.status, state.error = "failed", "the job stopped without finishing (server restarted?); ask again"
    headers = {"Retry-After": "2"} if state.status in ("queued", "running") else None
    return json_response(job_body(state, base), headers=headers)


@router.get("/reports/jobs/{job_id}/file", summary="The file a finished report job made", response_class=Response,
            responses={200: {"content": {PDF: {}}}, **error_responses(304, 400, 404)})
def report_job_file(request: Request, job_id: str = Path(..., pattern=r"^[0-9a-f]{8,64}$"),
                    jobs: ReportJobs = Depends(report_jobs)) -> Response:
    state = jobs.read(job_id)
    path = jobs.local_file(state) if state is not None else None  # only the file the job names
    if path is None:
        raise ApiError(404, "NotFound", f"report job {job_id} has no finished file")
    return _file_response(request, path, state.id)
