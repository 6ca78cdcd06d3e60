"""The web map end to end: a real server on the demo district, headless Chromium, no internet.

One server and one browser for the module. Every request that leaves 127.0.0.1 (basemap tiles,
or a CDN if anything still linked one) is aborted and recorded, as on an offline intranet.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import shapely

from geo_service.catalog import load_catalog
from geo_service.store.base import Query
from geo_service.web import assets

from .servers import running_server
from .test_webmap import XSS, add_xss_compound

sync_api = pytest.importorskip("playwright.sync_api")
Image = pytest.importorskip("PIL.Image")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
    pytest.mark.skipif(bool(assets.missing()), reason=f"web map assets missing: {assets.FETCH_HINT}"),
]

@pytest.fixture(scope="module")
def server(demo_gpkg, tmp_path_factory):
    from geo_service.store.geopackage import GeoPackageStore

    folder = tmp_path_factory.mktemp("webmap_e2e")
    gpkg = folder / "demo.gpkg"
    shutil.copy(demo_gpkg, gpkg)
    with GeoPackageStore(gpkg, load_catalog(Path(__file__).resolve().parent.parent / "layers")) as store:
        xss_id = add_xss_compound(store)
        frame = store.query("compounds", Query(filters=Query.equals(name="梅陇三村"))).features
        meilong = SimpleNamespace(id=int(frame.index[0]), households=int(frame["households"].iloc[0]),
                                  bounds=shapely.bounds(frame.geometry.iloc[0]).tolist(),
                                  inside=shapely.point_on_surface(frame.geometry.iloc[0]))
    env = {"GEO_SERVICE_GPKG": str(gpkg), "GEO_SERVICE_STATIC_MAPS_DIR": str(folder / "static_maps"),
           "NO_PROXY": "127.0.0.1,localhost"}
    with running_server(env, log=folder / "server.log") as base:
        yield SimpleNamespace(base=base, gpkg=gpkg, folder=folder, env=env, xss_id=xss_id, meilong=meilong)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    # Playwright's wait_for_function evaluates strings in the page, which our CSP rightly forbids;
    # test_pages_satisfy_their_csp below checks the pages with the policy in force.
    context = browser.new_context(viewport={"width": 1100, "height": 760}, locale="zh-CN", bypass_csp=True)
    pg = context.new_page()
    pg.dialogs, pg.offsite, pg.errors = [], [], []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))

    def route(r):
        url = r.request.url
        if url.startswith(("http://127.0.0.1", "file:", "data:", "blob:")):
            r.continue_()
        else:
            pg.offsite.append((r.request.resource_type, url))
            r.abort()

    pg.route("**/*", route)
    yield pg
    context.close()


def open_map(pg, url: str) -> None:
    pg.goto(url)
    pg.wait_for_function("window.compoundMap !== undefined", timeout=15_000)
    idle(pg)


def idle(pg) -> None:
    pg.evaluate("window.compoundMap.idle()")


def map_pixels(pg) -> np.ndarray:
    """The map area as an RGB array (a screenshot)."""
    return np.asarray(Image.open(io.BytesIO(pg.locator(".folium-map").screenshot())).convert("RGB"), dtype=np.int16)


def drawn_pixels(pixels: np.ndarray) -> int:
    """Pixels that differ from the plain background (#eef0ec): features, clusters and the controls."""
    return int((np.abs(pixels - np.array([0xEE, 0xF0, 0xEC])).max(axis=2) > 24).sum())


def changed_pixels(a: np.ndarray, b: np.ndarray) -> int:
    return int((np.abs(a - b).max(axis=2) > 24).sum())


def test_map_renders_offline_and_layers_toggle(server, page):
    open_map(page, server.base + "/map")
    assert page.errors == []
    assert page.evaluate("window.compoundMap.drawn('compounds')") > 0
    assert [u for kind, u in page.offsite if kind != "image"] == []  # only basemap tiles were off-site
    before = map_pixels(page)
    page.locator(".leaflet-control-container").evaluate("e => e.style.visibility = 'hidden'")
    assert drawn_pixels(map_pixels(page)) > 20_000, "the map area is blank"
    page.locator(".leaflet-control-container").evaluate("e => e.style.visibility = ''")
    label = page.locator(".leaflet-control-layers-overlays label", has_text="住宅小区")
    label.locator("input").click()
    idle(page)
    assert page.evaluate("window.compoundMap.drawn('compounds')") == 0
    assert changed_pixels(before, map_pixels(page)) > 5_000  # the compounds are gone from the picture
    label.locator("input").click()
    idle(page)
    assert page.evaluate("window.compoundMap.drawn('compounds')") > 0


def test_clicking_a_compound_opens_its_popup(server, page):
    m = server.meilong
    open_map(page, server.base + "/map?layers=compounds")
    page.evaluate(f"void window.compoundMap.map.setView([{m.inside.y}, {m.inside.x}], 17, {{animate: false}})")
    page.wait_for_timeout(300)
    idle(page)
    point = page.evaluate(f"window.compoundMap.map.latLngToContainerPoint([{m.inside.y}, {m.inside.x}])")
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    popup = page.locator(".cgis-panel .cgis-popup")
    popup.locator(".cgis-popup-table").wait_for()
    text = popup.inner_text()
    assert "梅陇三村" in text and "户数" in text and f"{m.households} 户" in text, text
    links = popup.locator("a").evaluate_all("els => els.map(a => a.href)")
    assert f"{server.base}/collections/compounds/items/{m.id}" in links
    assert f"{server.base}/reports/compounds/{m.id}.pdf" in links


def _open_panel_at(server, page, m):
    """The map at z15 on compound m, clicked: its side panel open; returns the panel's walking button."""
    open_map(page, server.base + "/map?layers=compounds")
    page.evaluate(f"void window.compoundMap.map.setView([{m.inside.y}, {m.inside.x}], 15, {{animate: false}})")
    page.wait_for_timeout(300)
    idle(page)
    point = page.evaluate(f"window.compoundMap.map.latLngToContainerPoint([{m.inside.y}, {m.inside.x}])")
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    button = page.locator(".cgis-panel button.cgis-iso")
    button.wait_for()
    return button


def test_compound_panel_draws_its_walking_isochrones(server, page):
    m = server.meilong
    button = _open_panel_at(server, page, m)
    before = map_pixels(page)
    with page.expect_response(lambda r: f"/compounds/{m.id}/isochrones" in r.url and r.status == 200):
        button.click()
    page.wait_for_timeout(300)
    idle(page)
    assert page.evaluate("window.compoundMap.isoGroup.getLayers().length") == 3
    assert changed_pixels(before, map_pixels(page)) > 5_000  # the walkable areas are on the map
    assert page.errors == []


def test_compound_panel_draws_the_walking_routes_to_the_nearest_facilities(server, page):
    m = server.meilong
    button = _open_panel_at(server, page, m)
    with page.expect_response(lambda r: f"/compounds/{m.id}/nearest-facilities" in r.url and r.status == 200) as got:
        button.click()
    routed = [f for f in got.value.json()["features"] if f["geometry"] is not None]
    assert len(routed) >= 5
    page.wait_for_timeout(300)
    idle(page)
    layers = "window.compoundMap.routeGroup.getLayers()"
    assert page.evaluate(f"{layers}.length") == 2 * len(routed)  # a line and a marker per category
    assert page.evaluate(f"{layers}.filter(l => l instanceof L.Polyline && !(l instanceof L.CircleMarker))"
                         ".length") == len(routed)
    first = routed[0]["properties"]
    tip = page.evaluate(f"{layers}[0].getTooltip()._content({layers}[0]).textContent")
    assert first["category_zh"] in tip and f"{first['minutes']:.1f} 分钟" in tip, tip
    end = routed[0]["geometry"]["coordinates"][-1]
    marker = page.evaluate(f"(() => {{ const c = {layers}[1].getLatLng(); return [c.lng, c.lat]; }})()")
    assert marker == pytest.approx(end, abs=1e-6)
    page.locator(".cgis-panel .cgis-panel-close").click()
    assert page.evaluate(f"{layers}.length") == 0  # closing the panel clears the routes
    assert page.errors == []


def test_search_zooms_to_the_compound(server, page):
    m = server.meilong
    open_map(page, server.base + "/map")
    box = page.locator(".cgis-search input")
    box.fill("梅陇三村")
    page.locator(".cgis-search-hit", has_text="梅陇三村").first.wait_for()
    box.press("Enter")
    minx, miny, maxx, maxy = m.bounds
    page.wait_for_function(
        f"""() => {{ const c = window.compoundMap.map.getCenter(), z = window.compoundMap.map.getZoom();
              return z >= 15 && c.lng > {minx} && c.lng < {maxx} && c.lat > {miny} && c.lat < {maxy}; }}""",
        timeout=10_000)
    idle(page)
    page.locator(".cgis-panel .cgis-popup-name", has_text="梅陇三村").wait_for()


def test_markup_in_data_shows_as_text(server, page):
    open_map(page, f"{server.base}/map/compounds/{server.xss_id}")
    name = page.locator(".cgis-panel .cgis-popup-name")
    name.wait_for()
    assert name.inner_text() == XSS
    assert page.locator(".cgis-title").inner_text() == XSS
    assert page.title() == XSS
    page.evaluate(f"void window.compoundMap.layers.compounds.byId[{server.xss_id}].openTooltip()")
    assert page.locator(".leaflet-tooltip").inner_text() == XSS
    page.locator(".cgis-search input").fill("onerror")
    hit = page.locator(".cgis-search-hit .cgis-search-name").first
    hit.wait_for()
    assert hit.inner_text() == XSS
    page.wait_for_timeout(300)
    assert page.dialogs == [] and page.errors == []
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0


def test_gcj02_shift_matches_the_python_transform(server, page):
    from geo_service.crs import wgs84_to_gcj02

    open_map(page, server.base + "/map?layers=compounds")
    for lon, lat in [(121.4, 31.12), (116.39, 39.9), (113.26, 23.13)]:
        js = page.evaluate(f"CompoundMap.toGcj({lon}, {lat})")
        py = wgs84_to_gcj02(lon, lat)
        assert abs(js[0] - float(py[0])) < 1e-9 and abs(js[1] - float(py[1])) < 1e-9
    assert page.evaluate("CompoundMap.toGcj(2.35, 48.85)") == [2.35, 48.85]  # outside China: unchanged


def test_exported_file_opens_offline(server, page):
    m = server.meilong
    out = server.folder / "export.html"
    subprocess.run([sys.executable, "-m", "geo_service.cli", "export", "map", "--compound", str(m.id), "--out",
                    str(out)], env={**os.environ, **server.env}, check=True, capture_output=True, timeout=120)
    open_map(page, out.as_uri())
    assert [u for kind, u in page.offsite if kind != "image"] == []
    assert page.errors == []
    assert page.evaluate("window.compoundMap.drawn('compounds')") > 0
    popup = page.locator(".cgis-panel .cgis-popup")  # opened on the exported compound
    popup.locator(".cgis-popup-table").wait_for()
    assert "梅陇三村" in popup.inner_text() and f"{m.households} 户" in popup.inner_text()
    assert drawn_pixels(map_pixels(page)) > 20_000
    page.locator(".cgis-search input").fill("梅陇三村")  # the search box works on the embedded data
    page.locator(".cgis-search-hit", has_text="梅陇三村").first.wait_for()


def test_pages_satisfy_their_csp(browser, server):
    """With the Content-Security-Policy in force, no page reports a violation and the map still draws."""
    context = browser.new_context(viewport={"width": 1100, "height": 760}, locale="zh-CN")
    pg = context.new_page()
    pg.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                       "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
    console: list[str] = []
    pg.on("console", lambda m: console.append(m.text))
    pg.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("http://127.0.0.1", "data:", "blob:"))
             else r.abort())
    try:
        for path in ("/map", f"/map/compounds/{server.meilong.id}", "/?f=html", "/collections?f=html",
                     "/collections/compounds/items?f=html&limit=5", "/api.html"):
            pg.goto(server.base + path)
            pg.wait_for_load_state("networkidle")
            assert pg.evaluate("window.__csp") == [], path
            assert not [m for m in console if "Content Security Policy" in m], (path, console)
            if path.startswith("/map"):
                pg.evaluate("window.compoundMap.idle()")
                assert drawn_pixels(map_pixels(pg)) > 1000, path  # the map drew under the policy
            if path == "/api.html":
                pg.wait_for_selector(".swagger-ui .opblock", timeout=15_000)  # Swagger UI rendered offline
    finally:
        context.close()


# ------------------------------------------------------------------ what a planner sees (issue 14, item 1)

SIZES = [(1366, 768), (1920, 1080)]


@pytest.fixture(params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def sized_page(browser, request):
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", bypass_csp=True)
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.route("**/*", lambda r: r.continue_() if r.request.url.startswith("http://127.0.0.1") else r.abort())
    yield pg
    context.close()


def cluster_rects(pg) -> list[dict]:
    """Screen boxes of the cluster discs inside the map (every layer)."""
    return pg.evaluate("""() => {
        const m = document.querySelector('.folium-map').getBoundingClientRect();
        return [...document.querySelectorAll('.cgis-cluster')].map(e => e.getBoundingClientRect())
            .filter(r => r.right > m.left && r.left < m.right && r.bottom > m.top && r.top < m.bottom)
            .map(r => ({x: r.left, y: r.top, w: r.width, h: r.height}));
    }""")


def overlapping(rects: list[dict]) -> list[tuple[dict, dict]]:
    def meet(a, b):  # discs: overlap when the centres are closer than the radii (1 px tolerance)
        dx, dy = a["x"] + a["w"] / 2 - b["x"] - b["w"] / 2, a["y"] + a["h"] / 2 - b["y"] - b["h"] / 2
        return (dx * dx + dy * dy) ** 0.5 < (a["w"] + b["w"]) / 2 - 1
    return [(a, b) for i, a in enumerate(rects) for b in rects[i + 1:] if meet(a, b)]


def test_overview_opens_on_the_data_with_cluster_counts_apart(server, sized_page):
    pg = sized_page
    open_map(pg, server.base + "/map")
    fit = pg.evaluate("""() => {
        const a = window.compoundMap, b = a.cfg.bounds, map = a.map;
        const p = map.latLngToContainerPoint([b[1], b[0]]), q = map.latLngToContainerPoint([b[3], b[2]]);
        const s = map.getSize();
        return {w: q.x - p.x, h: p.y - q.y, mw: s.x, mh: s.y, left: p.x, top: q.y};
    }""")
    assert fit["left"] >= 0 and fit["top"] >= 0 and fit["left"] + fit["w"] <= fit["mw"]
    assert max(fit["w"] / fit["mw"], fit["h"] / fit["mh"]) > 0.75, fit  # the data fill the window one way
    z0 = pg.evaluate("window.compoundMap.map.getZoom()")
    for dz in (0, 1, 2):
        pg.evaluate(f"void window.compoundMap.map.setZoom({z0 + dz}, {{animate: false}})")
        pg.wait_for_timeout(300)
        idle(pg)
        rects = cluster_rects(pg)
        assert dz > 0 or len(rects) > 10, "the overview shows clusters"
        assert overlapping(rects) == [], f"cluster labels overlap at zoom {z0 + dz}"
    assert pg.errors == []


def test_points_are_drawn_above_compounds(server, sized_page):
    open_map(sized_page, server.base + "/map")
    panes = sized_page.evaluate("""() => ['cgis-areas', 'cgis-points'].map(
        n => +getComputedStyle(window.compoundMap.map.getPane(n)).zIndex)""")
    assert panes[0] < panes[1]
    kinds = sized_page.evaluate("""() => { const a = window.compoundMap, out = {};
        a.order.forEach(id => a.layers[id].group.eachLayer(l => (l.eachLayer ? l.eachLayer(x => x) : null,
            out[id] = (l.options.renderer || (l.getLayers && l.getLayers()[0] && l.getLayers()[0].options.renderer)
                       || {}).options)));
        return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v ? v.pane : null])); }""")
    assert kinds.get("compounds") in (None, "cgis-areas")


def test_cluster_colour_shows_a_faulty_hydrant(server, sized_page):
    open_map(sized_page, server.base + "/map?layers=fire_hydrants")
    keys = sized_page.evaluate("""() => { const d = window.compoundMap.layers.fire_hydrants.data;
        return d.mode === 'clusters' ? d.clusters.map(c => c[3]) : null; }""")
    assert keys, "hydrants cluster at the overview"
    assert "faulty" in keys  # the demo has faulty hydrants: the worst status colours their clusters


def test_legend_is_visible_or_scrollable_and_folds(server, sized_page):
    pg = sized_page
    open_map(pg, server.base + "/map")
    info = pg.evaluate("""() => {
        const box = document.querySelector('.cgis-legend'), r = box.getBoundingClientRect();
        box.scrollTop = box.scrollHeight;
        const rows = box.querySelectorAll('.cgis-legend-row'), last = rows[rows.length - 1].getBoundingClientRect();
        return {top: r.top, bottom: r.bottom, vh: innerHeight, scrolls: box.scrollHeight > box.clientHeight,
                overflow: getComputedStyle(box).overflowY, lastTop: last.top, lastBottom: last.bottom};
    }""")
    assert info["top"] >= 0 and info["bottom"] <= info["vh"], info  # the box itself is on screen
    assert info["lastTop"] >= info["top"] and info["lastBottom"] <= info["bottom"] + 1, info  # last row reachable
    if info["scrolls"]:
        assert info["overflow"] in ("auto", "scroll")
    for text in ("积水点", "停车设施"):
        assert pg.locator(".cgis-legend-layer", has_text=text).count() == 1
    pg.locator(".cgis-legend summary").click()
    assert not pg.locator(".cgis-legend-body").is_visible()
    pg.locator(".cgis-legend summary").click()
    assert pg.locator(".cgis-legend-body").is_visible()


def test_compound_page_keeps_the_compound_in_sight_with_details_open(server, sized_page):
    m = server.meilong
    pg = sized_page
    open_map(pg, f"{server.base}/map/compounds/{m.id}")
    panel = pg.locator(".cgis-panel")
    panel.locator(".cgis-popup-table").wait_for()
    assert "梅陇三村" in panel.inner_text()
    assert pg.locator(".leaflet-popup").count() == 0
    geo = pg.evaluate(f"""() => {{
        const a = window.compoundMap, map = a.map, r = a.panelBox.getBoundingClientRect();
        const m = map.getContainer().getBoundingClientRect(), s = map.getSize();
        const p = map.latLngToContainerPoint([{m.bounds[1]}, {m.bounds[0]}]);
        const q = map.latLngToContainerPoint([{m.bounds[3]}, {m.bounds[2]}]);
        return {{panel: [r.left - m.left, r.top - m.top, r.right - m.left, r.bottom - m.top],
                 compound: [p.x, q.y, q.x, p.y], size: [s.x, s.y]}};
    }}""")
    cx0, cy0, cx1, cy1 = geo["compound"]
    px0, py0, px1, py1 = geo["panel"]
    assert 0 <= cx0 and cx1 <= geo["size"][0] and 0 <= cy0 and cy1 <= geo["size"][1], geo  # on screen
    assert cx0 >= px1 or cx1 <= px0 or cy0 >= py1 or cy1 <= py0, geo  # not under the panel
    pg.locator(".cgis-panel-close").click()
    assert not panel.is_visible()


def test_filter_box_filters_the_map_and_links_the_matching_items(server, page):
    """Issue 15 item 5: a ready-made example filters what the map shows; a bad filter says where it is
    wrong and leaves the map as it was; the links open the matching items and CSV."""
    from geo_service.store.geopackage import GeoPackageStore

    with GeoPackageStore(server.gpkg, load_catalog(Path(__file__).resolve().parent.parent / "layers")) as store:
        frame = store.query("fire_hydrants", Query(properties=["status"])).features
    faulty = int(frame.status.isin(["faulty", "under_repair"]).sum())
    assert 0 < faulty < len(frame)
    open_map(page, server.base + "/map?layers=fire_hydrants")
    page.evaluate("void window.compoundMap.map.setZoom(17, {animate: false})")  # single hydrants, no clusters
    page.wait_for_timeout(300)
    idle(page)
    box = page.locator(".cgis-filter")
    box.locator("summary").click()
    box.locator(".cgis-filter-layer").select_option("fire_hydrants")
    options = box.locator(".cgis-filter-examples option").evaluate_all("os => os.map(o => [o.textContent, o.value])")
    assert ["状态为 故障 或 维修中", "status IN ('faulty', 'under_repair')"] in options, options

    box.locator(".cgis-filter-text").fill("status = 'faulty' AND")  # broken text: an error with its position
    box.locator(".cgis-filter-apply").click()
    error = box.locator(".cgis-filter-error")
    error.wait_for()
    assert "filter" in error.inner_text()
    assert page.evaluate("Object.keys(window.compoundMap.filters).length") == 0

    box.locator(".cgis-filter-examples").select_option("status IN ('faulty', 'under_repair')")
    box.locator(".cgis-filter-apply").click()
    box.locator(".cgis-filter-status", has_text=f"共 {faulty} 个要素符合").wait_for()
    idle(page)
    data = page.evaluate("window.compoundMap.layers.fire_hydrants.data")
    assert data["filterMatched"] == faulty
    if data["mode"] == "features":
        assert {f["properties"]["_c"] for f in data["features"]} <= {"faulty", "under_repair"}
    assert "已筛选" in page.locator(".cgis-legend-section[data-layer=fire_hydrants]").inner_text()
    hrefs = box.locator(".cgis-filter-links a").evaluate_all("as => as.map(a => a.href)")
    assert any("f=html" in h for h in hrefs) and any("f=csv" in h for h in hrefs)
    csv_href = next(h for h in hrefs if "f=csv" in h)
    csv_text = page.evaluate("u => fetch(u).then(r => r.text())", csv_href)
    assert len(csv_text.strip().splitlines()) == faulty + 1  # the header and every matching hydrant
    assert "状态" in csv_text.splitlines()[0]

    box.locator(".cgis-filter-clear").click()
    idle(page)
    assert page.evaluate("Object.keys(window.compoundMap.filters).length") == 0
    assert "filterMatched" not in page.evaluate("window.compoundMap.layers.fire_hydrants.data")
    assert page.errors == []
