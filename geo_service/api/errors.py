"""The API's error type and JSON error body ({"code", "description"}), shared by every router."""

from __future__ import annotations

from fastapi.responses import JSONResponse


class ApiError(Exception):
    """An error with an OGC-style code; rendered as {"code", "description"}."""

    def __init__(self, status: int, code: str, description: str):
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


def error_response(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse({"code": code, "description": description}, status_code=status)
