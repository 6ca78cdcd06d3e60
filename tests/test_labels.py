"""Chinese all the way through (lang=zh), English with lang=en: analysis CSVs and the OGC HTML pages
show labels, not codes; codes stay available in their own CSV column; headers are unique."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest

from geo_service.analysis import labels
from geo_service.catalog import load_catalog

LAYERS = Path(__file__).resolve().parent.parent / "layers"
CODE_COLUMNS = {"tier": ("compounds", "renovation_tier"), "renovation_status": ("compounds", "renovation_status"),
                "lot_kind": ("parking_facilities", "kind"), "cause": ("waterlogging_points", "cause")}


@pytest.mark.parametrize("column", sorted(CODE_COLUMNS))
def test_result_labels_are_the_catalogs(column):
    layer, field = CODE_COLUMNS[column]
    values = load_catalog(LAYERS).get(layer).field(field).values
    assert {k: (t.get("zh"), t.get("en")) for k, t in values.items()} == labels.VALUES[column]


def test_status_labels_are_the_catalogs():
    catalog = load_catalog(LAYERS)
    for layer in ("ebike_charging_sites", "waterlogging_points"):
        for code, title in catalog.get(layer).field("status").values.items():
            assert labels.STATUS_VALUES[code] == (title.get("zh"), title.get("en"))


def _csv(client, name: str, lang: str, part: str | None = None) -> pd.DataFrame:
    params = {"f": "csv", "lang": lang, **({"part": part} if part else {})}
    r = client.get(f"/analysis/{name}", params=params)
    assert r.status_code == 200, r.text
    text = r.content.decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert len(header) == len(set(header)), f"duplicate headers: {header}"
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


ALL_CODES = {code for values in labels.VALUES.values() for code in values} | {"True", "False"}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name,part", [("renovation-priorities", None), ("charging-coverage", "sites"),
                                       ("shared-parking", None), ("waterlogging", "points"),
                                       ("parking-gaps", None)])
def test_analysis_csv_shows_labels_with_codes_beside(api_client, name, part, lang):
    table = _csv(api_client, name, lang, part)
    suffix = labels.CODE_SUFFIX[lang]
    code_columns = [c for c in table.columns if c.endswith(suffix)]
    for column in table.columns:
        if column in code_columns:
            continue
        raw = set(table[column]) & ALL_CODES - {""}
        assert not raw, f"{name} {lang}: column {column!r} shows codes {raw}"
    if name == "renovation-priorities":
        tier = "建议版本" if lang == "zh" else "tier"
        assert set(table[tier]) <= ({"示范版", "提升版", "基础版", ""} if lang == "zh"
                                    else {"Demonstration", "Upgrade", "Basic", ""})
        assert set(table[tier + suffix]) <= {"demonstration", "upgrade", "basic", ""}
        eligible = "符合改造条件" if lang == "zh" else "eligible"
        assert set(table[eligible]) <= ({"是", "否"} if lang == "zh" else {"Yes", "No"})
        if lang == "en":
            assert not any("停车" in v for v in table["categories"])  # the English twin, not the Chinese text


@pytest.fixture(scope="module")
def api_client(demo_gpkg, tmp_path_factory):
    import shutil

    from fastapi.testclient import TestClient

    from geo_service.api.app import create_app
    from geo_service.settings import Settings

    folder = tmp_path_factory.mktemp("labels")
    shutil.copy(demo_gpkg, folder / "demo.gpkg")
    with TestClient(create_app(Settings(gpkg=folder / "demo.gpkg", static_maps_dir=folder / "maps"))) as c:
        yield c


@pytest.fixture(scope="module")
def clients_by_lang(demo_gpkg, tmp_path_factory):
    """One app per service language (the HTML pages speak the language of the settings)."""
    import contextlib
    import shutil

    from fastapi.testclient import TestClient

    from geo_service.api.app import create_app
    from geo_service.settings import Settings

    folder = tmp_path_factory.mktemp("labels_html")
    shutil.copy(demo_gpkg, folder / "demo.gpkg")
    with contextlib.ExitStack() as stack:
        yield {lang: stack.enter_context(TestClient(create_app(Settings(
            gpkg=folder / "demo.gpkg", static_maps_dir=folder / f"maps_{lang}", lang=lang)))) for lang in ("zh", "en")}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("layer", ["compounds", "fire_hydrants", "parking_facilities", "waterlogging_points",
                                   "ebike_charging_sites"])
def test_items_and_item_pages_show_labels_and_a_geometry_summary(clients_by_lang, layer, lang):
    spec = load_catalog(LAYERS).get(layer)
    client = clients_by_lang[lang]
    page = client.get(f"/collections/{layer}/items", params={"f": "html", "limit": 50}).text
    cells = set(re.findall(r"<td>([^<]*)</td>", page))
    for fs in spec.fields:
        if not fs.values:
            continue
        raw = {code for code in fs.values if code not in {t.get(lang) for t in fs.values.values()}} & cells
        assert not raw, f"{layer}.{fs.name} ({lang}): codes shown {raw}"
    assert not re.search(r"(POINT|POLYGON|MULTIPOLYGON) ?\(", page), "WKT in the item list"
    summary = "个顶点 · 中心" if lang == "zh" else "vertices · centre"
    assert summary in page
    first = re.search(rf"/collections/{layer}/items/(\d+)\?f=html", page).group(1)
    item = client.get(f"/collections/{layer}/items/{first}", params={"f": "html"}).text
    shown = set(re.findall(r"<td>([^<]*)</td>", item))
    for fs in spec.fields:
        if fs.values:
            assert not {c for c in fs.values if c not in {t.get(lang) for t in fs.values.values()}} & shown
    if layer == "compounds":
        labels_shown = {t.get(lang) for t in spec.field("renovation_status").values.values()}
        assert labels_shown & cells, "renovation status shown by its label"


# ------------------------------------------------------------------ the landing page (issue 14, item 3)

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_landing_page_says_what_the_service_holds(clients_by_lang, lang):
    client = clients_by_lang[lang]
    page = client.get("/", headers={"accept": "text/html"}).text
    catalog = load_catalog(LAYERS)
    for spec in catalog:
        count = client.get(f"/collections/{spec.id}/items", params={"limit": 1}).json()["numberMatched"]
        row = re.search(rf"<tr><td><a href=\"[^\"]*/collections/{spec.id}/items\?f=html\">([^<]*)</a></td>"
                        r"<td class=\"num\">([^<]*)</td><td>([^<]*)</td>", page)
        assert row, spec.id
        assert row.group(1) == spec.title.get(lang) and row.group(2) == f"{count:,}"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC|—", row.group(3))
    for href in ("/map\"", "/api.html\"", "/reports/streets/", "/reports/districts/"):
        assert href in page, href
    assert client.get("/", headers={"accept": "application/json"}).json()["links"]  # clients keep the JSON
    docs = client.get("/api.html")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()  # the API docs are served locally


def test_report_numbers_are_for_people():
    from geo_service.reports.pages import fmt_count, fmt_int

    assert fmt_count(340.0) == "340" and fmt_count(12345.0) == "12,345" and fmt_count(3.25) == "3.2"
    assert fmt_count(1234.56) == "1,234.6" and fmt_count(0.04) == "0" and fmt_count(None) == fmt_int(None)
    assert fmt_int(1234567.4) == "1,234,567"
