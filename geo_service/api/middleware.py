"""ASGI middleware: a request id on every request, security headers on every response.

HTML pages get a Content-Security-Policy that allows exactly the inline scripts they carry (by
their SHA-256, computed from the body as sent), our own origin, and the configured basemap tile
hosts for images; everything else gets the strictest policy. A plain ASGI middleware, not
BaseHTTPMiddleware: it adds no task or thread per request, and only HTML bodies are buffered.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.S | re.I)
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def script_hashes(html: bytes) -> list[str]:
    """CSP source expressions for every inline script of an HTML document."""
    return sorted({"'sha256-" + base64.b64encode(hashlib.sha256(m).digest()).decode() + "'"
                   for m in _INLINE_SCRIPT.findall(html)})


# leaflet-measure (the map's measuring tool) compiles its lodash templates with `new Function`; only pages
# that load it allow eval, so every other page keeps the stricter policy.
NEEDS_EVAL = (b"leaflet-measure",)


def html_csp(html: bytes, img_origins: Iterable[str]) -> str:
    evaluates = ["'unsafe-eval'"] if any(marker in html for marker in NEEDS_EVAL) else []
    scripts = " ".join(["'self'", *script_hashes(html), *evaluates])
    images = " ".join(["'self'", "data:", "blob:", *img_origins])
    return (f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src {images}; "
            "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'")


class SecurityHeaders:
    """nosniff, Referrer-Policy, frame-ancestors (and X-Frame-Options for old browsers), CSP, HSTS."""

    def __init__(self, app: ASGIApp, img_origins: Iterable[str] = (), hsts_seconds: int = 0):
        self.app = app
        self.img_origins = tuple(img_origins)
        self.hsts_seconds = hsts_seconds

    def _common(self) -> list[tuple[bytes, bytes]]:
        headers = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"strict-origin-when-cross-origin"),
                   (b"x-frame-options", b"DENY")]
        if self.hsts_seconds:
            headers.append((b"strict-transport-security", f"max-age={self.hsts_seconds}".encode()))
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"]
                headers += self._common()
                ctype = dict(headers).get(b"content-type", b"")
                if ctype.startswith(b"text/html") and message.get("status", 200) != 304:
                    start = {**message, "headers": headers}  # wait for the body to hash its scripts
                    return
                headers.append((b"content-security-policy", STRICT_CSP.encode()))
                await send({**message, "headers": headers})
            elif start is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = b"".join(chunks)
                csp = html_csp(body, self.img_origins).encode()
                await send({**start, "headers": [*start["headers"], (b"content-security-policy", csp)]})
                await send({"type": "http.response.body", "body": body})
            else:
                await send(message)

        await self.app(scope, receive, wrapped)


class RequestId:
    """A request id (the client's X-Request-Id when sane, else a new one) in scope["state"] and the response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        rid = given if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", given) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(message)

        await self.app(scope, receive, wrapped)
