"""The source's own id where people look for a feature (issue 11 item 1): map popups, the map's search
box (through /compounds/search), and the compound page of a PDF report."""

from __future__ import annotations

import shapely
from fastapi.testclient import TestClient
from pypdf import PdfReader

from geo_service.api.app import create_app
from geo_service.reports.data import Scope
from geo_service.reports.pdf import build_report
from geo_service.settings import Settings
from geo_service.store.base import Query
from geo_service.store.geopackage import GeoPackageStore
from geo_service.styles import layer_scheme
from geo_service.web.page import _layer_config


def test_popups_list_the_source_id_with_its_title(catalog):
    spec = catalog.get("fire_hydrants")
    fields = _layer_config(spec, layer_scheme(spec), "zh")["fields"]
    assert {"name": "source_id", "title": "来源编号", "type": "string", "unit": None, "values": None} in fields


def test_search_finds_and_returns_the_source_id(tmp_path, catalog):
    with GeoPackageStore(tmp_path / "s.gpkg", catalog) as store:
        fid = store.create("compounds", {"name": "康乐小区", "households": 10, "source_id": "XQ-007"},
                           shapely.box(121.40, 31.20, 121.401, 31.201))
        client = TestClient(create_app(Settings(gpkg=store.path, database_url=None), store=store))
        by_key = client.get("/compounds/search", params={"q": "XQ-007"}).json()["results"]
        assert [(h["id"], h["match"], h["source_id"]) for h in by_key] == [(fid, "source_id", "XQ-007")]
        by_name = client.get("/compounds/search", params={"q": "康乐"}).json()["results"]
        assert by_name[0]["source_id"] == "XQ-007"


def test_the_compound_page_of_a_report_prints_the_source_id(demo_copy, tmp_path, catalog):
    settings = Settings(gpkg=demo_copy, static_maps_dir=tmp_path / "maps", lang="zh")
    with GeoPackageStore(demo_copy, catalog) as store:
        cid = int(store.query("compounds", Query(limit=1)).features.index[0])
        store.update("compounds", cid, {"source_id": "XQ-2024-017"}, actor="test")
        out = build_report(store, settings, Scope("compound", str(cid)))
    text = PdfReader(out.path).pages[0].extract_text()
    assert "来源编号 XQ-2024-017" in text
