"""Browser sign-in for closed deployments, and keys that rotate without a restart (issue 13).

Before: with GEO_SERVICE_READ_REQUIRES_KEY=true the web map was unusable (a browser cannot send
X-API-Key for /map, its scripts, fetches and tiles), and a new key needed a restart.
"""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from geo_service.api.app import create_app
from geo_service.api.auth import api_key_entry
from geo_service.api.keyring import CHECK_EVERY_S, append_key
from geo_service.api.sessions import COOKIE
from geo_service.settings import Settings


@pytest.fixture
def closed(demo_gpkg, tmp_path):
    """A service whose reads need a key, with an editor key in a watched keys file."""
    path = tmp_path / "demo.gpkg"
    path.write_bytes(demo_gpkg.read_bytes())
    keys_file = tmp_path / "keys.json"
    key, entry = api_key_entry("erin", "editor")
    append_key(keys_file, entry)
    settings = Settings(gpkg=path, read_requires_key=True, api_keys_file=keys_file)
    with TestClient(create_app(settings), follow_redirects=False) as c:
        c.key, c.keys_file = key, keys_file
        yield c


HTML = {"Accept": "text/html,application/xhtml+xml"}


def sign_in(c, key, next_="/map"):
    return c.post("/login", content=f"key={key}&next={next_}",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_a_browser_is_sent_to_login_and_back(closed):
    r = closed.get("/map", headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fmap"
    assert closed.get("/login?next=/map").status_code == 200
    assert closed.get("/collections/fire_hydrants/items").status_code == 401  # a script still gets 401
    r = sign_in(closed, "wrong-key")
    assert r.status_code == 401 and COOKIE not in r.cookies
    r = sign_in(closed, closed.key)
    assert r.status_code == 303 and r.headers["location"] == "/map"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie and "max-age=28800" in cookie
    assert "secure" not in cookie  # plain http here; see test_secure_cookie_behind_tls


def test_the_cookie_opens_map_data_tiles_and_features(closed):
    sign_in(closed, closed.key)
    extent = closed.app.state.store.extent("compounds")
    bbox = ",".join(map(str, extent))
    for url in ("/map", f"/map/data/compounds?bbox={bbox}&zoom=14", "/collections/fire_hydrants/items?limit=1",
                "/collections/fire_hydrants/tiles/WebMercatorQuad/14/13722/6693", "/static/webmap.js"):
        assert closed.get(url, headers=HTML).status_code == 200, url


def test_open_redirects_are_refused(closed):
    for target in ("//evil.example/x", "https://evil.example/", "/\\\\evil"):
        assert sign_in(closed, closed.key, target).headers["location"] == "/map"


def test_a_tampered_or_foreign_cookie_is_nobody(closed):
    r = sign_in(closed, closed.key)
    value = r.cookies[COOKIE]
    body, sig = value.split(".")
    closed.cookies.clear()
    closed.cookies.set(COOKIE, body + "." + sig[:-2] + ("AA" if not sig.endswith("AA") else "BB"))
    assert closed.get("/collections").status_code == 401


def test_writes_from_the_browser_need_the_csrf_token(closed):
    sign_in(closed, closed.key)
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.3995, 31.1205]},
               "properties": {"status": "working"}}
    assert closed.post("/collections/fire_hydrants/items", json=feature).status_code == 401
    token = closed.get("/session").json()["csrfToken"]
    r = closed.post("/collections/fire_hydrants/items", json=feature, headers={"X-CSRF-Token": token})
    assert r.status_code == 201
    assert closed.post("/collections/fire_hydrants/items", json=feature,
                       headers={"X-CSRF-Token": token + "x"}).status_code == 401


def test_logout_ends_the_session(closed):
    sign_in(closed, closed.key)
    assert closed.get("/collections").status_code == 200
    r = closed.post("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    closed.cookies.clear()
    closed.cookies.update(r.cookies)
    assert closed.get("/collections").status_code == 401


def test_keys_rotate_without_a_restart(closed):
    key, entry = api_key_entry("neo", "viewer")
    assert closed.get("/collections", headers={"X-API-Key": key}).status_code == 401
    append_key(closed.keys_file, entry)
    deadline = time.monotonic() + CHECK_EVERY_S + 5
    while closed.get("/collections", headers={"X-API-Key": key}).status_code != 200:
        assert time.monotonic() < deadline, "the new key was not taken up"
        time.sleep(0.2)
    # Revoking erin's key ends erin's browser sessions too.
    sign_in(closed, closed.key)
    assert closed.get("/collections").status_code == 200
    closed.keys_file.write_text(json.dumps([entry.model_dump()]))
    deadline = time.monotonic() + CHECK_EVERY_S + 5
    while closed.get("/collections").status_code != 401:
        assert time.monotonic() < deadline, "the revoked key's session still works"
        time.sleep(0.2)


def test_a_broken_keys_file_keeps_the_keys_read_before(closed):
    closed.keys_file.write_text("[{not yaml")
    time.sleep(CHECK_EVERY_S + 0.1)
    assert closed.get("/collections", headers={"X-API-Key": closed.key}).status_code == 200


def test_secure_cookie_behind_tls(closed):
    r = closed.post("/login", content=f"key={closed.key}", headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-Proto": "https"})
    assert "secure" in r.headers["set-cookie"].lower()


def test_apikey_command_says_what_to_do(tmp_path):
    from typer.testing import CliRunner

    from geo_service.cli import app

    out = CliRunner().invoke(app, ["apikey", "ada", "--role", "admin"]).output
    assert "Not in force yet" in out and "GEO_SERVICE_API_KEYS_FILE" in out and "restart" in out
    keys = tmp_path / "keys.json"
    out = CliRunner().invoke(app, ["apikey", "ada", "--role", "admin", "--keys-file", str(keys)]).output
    assert "no restart" in out and json.loads(keys.read_text())[0]["name"] == "ada"
