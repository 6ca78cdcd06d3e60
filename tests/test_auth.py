"""API keys: hashing and lookup, the role dependencies on a bare app, and `geo-service apikey`."""

from __future__ import annotations

import hashlib
import json

import pytest
import yaml
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from geo_service.api import auth
from geo_service.cli import app as cli_app
from geo_service.settings import ApiKey, Settings

KEYS = {"vera": ("viewer", "test-viewer-key"), "ed": ("editor", "test-editor-key"), "ada": ("admin", "test-admin-key")}


def entries() -> list[ApiKey]:
    return [ApiKey(name=n, role=r, sha256=hashlib.sha256(k.encode()).hexdigest()) for n, (r, k) in KEYS.items()]


def bare_app(read_requires_key: bool, installed: bool = True) -> FastAPI:
    """Just the dependencies, as the lead wires them into routers."""
    app = FastAPI()
    app.state.settings = Settings(api_keys=entries(), read_requires_key=read_requires_key)
    if installed:
        auth.install(app)

    @app.get("/read")
    def read(who: auth.Principal | None = Depends(auth.require_reader)):
        return {"who": who.name if who else None}

    @app.get("/admin")
    def admin(who: auth.Principal = Depends(auth.require_admin)):
        return {"who": who.name}

    return app


def test_hash_and_lookup_compare_every_entry(monkeypatch):
    calls = []
    real = auth.hmac.compare_digest
    monkeypatch.setattr(auth.hmac, "compare_digest", lambda a, b: calls.append(b) or real(a, b))
    assert auth.hash_key("test-editor-key") == hashlib.sha256(b"test-editor-key").hexdigest()
    assert auth.lookup(entries(), "test-editor-key") == auth.Principal("ed", "editor")
    assert len(calls) == 3  # the match is the second entry, yet all three were compared
    assert auth.lookup(entries(), "test-editor-key ") is None
    assert auth.lookup([], "anything") is None


def test_roles_are_ordered():
    admin, editor, viewer = auth.Principal("a", "admin"), auth.Principal("e", "editor"), auth.Principal("v", "viewer")
    assert admin.can("editor") and admin.can("viewer") and editor.can("editor")
    assert not editor.can("admin") and not viewer.can("editor")
    with pytest.raises(ValueError, match="unknown role"):
        auth.require_role("owner")


def test_new_keys_are_random_and_long():
    keys = {auth.new_key() for _ in range(50)}
    assert len(keys) == 50 and all(len(k) >= 43 for k in keys)


def test_reads_open_by_default_ignore_unknown_keys():
    with TestClient(bare_app(read_requires_key=False)) as c:
        assert c.get("/read").json() == {"who": None}
        assert c.get("/read", headers={"Authorization": "Bearer nope"}).json() == {"who": None}
        assert c.get("/read", headers={"X-API-Key": "test-viewer-key"}).json() == {"who": "vera"}


def test_reads_behind_a_key():
    with TestClient(bare_app(read_requires_key=True)) as c:
        r = c.get("/read")
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="compound-gis"'
        assert r.json()["code"] == "Unauthorized" and "X-API-Key" in r.json()["description"]
        r = c.get("/read", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]
        for name, (_role, key) in KEYS.items():
            assert c.get("/read", headers={"Authorization": f"Bearer {key}"}).json() == {"who": name}
            assert c.get("/read", headers={"x-api-key": key}).json() == {"who": name}
        # Bearer wins over X-API-Key when both are sent
        both = {"Authorization": "Bearer test-admin-key", "X-API-Key": "test-viewer-key"}
        assert c.get("/read", headers=both).json() == {"who": "ada"}
        # another auth scheme is not a key
        assert c.get("/read", headers={"Authorization": "Basic dGVzdDp0ZXN0"}).status_code == 401


def test_role_checks_on_a_bare_app():
    with TestClient(bare_app(read_requires_key=False)) as c:
        assert c.get("/admin").status_code == 401
        r = c.get("/admin", headers={"Authorization": "Bearer test-editor-key"})
        assert r.status_code == 403 and "WWW-Authenticate" not in r.headers
        assert r.json() == {"code": "Forbidden",
                            "description": "the key 'ed' has role editor; this request needs admin"}
        assert c.get("/admin", headers={"Authorization": "Bearer test-admin-key"}).json() == {"who": "ada"}


def test_without_install_the_status_still_holds():
    """AuthError is an HTTPException, so an app without auth.install() still answers 401, not 500."""
    with TestClient(bare_app(read_requires_key=True, installed=False)) as c:
        assert c.get("/read").status_code == 401


def test_no_keys_configured_says_so():
    app = bare_app(read_requires_key=False)
    app.state.settings = Settings(api_keys=[])
    with TestClient(app) as c:
        r = c.get("/admin", headers={"Authorization": "Bearer test-admin-key"})
        assert r.status_code == 401
        assert c.get("/admin").json()["description"].endswith("this service has none configured")


def test_apikey_command_prints_a_working_key_once():
    result = CliRunner().invoke(cli_app, ["apikey", "张工", "--role", "editor"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    key = next(line.strip() for line in lines if line.startswith("    ") and "{" not in line)
    yaml_entry = yaml.safe_load(next(line for line in lines if line.startswith("- {")))[0]
    json_entry = json.loads(next(line.strip() for line in lines if line.strip().startswith('{"name"')))
    assert yaml_entry == json_entry == {"name": "张工", "role": "editor", "sha256": auth.hash_key(key)}
    assert result.output.count(key) == 1
    # the printed entry is what settings accept, and it admits the printed key
    settings = Settings(api_keys=[yaml_entry])
    assert auth.lookup(settings.api_keys, key) == auth.Principal("张工", "editor")
    other = CliRunner().invoke(cli_app, ["apikey", "张工", "--role", "editor"])
    assert auth.hash_key(key) not in other.output  # a new key every time


def test_apikey_command_rejects_unknown_roles():
    result = CliRunner().invoke(cli_app, ["apikey", "ops", "--role", "root"])
    assert result.exit_code != 0
    assert "viewer, editor, admin" in result.output
