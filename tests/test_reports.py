"""Map reports: the compound page and the street/district atlases, as PDF files people open in meetings.

Each report is read back the way a reader meets it: pypdf for page count, text and font dictionaries,
pdftoppm for pixels. The figures on the page are checked against the analyses run independently on
the same compounds and surroundings.
"""

from __future__ import annotations

import io
import math
import shutil
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from geo_service.analysis.registry import REGISTRY, Analysis
from geo_service.reports import data as report_data
from geo_service.reports.data import Scope
from geo_service.reports.pdf import build_report
from geo_service.settings import Settings
from geo_service.store.base import Query
from geo_service.store.geopackage import GeoPackageStore

NAME = "梅陇三村"


# ------------------------------------------------------------------ reading PDFs back

def page_texts(path: Path) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(path).pages]


def font_programs(path: Path) -> list[tuple[str, list[str]]]:
    """(base font, embedded font-file keys) of every font any page uses."""
    out = {}
    for page in PdfReader(path).pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.get_object().values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            if font.get("/Subtype") == "/Type0":
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            keys = [k for k in (descriptor.get_object() if descriptor else {}) if str(k).startswith("/FontFile")]
            out[str(font.get("/BaseFont"))] = keys
    return list(out.items())


def ink_share(pdf: Path, tmp_path: Path, page: int = 1) -> float:
    """Share of non-white pixels of a page rendered by poppler."""
    stem = tmp_path / f"render-{page}"
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", str(page), "-l", str(page), "-singlefile", str(pdf),
                    str(stem)], check=True, capture_output=True)
    pixels = np.asarray(Image.open(f"{stem}.png").convert("L"))
    return float((pixels < 245).mean())


def assert_fonts_embedded(path: Path) -> None:
    fonts = font_programs(path)
    assert fonts, "the PDF uses no fonts"
    for name, keys in fonts:
        assert keys, f"font {name} is not embedded (no FontFile/FontFile2/FontFile3)"


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def settings(demo_copy, tmp_path) -> Settings:
    return Settings(gpkg=demo_copy, static_maps_dir=tmp_path / "static_maps", lang="zh")


@pytest.fixture
def store(settings, catalog):
    with GeoPackageStore(settings.gpkg, catalog) as s:
        yield s


def compound_id(store, name: str = NAME) -> int:
    found = store.query("compounds", Query(filters=Query.equals(name=name))).features
    assert len(found) == 1
    return int(found.index[0])


def independent_results(store, compounds) -> dict:
    """Every analysis run directly on the compounds and the features around them."""
    params = {name: a.resolve() for name, a in REGISTRY.items()}
    context = report_data.read_context(store, compounds, report_data.margin_m(params))
    frames = {**context, "compounds": compounds}
    return {name: REGISTRY[name].run(frames, params[name]) for name in REGISTRY}


def move(store, ids, **props) -> None:
    for cid in ids:
        store.update("compounds", int(cid), props, actor="test")


# ------------------------------------------------------------------ the compound page

def test_compound_page_prints_the_analysis_figures_in_chinese(store, settings, tmp_path):
    cid = compound_id(store)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = build_report(store, settings, Scope("compound", str(cid)))
    assert not [w for w in caught if "missing from font" in str(w.message)], "a glyph fell back to a box"
    assert out.path.parent == settings.static_maps_dir.resolve()
    assert out.path.name.startswith(f"compound-{cid}-{NAME}-") and out.path.suffix == ".pdf"
    assert out.pages == 1 and len(PdfReader(out.path).pages) == 1
    (text,) = page_texts(out.path)
    assert NAME in text and "梅陇镇" in text and "第 1 页 / 共 1 页" in text

    street = store.query("compounds", Query(filters=Query.equals(street="梅陇镇"))).features
    want = independent_results(store, street)
    gap = want["parking-gaps"].main.loc[cid]
    assert f"缺口 {int(gap['gap_spaces']):,} 个泊位" in text
    fire = want["hydrant-coverage"].main.loc[cid]
    assert f"消火栓覆盖 {fire['covered_share'] * 100:.1f}%" in text
    charging = want["charging-coverage"].main.loc[cid]
    assert f"每百户 {charging['ports_per_100_households']:.1f} 个" in text
    plan = want["renovation-priorities"]["compounds"].loc[cid]
    assert f"优先得分 {plan['score']:.2f}" in text
    assert (f"建议版本：{plan['tier_zh']}" if plan["eligible"] else "不符合改造条件") in text
    shared = want["shared-parking"]["arrangements"]
    for _, arrangement in shared[shared["compound_id"] == cid].head(3).iterrows():
        assert f"{int(arrangement['spaces'])} 个，步行 {round(arrangement['distance_m']):,} 米" in text

    assert_fonts_embedded(out.path)
    assert ink_share(out.path, tmp_path) > 0.05


def test_report_font_has_the_glyphs_and_a_clear_error_without_one(monkeypatch):
    from fontTools.ttLib import TTFont

    from geo_service.reports import fonts

    font = fonts.report_font()
    cmap = TTFont(font.path, lazy=True).getBestCmap()
    assert all(ord(c) in cmap for c in NAME + "闵行区莘庄镇古美路街道停车缺口消火栓覆盖")
    monkeypatch.setenv("GEO_SERVICE_CJK_FONT", "/nonexistent/font.ttc")
    with pytest.raises(fonts.FontMissing, match="GEO_SERVICE_CJK_FONT"):
        fonts.find_cjk_source()


def test_compound_page_as_png_and_the_cache(store, settings):
    cid = compound_id(store)
    png = build_report(store, settings, Scope("compound", str(cid)), fmt="png")
    assert png.path.suffix == ".png"
    with Image.open(png.path) as img:
        assert img.size[0] > img.size[1] > 1000  # A4 landscape at 150 dpi
        assert (np.asarray(img.convert("L")) < 245).mean() > 0.05
    first = build_report(store, settings, Scope("compound", str(cid)))
    again = build_report(store, settings, Scope("compound", str(cid)))
    assert not first.cached and again.cached and again.path == first.path
    move(store, [cid], households=999)  # any edit changes a version stamp: the next report is drawn afresh
    assert not build_report(store, settings, Scope("compound", str(cid))).cached


# ------------------------------------------------------------------ atlases

def test_street_atlas_runs_each_analysis_once(store, settings, tmp_path, monkeypatch):
    ids = [int(i) for i in store.query("compounds", Query(limit=3, sort=[("id", True)])).features.index]
    move(store, ids, street="测试街道")
    calls = []
    original = Analysis.run

    def counting(self, *args, **kwargs):
        calls.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Analysis, "run", counting)
    from geo_service.reports import pdf as report_pdf

    monkeypatch.setattr(report_pdf, "PARALLEL_MIN_PAGES", 2)  # exercise the forked, merged drawing too
    done = []
    out = build_report(store, settings, Scope("street", "测试街道"), workers=2, progress=lambda d, n: done.append(d))
    assert sorted(calls) == sorted(REGISTRY), "each analysis runs once for the whole report"
    assert done and done[-1] == out.pages

    n = len(ids)
    # cover, ranked table, contents, pages, health check, programme progress
    assert out.pages == 1 + 1 + 1 + n + 1 + 1 == len(PdfReader(out.path).pages)
    texts = page_texts(out.path)
    for number, text in enumerate(texts, start=1):
        assert f"第 {number} 页 / 共 {out.pages} 页" in text
    assert "测试街道 住宅小区综合改造地图集" in texts[0] and "主要指标" in texts[0]
    assert "优先级排序总表" in texts[1] and "目录" in texts[2]

    compounds = store.query("compounds", Query(ids=ids)).features
    want = independent_results(store, compounds)
    order = [int(i) for i in want["renovation-priorities"]["compounds"].index]
    for page, cid in enumerate(order, start=4):
        name = compounds.at[cid, "name"]
        assert name in texts[page - 1] and name in texts[1] and name in texts[2]
        gap = want["parking-gaps"].main.loc[cid, "gap_spaces"]
        assert f"缺口 {int(gap):,} 个泊位" in texts[page - 1]
        share = want["hydrant-coverage"].main.loc[cid, "covered_share"]
        assert f"消火栓覆盖 {share * 100:.1f}%" in texts[page - 1]
        assert f"{share * 100:.1f}%" in texts[1]
    assert "停车缺口合计（泊位）" in texts[0] and f"{want['parking-gaps'].summary['total_gap_spaces']:,}" in texts[0]
    assert "城市体检（住房与小区）" in texts[-2] and "测试街道" in texts[-2]  # before the programme's progress
    assert f"{want['parking-gaps'].summary['total_gap_spaces']:,}" in texts[-2]
    assert_fonts_embedded(out.path)
    assert ink_share(out.path, tmp_path) > 0.05


def test_district_atlas_in_english_groups_by_street(store, settings, tmp_path):
    """A tiny synthetic district: two compounds renamed into a new district, in two streets."""
    a, b = (int(i) for i in store.query("compounds", Query(limit=2, sort=[("id", False)])).features.index)
    move(store, [a, b], district="测试区")
    move(store, [b], street="测试街道")
    out = build_report(store, settings, Scope("district", "测试区"), lang="en")
    assert out.path.name.endswith("-en.pdf")
    assert out.pages == 1 + 1 + 1 + 2 + 1 + 1
    texts = page_texts(out.path)
    assert "测试区: compound renovation atlas" in texts[0] and "Page 1 of 7" in texts[0]
    assert "City health check" in texts[-2] and "测试街道" in texts[-2] and "Total" in texts[-2]
    assert "Contents" in texts[2] and "测试街道" in texts[2] and "梅陇镇" in texts[2]
    names = store.query("compounds", Query(ids=[a, b])).features["name"]
    assert all(name in "".join(texts[3:]) for name in names)
    assert_fonts_embedded(out.path)
    assert ink_share(out.path, tmp_path) > 0.05


# ------------------------------------------------------------------ safe file names

@pytest.mark.parametrize("name", ["../../etc/x", "..", "/abs/path", "a\\b\x00c", "x" * 5000, "梅陇" * 400, "   "])
def test_names_become_safe_files_in_the_reports_folder(tmp_path, name):
    from geo_service.reports.files import report_path

    for scope in (Scope("compound", "7"), Scope("street", name)):
        path = report_path(tmp_path, scope, name, "pdf", "zh")
        assert path.parent == tmp_path.resolve()
        assert len(path.name.encode()) <= 120 and "/" not in path.name and not path.name.startswith(".")
    assert report_path(tmp_path, Scope("street", "a" * 40 + "1"), "", "pdf", "zh") != \
        report_path(tmp_path, Scope("street", "a" * 40 + "2"), "", "pdf", "zh")  # same slug, different hash


def test_renamed_compounds_with_hostile_names_stay_inside_static_maps(store, settings, tmp_path):
    cid = compound_id(store)
    folder = settings.static_maps_dir
    for name in ("../../etc/x", "超长小区名称" * 200):
        move(store, [cid], name=name)
        out = build_report(store, settings, Scope("compound", str(cid)))
        assert out.path.parent == folder.resolve() and out.path.is_file()
        assert len(out.path.name.encode()) <= 120
        assert name[:20] in page_texts(out.path)[0]  # the name itself still prints (clipped) on the page
    assert not (tmp_path / "etc").exists() and not (folder.parent / "etc").exists()
    made = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert len(made) == 2 and all(p.startswith(f"compound-{cid}-") for p in made)


# ------------------------------------------------------------------ API and CLI

@pytest.fixture
def client(store, settings):
    from fastapi.testclient import TestClient

    from geo_service.api import reports
    from geo_service.api.app import create_app

    app = create_app(settings, store=store)
    if not any(getattr(r, "path", "").startswith("/reports/") for r in app.routes):
        app.include_router(reports.router)  # until app.py lists the router
    with TestClient(app) as c:
        yield c


def test_api_compound_page_and_street_job(client, store):
    cid = compound_id(store)
    r = client.get(f"/reports/compounds/{cid}.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''compound-" in r.headers["content-disposition"] and r.content.startswith(b"%PDF")
    assert client.get(f"/reports/compounds/{cid}.pdf", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    assert client.get("/reports/compounds/99999999.pdf").status_code == 404
    assert client.get("/reports/streets/没有这个街道.pdf").status_code == 404

    ids = [int(i) for i in store.query("compounds", Query(limit=2, sort=[("id", True)])).features.index]
    move(store, ids, street="测试街道")
    r = client.get("/reports/streets/测试街道.pdf")
    assert r.status_code == 202 and r.json()["status"] in ("queued", "running", "done")
    job = r.headers["location"]
    assert "/reports/jobs/" in job
    for _ in range(240):
        poll = client.get(job, follow_redirects=False)
        if poll.status_code == 303:
            break
        assert poll.status_code == 200 and poll.json()["status"] in ("queued", "running"), poll.text
        time.sleep(0.25)
    assert poll.status_code == 303
    pdf = client.get(poll.headers["location"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    again = client.get("/reports/streets/测试街道.pdf")  # finished and the data unchanged: the file at once
    assert again.status_code == 200 and again.content == pdf.content
    assert client.get("/reports/jobs/0123456789abcdef").status_code == 404


def test_api_street_with_a_hostile_name_files_safely(client, store, settings):
    ids = [int(i) for i in store.query("compounds", Query(limit=1, sort=[("id", True)])).features.index]
    move(store, ids, street="../../etc/x")
    r = client.get("/reports/streets/..%2F..%2Fetc%2Fx.pdf")
    assert r.status_code == 202, r.text
    for _ in range(240):
        poll = client.get(r.headers["location"], follow_redirects=False)
        if poll.status_code == 303:
            break
        time.sleep(0.25)
    assert poll.status_code == 303
    made = [p for p in settings.static_maps_dir.iterdir() if p.suffix == ".pdf"]
    assert len(made) == 1 and made[0].name.startswith("street-etc-x-")
    assert client.get(poll.headers["location"]).content.startswith(b"%PDF")
    assert not (settings.static_maps_dir.parent.parent / "etc").exists()


def test_api_district_job_runs_in_a_worker_process_and_any_app_can_poll_it(store, settings):
    """The production path: the app owns its store, so jobs run in a spawned process that opens its own."""
    from fastapi.testclient import TestClient

    from geo_service.api import reports
    from geo_service.api.app import create_app

    def app():
        made = create_app(settings)
        if not any(getattr(r, "path", "").startswith("/reports/") for r in made.routes):
            made.include_router(reports.router)
        return made

    a, b = (int(i) for i in store.query("compounds", Query(limit=2, sort=[("id", True)])).features.index)
    move(store, [a, b], district="测试区")
    with TestClient(app()) as first, TestClient(app()) as second:  # two "uvicorn workers"
        r = first.get("/reports/districts/测试区.pdf")
        assert r.status_code == 202
        assert first.app.state.report_jobs.mode == "process"
        job = r.headers["location"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            poll = second.get(job, follow_redirects=False)
            if poll.status_code == 303:
                break
            assert poll.json()["status"] in ("queued", "running"), poll.text
            time.sleep(0.5)
        assert poll.status_code == 303
        pdf = second.get(poll.headers["location"])
        assert pdf.status_code == 200 and len(PdfReader(io.BytesIO(pdf.content)).pages) == 1 + 1 + 1 + 2 + 1 + 1


def test_cli_export_report(store, settings, monkeypatch):
    from typer.testing import CliRunner

    from geo_service.cli import app

    monkeypatch.setenv("GEO_SERVICE_GPKG", str(settings.gpkg))
    monkeypatch.setenv("GEO_SERVICE_STATIC_MAPS_DIR", str(settings.static_maps_dir))
    cid = compound_id(store)
    result = CliRunner().invoke(app, ["export", "report", "--compound", str(cid)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and f"compound-{cid}-" in result.output
    out = settings.static_maps_dir / "custom.pdf"
    result = CliRunner().invoke(app, ["export", "report", "--compound", str(cid), "--out", str(out)])
    assert result.exit_code == 0 and out.is_file()
    bad = CliRunner().invoke(app, ["export", "report", "--compound", str(cid), "--street", "梅陇镇"])
    assert bad.exit_code != 0
    missing = CliRunner().invoke(app, ["export", "report", "--street", "没有这个街道"])
    assert missing.exit_code == 2 and "no compounds" in missing.output


# ------------------------------------------------------------------ basemap from a local tile folder

def test_basemap_tiles_from_a_local_folder(store, settings, tmp_path):
    """settings.basemap_local_dir (read with getattr until settings.py declares it) puts XYZ tiles under the map."""

    from geo_service.reports.static_map import TILE_PX

    cid = compound_id(store)
    lon, lat = store.get("compounds", cid)["geometry"].centroid.coords[0]
    tiles = tmp_path / "tiles"
    for z in (15, 16, 17):
        n = 2 ** z
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        for dx in range(-2, 3):
            for dy in range(-2, 3):
                path = tiles / str(z) / str(x + dx) / f"{y + dy}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (TILE_PX, TILE_PX), (0, 200, 0)).save(path)

    def green_share(path: Path) -> float:
        rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
        return float(((rgb[..., 1] > 150) & (rgb[..., 0] < 80) & (rgb[..., 2] < 80)).mean())

    with_tiles = settings.model_copy(update={"basemap_local_dir": tiles})
    out = build_report(store, with_tiles, Scope("compound", str(cid)), fmt="png")
    assert green_share(out.path) > 0.05
    assert "本地瓦片" in page_texts(build_report(store, with_tiles, Scope("compound", str(cid))).path)[0]
    plain = build_report(store, settings, Scope("compound", str(cid)), fmt="png", force=True)
    assert green_share(plain.path) < 0.01


@pytest.fixture(autouse=True, scope="module")
def _poppler():
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils (pdftoppm) is not installed")
