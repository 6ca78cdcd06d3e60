"""The two products as packages: web/ and reports/ apart, services built once per app, /static, templates."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from geo_service.api import html
from geo_service.api.app import create_app
from geo_service.catalog import load_catalog
from geo_service.reports.jobs import ReportJobs
from geo_service.settings import Settings
from geo_service.store.geopackage import GeoPackageStore
from geo_service.web import templating
from geo_service.web.data import MapData

PACKAGE = Path(__file__).resolve().parent.parent / "geo_service"
XSS = '<img src=x onerror=alert(1)> "q"'


def imported(path: Path) -> set[str]:
    """Absolute names of the geo_service modules a file imports (relative imports resolved)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names |= {module} | {f"{module}.{a.name}" for a in node.names}
    return {n for n in names if n.startswith("geo_service")}


def imports_of(*paths: str) -> dict[str, set[str]]:
    files = [f for p in paths for f in ([PACKAGE / p] if p.endswith(".py") else (PACKAGE / p).rglob("*.py"))]
    return {str(f.relative_to(PACKAGE)): imported(f) for f in files}


def _reaching(found: dict[str, set[str]], banned: tuple[str, ...]) -> dict[str, list[str]]:
    return {f: sorted(n for n in names if n.startswith(banned)) for f, names in found.items()
            if any(n.startswith(banned) for n in names)}


def test_the_import_walk_sees_relative_imports():
    names = imported(PACKAGE / "web" / "export.py")
    assert "geo_service.web.page" in names and "geo_service.store.base" in names


def test_web_and_reports_import_neither_each_other_nor_the_api():
    assert _reaching(imports_of("web"), ("geo_service.reports", "geo_service.api", "geo_service.demo")) == {}
    assert _reaching(imports_of("reports"), ("geo_service.web", "geo_service.api", "geo_service.demo")) == {}
    assert _reaching(imports_of("styles.py"), ("geo_service.web", "geo_service.reports", "geo_service.api")) == {}


def test_the_demo_stays_outside_the_service():
    assert _reaching(imports_of("demo"), ("geo_service.api", "geo_service.web", "geo_service.reports")) == {}
    service = {f: n for f, n in imports_of(".").items() if not f.startswith("demo/") and f != "cli.py"}
    assert _reaching(service, ("geo_service.demo",)) == {}


@pytest.fixture(scope="module")
def app_and_store(demo_gpkg, tmp_path_factory):
    folder = tmp_path_factory.mktemp("webpkg")
    gpkg = folder / "demo.gpkg"
    shutil.copy(demo_gpkg, gpkg)
    settings = Settings(gpkg=gpkg, static_maps_dir=folder / "static_maps")
    store = GeoPackageStore(gpkg, load_catalog(settings.layers))
    yield create_app(settings, store), store
    store.close()


def test_services_are_built_with_the_app_and_closed_at_shutdown(app_and_store):
    app, store = app_and_store
    md, jobs = app.state.map_data, app.state.report_jobs
    assert isinstance(md, MapData) and md.store is store and isinstance(jobs, ReportJobs)
    closed = []
    md.close = lambda: closed.append("map_data")
    jobs.shutdown = lambda: closed.append("report_jobs")
    bbox = ",".join(map(str, store.extent("compounds")))
    with TestClient(app) as client:
        assert client.get(f"/map/data/compounds?bbox={bbox}&zoom=14").status_code == 200
        assert client.get("/reports/jobs/0123456789abcdef").status_code == 404
        assert app.state.map_data is md and app.state.report_jobs is jobs  # nothing made in a request
        assert closed == []
    assert sorted(closed) == ["map_data", "report_jobs"]


def test_map_data_close_drops_what_it_holds(app_and_store):
    _, store = app_and_store
    md = MapData(store)
    bbox = store.extent("compounds")
    first = md.view("compounds", bbox, 14)
    index = md.index("compounds", md.scheme("compounds"))
    assert md.index("compounds", md.scheme("compounds")) is index  # kept
    md.close()
    assert md.index("compounds", md.scheme("compounds")) is not index  # rebuilt after close
    assert md.view("compounds", bbox, 14) == first


def test_static_files_are_cached_and_revalidated(app_and_store):
    app, _ = app_and_store
    with TestClient(app) as client:
        r = client.get("/static/webmap.js")
        assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=86400"
        assert "javascript" in r.headers["content-type"] and r.headers.get("etag")
        again = client.get("/static/webmap.js", headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert client.head("/static/webmap.css").status_code == 200
        assert client.post("/static/webmap.js").status_code == 405
        missing = client.get("/static/nope.css")
        assert missing.status_code == 404 and missing.json()["code"] == "NotFound"
        assert "fetch_web_assets" not in missing.json()["description"]  # the hint is for vendor/ only


def test_templates_escape_what_they_are_given():
    page = html.page(XSS, "<p>body made by a template</p>")
    assert page.startswith("<!doctype html>") and "<p>body made by a template</p>" in page
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt; &quot;q&quot;" in page
    links = html.links([{"href": 'x" onclick="y', "rel": "self", "type": "text/html", "title": XSS}])
    assert 'href="x&quot; onclick=&quot;y"' in links and "<img" not in links
    assert html.cell(None) == html.cell(float("nan")) == "" and html.cell("<b>") == "&lt;b&gt;"
    assert templating.render("map/title.html", title=XSS).count("<") == 2  # only the div's own tags


def test_templates_ship_inside_the_package():
    folder = PACKAGE / "web" / "templates"
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*.html")}
    assert {"ogc/base.html", "ogc/items.html", "ogc/feature.html", "map/title.html"} <= names
    assert "web/templates" not in (PACKAGE.parent / ".gitignore").read_text()
