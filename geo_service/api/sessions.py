"""Browser sessions for closed deployments: a key entered once at /login becomes a signed cookie.

A browser cannot send `X-API-Key` with a page, its scripts, its fetches and its tiles, so when reads
need a key the map was unusable. The cookie (HttpOnly, SameSite=Strict, Secure behind TLS) carries
the key's name and role, the hash prefix of the key it was made from (a revoked key ends its
sessions), an expiry, and a CSRF token that writes from a browser must echo in `X-CSRF-Token`.
It is signed with HMAC-SHA256 by a secret every worker and host shares.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from ..settings import ApiKey, Settings

COOKIE = "cgis_session"
CSRF_HEADER = "x-csrf-token"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_secret(settings: Settings) -> bytes | None:
    """The signing secret: the setting, or a random one kept in a file beside the GeoPackage (made once,
    mode 0600, so all workers of this host share it). None for a database store without a setting."""
    if settings.session_secret:
        return settings.session_secret.encode()
    if settings.database_url or settings.gpkg is None:
        return None
    path = Path(settings.gpkg).resolve().parent / ".compound_gis_session_secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip() or None
    except OSError:
        return None  # a read-only folder: no sessions, /login says so
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_urlsafe(48).encode())
    return path.read_bytes().strip()


@dataclass(frozen=True)
class Session:
    name: str
    role: str
    key_hash: str  # the first 16 hex digits of the key's SHA-256
    expires: float
    csrf: str


class Sessions:
    def __init__(self, secret: bytes | None, hours: float):
        self.secret, self.hours = secret, hours

    @property
    def enabled(self) -> bool:
        return self.secret is not None

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self.secret, payload, hashlib.sha256).digest())

    def issue(self, entry: ApiKey) -> tuple[str, Session]:
        session = Session(entry.name, entry.role, entry.sha256[:16], time.time() + self.hours * 3600,
                          secrets.token_urlsafe(24))
        payload = orjson.dumps({"n": session.name, "r": session.role, "k": session.key_hash,
                                "e": int(session.expires), "c": session.csrf})
        return f"{_b64(payload)}.{self._sign(payload)}", session

    def read(self, cookie: str | None, keys: list[ApiKey]) -> Session | None:
        """The session of a cookie that is signed by us, unexpired, and whose key still exists."""
        if not cookie or not self.enabled or cookie.count(".") != 1:
            return None
        body, signature = cookie.split(".")
        try:
            payload = _unb64(body)
            if not hmac.compare_digest(self._sign(payload), signature):
                return None
            data = orjson.loads(payload)
            session = Session(str(data["n"]), str(data["r"]), str(data["k"]), float(data["e"]), str(data["c"]))
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            return None
        if session.expires < time.time():
            return None
        alive = any(k.name == session.name and k.role == session.role and k.sha256.startswith(session.key_hash)
                    for k in keys)
        return session if alive else None

    def cookie_attributes(self, secure: bool) -> dict:
        return {"key": COOKIE, "httponly": True, "samesite": "strict", "secure": secure, "path": "/",
                "max_age": int(self.hours * 3600)}
