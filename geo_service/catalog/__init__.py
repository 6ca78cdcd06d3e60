"""The catalog: layers declared in ``layers/*.yaml`` (``specs``) and the rules features must follow
(``validation``, the one implementation used by imports, by the stores' single-feature writes and
by the demo)."""

from __future__ import annotations

from .specs import (
    COMMON_SOURCE_KEYS,
    FIELD_NAME,
    FIELD_TYPES,
    GEOMETRY_TYPES,
    LAYER_ID,
    RESERVED_FIELDS,
    SOURCE_ID,
    Catalog,
    CatalogError,
    FieldSpec,
    LayerSpec,
    Title,
    load_catalog,
    load_layer,
)

__all__ = ["COMMON_SOURCE_KEYS", "SOURCE_ID",
           "FIELD_NAME", "FIELD_TYPES", "GEOMETRY_TYPES", "LAYER_ID", "RESERVED_FIELDS", "Catalog", "CatalogError",
           "FieldSpec", "LayerSpec", "Title", "load_catalog", "load_layer"]
