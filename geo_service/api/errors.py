"""The API's one error type, its JSON body ({"code", "description"}) and the app's exception handlers."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..crs import UnsupportedCRS
from ..store.base import StoreError

log = logging.getLogger("geo_service.api")

STORE_CODES = {404: "NotFound", 409: "Conflict", 400: "InvalidParameterValue", 422: "InvalidFeature",
               412: "PreconditionFailed", 503: "Unavailable"}
HTTP_CODES = {404: "NotFound", 405: "MethodNotAllowed", 406: "NotAcceptable"}


class ApiError(Exception):
    """An error with an OGC-style code; rendered as {"code", "description"}."""

    def __init__(self, status: int, code: str, description: str, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.status, self.code, self.description, self.headers = status, code, description, headers


def bad(description: str, status: int = 400, code: str = "InvalidParameterValue") -> ApiError:
    """The usual 400: an invalid or unknown parameter value."""
    return ApiError(status, code, description)


def not_found(description: str) -> ApiError:
    return ApiError(404, "NotFound", description)


def error_response(status: int, code: str, description: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "description": description}, status_code=status, headers=headers)


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)  # set by middleware.RequestId (absent in bare apps)


def _with_request_id(request: Request, body: dict, status: int) -> dict:
    """A 5xx names its request id, which the log line with the traceback carries too."""
    if status >= 500 and request_id(request):
        body["requestId"] = request_id(request)
    return body


async def _api_error(request: Request, exc: ApiError):
    body = _with_request_id(request, {"code": exc.code, "description": exc.description}, exc.status)
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


async def _store_error(request: Request, exc: StoreError):
    body: dict = {"code": STORE_CODES.get(exc.status, "ServerError"), "description": str(exc)}
    errors = getattr(exc, "errors", None)  # InvalidFeature carries (field, reason) pairs
    if errors:
        body["errors"] = [{"field": f, "reason": r} for f, r in errors]
    headers = {"Retry-After": "2"} if exc.status == 503 else None
    return JSONResponse(_with_request_id(request, body, exc.status), status_code=exc.status, headers=headers)


async def _crs_error(request: Request, exc: UnsupportedCRS):
    return error_response(400, "InvalidParameterValue", str(exc))


async def _validation_error(request: Request, exc: RequestValidationError):
    parts = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where}: {e.get('msg')}")
    return error_response(400, "InvalidParameterValue", "; ".join(parts))


async def _http_error(request: Request, exc: StarletteHTTPException):
    code = HTTP_CODES.get(exc.status_code, "Error")
    return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception):
    rid = request_id(request)
    log.exception("unhandled error (request id %s) on %s %s", rid, request.method, request.url.path)
    body = {"code": "ServerError", "description": f"internal error; see the server log (request id {rid})"}
    # Starlette answers unhandled errors outside every middleware: set what they would have added.
    headers = {"X-Content-Type-Options": "nosniff", **({"X-Request-Id": rid} if rid else {})}
    return JSONResponse(_with_request_id(request, body, 500), status_code=500, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StoreError, _store_error)
    app.add_exception_handler(UnsupportedCRS, _crs_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
