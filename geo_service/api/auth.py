"""API-key authentication and roles.

A key travels as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``. Settings keep only each
key's SHA-256, so a leaked config file does not leak keys; the hash of a presented key is
compared with every configured hash by ``hmac.compare_digest`` (constant time per comparison,
and no early exit that would tell which entry matched).

Roles are ordered: viewer (read) < editor (create/replace/update/delete, read audit history)
< admin (everything). The key's ``name`` is the actor recorded in audit records.

Errors: no key or an unknown key -> 401 with ``WWW-Authenticate: Bearer``; a valid key with too
small a role -> 403. ``AuthError`` subclasses Starlette's HTTPException so that, even where no
handler of this module is installed, the app's HTTPException handler answers with the right status.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from ..settings import ApiKey
from .keyring import KeyRing
from .sessions import COOKIE, CSRF_HEADER, Sessions, load_secret

ROLES = ("viewer", "editor", "admin")
_RANK = {role: rank for rank, role in enumerate(ROLES)}
REALM = "compound-gis"

# Declared as FastAPI security schemes so /api documents both ways of sending a key.
bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearerAuth",
                           description="the API key as a bearer token: `Authorization: Bearer KEY`")
header_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKeyHeader",
                             description="the API key in the `X-API-Key` header")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name (the audit actor) and its role."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        return _RANK[self.role] >= _RANK[role]


class AuthError(HTTPException):
    """401/403 with an OGC-style code; 401 carries the WWW-Authenticate challenge."""

    def __init__(self, status: int, code: str, description: str, invalid_key: bool = False):
        headers = None
        if status == 401:
            challenge = f'Bearer realm="{REALM}"' + (', error="invalid_token"' if invalid_key else "")
            headers = {"WWW-Authenticate": challenge}
        super().__init__(status_code=status, detail=description, headers=headers)
        self.code = code

    def response(self) -> JSONResponse:
        return JSONResponse({"code": self.code, "description": self.detail}, status_code=self.status_code,
                            headers=self.headers)


# ------------------------------------------------------------------ keys

def hash_key(key: str) -> str:
    """The hex SHA-256 kept in settings for a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A random key (256 bits, URL-safe), shown to its holder once and never stored."""
    return secrets.token_urlsafe(32)


def api_key_entry(name: str, role: str) -> tuple[str, ApiKey]:
    """A new key and the settings entry that admits it."""
    key = new_key()
    return key, ApiKey(name=name, role=role, sha256=hash_key(key))


def lookup_entry(keys: list[ApiKey], key: str) -> ApiKey | None:
    digest = hash_key(key)
    found: ApiKey | None = None
    for entry in keys:  # no early exit: the time taken does not depend on which entry matches
        if hmac.compare_digest(digest, entry.sha256) and found is None:
            found = entry
    return found


def lookup(keys: list[ApiKey], key: str) -> Principal | None:
    found = lookup_entry(keys, key)
    return Principal(found.name, found.role) if found else None


def presented_key(bearer: HTTPAuthorizationCredentials | None, header: str | None) -> str | None:
    """The key the client sent; ``Authorization: Bearer`` wins when both headers are present."""
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return header or None


# ------------------------------------------------------------------ dependencies

def _keys(request: Request) -> list[ApiKey]:
    """The keys in force: the app's key ring (settings + watched keys file), or just the settings' keys."""
    ring = getattr(request.app.state, "keyring", None)  # None in an app without install()
    return ring.keys() if ring is not None else request.app.state.settings.api_keys


def _missing_key(request: Request, role: str) -> AuthError:
    if _keys(request):
        return AuthError(401, "Unauthorized", f"this request needs an API key with role {role} "
                                              "(send 'Authorization: Bearer KEY' or 'X-API-Key: KEY')")
    return AuthError(401, "Unauthorized", "this request needs an API key, and this service has none configured")


def _invalid_key() -> AuthError:
    return AuthError(401, "Unauthorized", "the API key is not valid", invalid_key=True)


def _identify(request: Request, bearer: HTTPAuthorizationCredentials | None,
              header: str | None, write: bool = False) -> tuple[str | None, Principal | None]:
    """The caller: by the key in a header, else by the browser's login cookie (for a write only with
    the session's CSRF token in X-CSRF-Token, which another site's page cannot read or send)."""
    key = presented_key(bearer, header)
    keys = _keys(request)
    principal = lookup(keys, key) if key is not None else None
    sessions = getattr(request.app.state, "sessions", None)  # None in an app without install()
    if key is None and sessions is not None:
        session = sessions.read(request.cookies.get(COOKIE), keys)
        token = request.headers.get(CSRF_HEADER, "")
        if session is not None and (not write or hmac.compare_digest(token, session.csrf)):
            principal = Principal(session.name, session.role)
    if principal is not None:
        request.state.principal = principal
    return key, principal


def require_role(role: str):
    """A dependency admitting callers whose key has at least ``role``; it returns the Principal."""
    if role not in _RANK:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")

    def dependency(request: Request, bearer: HTTPAuthorizationCredentials | None = Security(bearer_scheme),
                   header: str | None = Security(header_scheme)) -> Principal:
        key, principal = _identify(request, bearer, header, write=True)
        if principal is None:
            raise _invalid_key() if key is not None else _missing_key(request, role)
        if not principal.can(role):
            raise AuthError(403, "Forbidden", f"the key {principal.name!r} has role {principal.role}; "
                                              f"this request needs {role}")
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency


require_editor = require_role("editor")
require_admin = require_role("admin")


def require_reader(request: Request, bearer: HTTPAuthorizationCredentials | None = Security(bearer_scheme),
                   header: str | None = Security(header_scheme)) -> Principal | None:
    """For read routes: open unless ``settings.read_requires_key``, then any valid key (viewer or more).

    While reads are open an unknown key is ignored rather than refused, so a token meant for
    something else (a proxy's, say) cannot break anonymous reading; the caller is then None.
    """
    key, principal = _identify(request, bearer, header)
    if request.app.state.settings.read_requires_key and principal is None:
        if key is None and request.method == "GET" and _browser_page(request):
            # A person at a browser: the login page, then back here.
            raise HTTPException(303, headers={"Location": "/login?" + urlencode({"next": _here(request)})})
        raise _invalid_key() if key is not None else _missing_key(request, "viewer")
    return principal


def _browser_page(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and request.query_params.get("f") not in ("json", "geojson")


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


# ------------------------------------------------------------------ app wiring

def install(app: FastAPI) -> None:
    """The key ring and browser sessions on ``app.state``, and AuthError rendered app-wide as JSON
    {code, description} with its WWW-Authenticate header.

    The edits router already renders its own errors; install it so read routes guarded by
    ``require_reader`` answer the same way.
    """
    settings = app.state.settings
    app.state.keyring = KeyRing(lambda: app.state.settings.api_keys, settings.api_keys_file)
    app.state.sessions = Sessions(load_secret(settings), settings.session_hours)

    @app.exception_handler(AuthError)
    async def _auth_error(request: Request, exc: AuthError):
        return exc.response()
