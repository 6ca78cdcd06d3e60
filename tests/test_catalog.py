"""The layer catalog: typed specs from YAML, clear errors for malformed files."""

from __future__ import annotations

import pytest

from geo_service.catalog import CatalogError, load_catalog, load_layer
from geo_service.settings import Settings, default_layers_dir


def test_design_layers_with_design_fields(catalog):
    assert catalog.ids() == ["compounds", "ebike_charging_sites", "fire_hydrants", "parking_agreements",
                             "parking_facilities", "renovation_plans", "roads", "service_facilities",
                             "waterlogging_points"]  # issue 16: plans and agreements; issue 17: roads, facilities
    compounds = catalog.get("compounds")
    assert set(compounds.geometry_types) == {"Polygon", "MultiPolygon"}
    for f in ["name", "district", "street", "build_year", "households", "housing_type", "parking_spaces",
              "renovation_tier"]:
        assert compounds.has_field(f)
    hydrants = catalog.get("fire_hydrants")
    assert hydrants.field("status").allowed[:3] == ["working", "faulty", "under_repair"]
    assert hydrants.field("status").aliases["ok"] == "working"
    assert hydrants.title.zh == "消火栓"
    assert catalog.get("waterlogging_points").field("depth_cm").unit == "cm"
    assert catalog.get("parking_facilities").field("kind").required
    assert catalog.get("service_facilities").field("category").aliases["clinic"] == "health_station"
    assert catalog.get("roads").geometry_types == ("LineString", "MultiLineString")


def test_unknown_layer_lists_the_catalog(catalog):
    with pytest.raises(KeyError, match="compounds"):
        catalog.get("elevators")


BAD_LAYERS = [
    ("not: [valid", "line 1", "not valid YAML"),
    ("- a\n- b\n", "file", "must hold a mapping"),
    ("id: x\ntitle: {zh: a, en: b}\ngeometry: Point\nfields: {a: {type: string}}\n", "id", "differs from the file"),
    ("title: {zh: a, en: b}\ngeometry: Pointy\nfields: {a: {type: string}}\n", "geometry", "Pointy"),
    ("title: {zh: a}\ngeometry: Point\nfields: {a: {type: string}}\n", "title", "Chinese and an English"),
    ("title: {zh: a, en: b}\ngeometry: Point\nfields: {}\n", "fields", "mapping of field name"),
    ("title: {zh: a, en: b}\ngeometry: Point\nfields: {a: {type: text}}\n", "fields.a.type", "must be one of"),
    ("title: {zh: a, en: b}\ngeometry: Point\nfields: {A-b: {type: string}}\n", "fields.A-b", "lower-case"),
    ("title: {zh: a, en: b}\ngeometry: Point\nfields: {id: {type: integer}}\n", "fields.id", "reserved"),
    ("title: {zh: a, en: b}\ngeometry: Point\nfields: {a: {type: string, colour: red}}\n", "fields.a.colour",
     "unknown key"),
    ("title: {zh: a, en: b}\ngeometry: Point\nfields: {a: {type: integer, min: low}}\n", "fields.a.min",
     "must be a number"),
    ("title: {zh: a, en: b}\ngeometry: Point\nfields: {a: {type: string, values: [x], aliases: {y: z}}}\n",
     "fields.a.aliases.y", "not an allowed value"),
    ("title: {zh: a, en: b}\ngeometry: Point\nfields: {a: {type: string}}\nstyle: {by_field: b}\n",
     "style.by_field", "not a field"),
    ("title: {zh: a, en: b}\ngeometry: Point\nfields: {a: {type: string}}\nlegend: 1\n", "legend", "unknown key"),
]


@pytest.mark.parametrize("text,key,reason", BAD_LAYERS, ids=[b[1] + ":" + b[2][:12] for b in BAD_LAYERS])
def test_malformed_layer_names_file_and_key(tmp_path, text, key, reason):
    path = tmp_path / "elevators.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as e:
        load_layer(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: {key}:"), msg
    assert reason in msg


def test_non_utf8_layer_file(tmp_path):
    path = tmp_path / "gates.yaml"
    path.write_bytes("title: 门禁\n".encode("gbk"))
    with pytest.raises(CatalogError, match="gates.yaml: file: not UTF-8"):
        load_layer(path)


def test_duplicate_and_empty_folders(tmp_path):
    with pytest.raises(CatalogError, match="no layer files"):
        load_catalog(tmp_path)
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "missing")


def test_settings_from_env_and_config_file(tmp_path, monkeypatch):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("gpkg: /tmp/from-file.gpkg\nmax_limit: 500\nport: 9000\n", encoding="utf-8")
    monkeypatch.setenv("GEO_SERVICE_CONFIG", str(cfg))
    monkeypatch.setenv("GEO_SERVICE_PORT", "9100")
    monkeypatch.setenv("GEO_SERVICE_SERVICE_AREA", "121,31,122,32")
    s = Settings()
    assert str(s.gpkg) == "/tmp/from-file.gpkg" and s.max_limit == 500
    assert s.port == 9100  # the environment wins over the file
    assert s.service_area == (121.0, 31.0, 122.0, 32.0)
    assert s.layers == default_layers_dir() and (s.layers / "compounds.yaml").is_file()
