"""One settings object for the whole service.

Values come, in order of precedence, from keyword arguments, environment variables
prefixed ``GEO_SERVICE_``, an optional config file (YAML or TOML, path in
``GEO_SERVICE_CONFIG``), and the defaults below.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_layers_dir() -> Path:
    """The project's ``layers/`` in a checkout, or the copy packed into the wheel."""
    checkout = PROJECT_ROOT / "layers"
    if checkout.is_dir() and any(checkout.glob("*.yaml")):
        return checkout
    packed = resources.files("geo_service") / "_catalog"
    return Path(str(packed))


def default_programmes_dir() -> Path:
    """The project's ``programmes/`` in a checkout, or the copy packed into the wheel."""
    checkout = PROJECT_ROOT / "programmes"
    if checkout.is_dir() and any(checkout.glob("*.yaml")):
        return checkout
    return Path(str(resources.files("geo_service") / "_programmes"))


class _ConfigFileSource(PydanticBaseSettingsSource):
    """Reads the file named by GEO_SERVICE_CONFIG; keys are the field names."""

    def __init__(self, settings_cls: type[BaseSettings]):
        super().__init__(settings_cls)
        self._data = self._load()

    @staticmethod
    def _load() -> dict[str, Any]:
        path = os.environ.get("GEO_SERVICE_CONFIG")
        if not path:
            return {}
        p = Path(path)
        if not p.is_file():
            raise ValueError(f"GEO_SERVICE_CONFIG: no such file: {p}")
        text = p.read_text(encoding="utf-8")
        data = tomllib.loads(text) if p.suffix == ".toml" else yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ValueError(f"{p}: the config file must hold a mapping of setting names to values")
        return data

    def get_field_value(self, field, field_name):  # pragma: no cover - required by the ABC
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


class ApiKey(BaseModel):
    """An API key as stored in settings: only its SHA-256 is kept, never the key itself."""

    name: str = Field(description="who holds the key; recorded in audit records")
    role: Literal["viewer", "editor", "admin"]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of the key")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GEO_SERVICE_", extra="ignore")

    gpkg: Path = Field(default_factory=lambda: Path.cwd() / "data" / "compound_gis.gpkg",
                       description="GeoPackage file of the embedded store")
    layers: Path = Field(default_factory=default_layers_dir, description="folder of layer YAML files")
    programmes: Path = Field(default_factory=default_programmes_dir,
                             description="folder of programme target YAML files (programmes/*.yaml)")
    database_url: str | None = Field(None, description="postgresql://... selects the PostGIS store")
    metric_crs: str | None = Field(None, description="CRS for distances/areas; default: UTM zone of the data")
    service_area: tuple[float, float, float, float] | None = Field(
        None, description="lon/lat bbox (minx, miny, maxx, maxy); imported features outside it are rejected")
    host: str = "127.0.0.1"
    port: int = 8000
    max_limit: int = 10_000
    import_max_errors: int = Field(1000, ge=1, description="an import stops reading after this many errors "
                                   "(a wrong or garbage file fails fast, in bounded memory)")
    default_limit: int = 100
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed by CORS; ['*'] for any")
    api_keys: list[ApiKey] = Field(default_factory=list, description="keys allowed to call the API (hashed)")
    api_keys_file: Path | None = Field(None, description="more keys (a YAML or JSON list like api_keys), re-read "
                                                        "when the file changes: keys rotate without a restart")
    read_requires_key: bool = Field(False, description="when true, reads need a key too (any role)")
    session_secret: str | None = Field(None, description="signs browser login cookies; the same on every worker and "
                                                         "host (default: a secret file beside the GeoPackage)")
    session_hours: float = Field(8.0, gt=0, description="how long a browser login lasts")
    max_body_bytes: int = Field(1_000_000, description="largest request body accepted (413 beyond)")
    heavy_concurrency: int | None = Field(None, ge=1, description="analyses/reports computed at once "
                                                                  "(default: one per two cores)")
    heavy_queue: int = Field(8, ge=0, description="heavy computations that may wait for a slot; beyond: 429")
    heavy_per_minute: int = Field(60, ge=0, description="heavy computations one client (key or address) may "
                                                        "start per minute (0: no limit)")
    hsts_seconds: int = Field(0, ge=0, description="Strict-Transport-Security max-age when served over TLS behind "
                                                   "a proxy (0: no HSTS header)")
    analysis_params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description='per-analysis parameter overrides, e.g. {"hydrant-coverage": '
                                          '{"radius_m": 120}}; a request can override them again')
    map_basemaps: list[str] = Field(
        default_factory=lambda: ["osm", "none"],
        description="basemaps offered on the web map, first is the default: osm, tianditu, tianditu_img, amap, "
                    "amap_img (GCJ-02: data shifted to match), local, none")
    tianditu_key: str | None = Field(None, description="Tianditu (天地图) key (tk) for its WMTS tiles")
    map_tiles_dir: Path | None = Field(None, description="local XYZ tile folder served at /map/basemap/{z}/{x}/{y}")
    map_tiles_gcj02: bool = Field(False, description="true when the local tiles are in GCJ-02 (AMap-style)")
    map_max_features: int = Field(2000, description="features per viewport request before clustering")
    map_cluster_px: int = Field(36, description="cluster cell size in screen pixels")
    basemap_local_dir: Path | None = Field(None, description="XYZ tile folder for report maps (default: map_tiles_dir)")
    lang: str = Field("zh", description="language of titles and labels in HTML and maps: zh or en")
    static_maps_dir: Path = Field(default_factory=lambda: PROJECT_ROOT / "static_maps")

    @field_validator("service_area", mode="before")
    @classmethod
    def _parse_bbox(cls, v):
        if isinstance(v, str):
            parts = [float(x) for x in v.split(",")]
            if len(parts) != 4:
                raise ValueError("service_area needs four numbers: minx,miny,maxx,maxy")
            return tuple(parts)
        return v

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return (init_settings, env_settings, _ConfigFileSource(settings_cls), file_secret_settings)
