"""/login and /logout: a browser session for deployments where reads need a key (see sessions.py)."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..web.templating import render
from .auth import lookup_entry
from .errors import ApiError
from .sessions import COOKIE

router = APIRouter(tags=["Access"])
CONFORMANCE: list[str] = []
MAX_FORM_BYTES = 4096

TEXTS = {
    "zh": {"title": "登录", "key": "API 密钥", "submit": "登录",
           "note": "密钥只用于这一次登录；浏览器保存的是签名的会话（默认 8 小时），不是密钥。",
           "disabled": "本服务没有配置会话密钥（session_secret），无法在浏览器登录。", "wrong": "密钥无效。"},
    "en": {"title": "Sign in", "key": "API key", "submit": "Sign in",
           "note": "The key is used for this sign-in only; the browser keeps a signed session (8 hours by default).",
           "disabled": "This service has no session secret (session_secret): browser sign-in is off.",
           "wrong": "The key is not valid."},
}


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never //host or a scheme (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/map"
    return target


def _page(request: Request, next_: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    lang = request.app.state.settings.lang if request.app.state.settings.lang in TEXTS else "en"
    html = render("auth/login.html", lang=lang, t=TEXTS[lang], next=next_, error=error,
                  enabled=request.app.state.sessions.enabled)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


@router.get("/login", response_class=HTMLResponse, summary="The sign-in page (HTML form)")
def login_page(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002 - the query's name
    return _page(request, _safe_next(next))


@router.post("/login", summary="Sign in with an API key (form field `key`); sets the session cookie",
             responses={303: {"description": "signed in: to `next`"}, 401: {"description": "the key is not valid"}})
async def login(request: Request) -> Response:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ApiError(413, "PayloadTooLarge", "the sign-in form is too large")
    form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    next_ = _safe_next(form.get("next"))
    sessions = request.app.state.sessions
    keys = request.app.state.keyring.keys()
    key = form.get("key", "").strip()
    entry = lookup_entry(keys, key) if key else None
    if not sessions.enabled or entry is None:
        lang = request.app.state.settings.lang if request.app.state.settings.lang in TEXTS else "en"
        return _page(request, next_, TEXTS[lang]["disabled" if not sessions.enabled else "wrong"], 401)
    cookie, _ = sessions.issue(entry)
    response = RedirectResponse(next_, status_code=303)
    response.set_cookie(value=cookie, **sessions.cookie_attributes(secure=_secure(request)))
    return response


@router.post("/logout", summary="Sign out: clears the session cookie",
             responses={303: {"description": "to the sign-in page"}})
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", secure=_secure(request), httponly=True, samesite="strict")
    return response


@router.get("/session", summary="The signed-in browser's name, role and CSRF token (for writes from a page)",
            responses={401: {"description": "no valid session"}})
def session_info(request: Request) -> JSONResponse:
    found = request.app.state.sessions.read(request.cookies.get(COOKIE), request.app.state.keyring.keys())
    if found is None:
        raise ApiError(401, "Unauthorized", "no valid session: sign in at /login")
    return JSONResponse({"name": found.name, "role": found.role, "csrfToken": found.csrf,
                         "expires": int(found.expires)}, headers={"Cache-Control": "no-store"})


def _secure(request: Request) -> bool:
    """Secure cookies behind TLS: HSTS configured, or the request came over https (directly or per proxy)."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return bool(request.app.state.settings.hsts_seconds) or request.url.scheme == "https" or forwarded == "https"
