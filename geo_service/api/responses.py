"""Media types and the one way every router answers a cacheable GET: ETag, Last-Modified, 304."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
CSV = "text/csv; charset=utf-8"
SCHEMA_JSON = "application/schema+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
MVT = "application/vnd.mapbox-vector-tile"


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def json_response(body: Any, media_type: str = JSON, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), media_type=media_type, status_code=status, headers=headers)


def body_etag(data: bytes) -> str:
    return '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'


def key_etag(*parts: Any, weak: bool = False) -> str:
    """An ETag from what determines the body (layer versions, parameters), without building the body."""
    tag = '"' + hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest() + '"'
    return "W/" + tag if weak else tag


def http_date(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        t = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return email.utils.format_datetime(t.astimezone(dt.UTC), usegmt=True)


def _not_modified_since(request: Request, last_modified: str | None) -> bool:
    ims = request.headers.get("if-modified-since")
    if not ims or not last_modified:
        return False
    try:
        since = email.utils.parsedate_to_datetime(ims)
        changed = email.utils.parsedate_to_datetime(last_modified)
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and changed <= since


def conditional(request: Request, etag: str, last_modified: str | None = None,
                vary: str | None = "Accept") -> dict[str, str] | None:
    """Headers for a cacheable response; None when the client's copy is current (-> 304).

    If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2); weak comparison, as for GET."""
    headers = {"ETag": etag}
    if vary:
        headers["Vary"] = vary
    modified = http_date(last_modified)
    if modified:
        headers["Last-Modified"] = modified
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return None if "*" in tags or etag.removeprefix("W/") in tags else headers
    return None if _not_modified_since(request, modified) else headers


def not_modified(headers: dict[str, str]) -> Response:
    keep = ("ETag", "Vary", "Last-Modified", "Cache-Control")
    return Response(status_code=304, headers={k: v for k, v in headers.items() if k in keep})


def cached(request: Request, etag: str, build: Callable[[], bytes | str], media_type: str,
           last_modified: str | None = None, headers: dict[str, str] | None = None,
           vary: str | None = "Accept") -> Response:
    """A 304 when the client holds `etag`, else build the body (only then) and send it with the tags."""
    tags = conditional(request, etag, last_modified, vary)
    if tags is None:
        return not_modified({"ETag": etag, **({"Vary": vary} if vary else {})})
    data = build()
    return Response(data.encode() if isinstance(data, str) else data, media_type=media_type,
                    headers={**tags, **(headers or {})})


def send(request: Request, body: bytes | str, media_type: str, last_modified: str | None = None,
         extra: dict[str, str] | None = None, vary: str | None = "Accept") -> Response:
    """A 200 with an ETag from the body, or a 304 when the client already has it."""
    data = body.encode() if isinstance(body, str) else body
    return cached(request, body_etag(data), lambda: data, media_type, last_modified, extra, vary)
