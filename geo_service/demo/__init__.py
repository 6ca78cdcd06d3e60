"""Deterministic demo data: one plausible Shanghai district, or with ``scale`` a whole city.

Not part of the service: a generator for the web map, the analyses, the reports, the tests and
the benchmarks (``geo-service demo``), kept in its own module tree.

Why it exists: the web map, the analyses, the reports and the benchmarks need data that
behaves like the real thing (old 售后公房 compounds short of parking, waterlogging clustered in
low-lying old areas, hydrant coverage gaps, offices with free spaces at night for 错时共享停车)
and that anyone can regenerate bit for bit (same ``seed`` and ``scale``, same frames).

How it is laid out: everything is drawn in metres (UTM 51N) and converted to lon/lat once at
the end. The land is a square spiral of *street tiles*; each tile is one 街道/镇, bordered by
arterial roads and cut by local and secondary roads into blocks. A block is either residential
(1-3 compounds, or one large compound spanning two blocks) or something else (offices,
industry, schools, parks, ...). Compounds therefore never overlap: 15-20 m road gaps separate
them. Each tile has an old core (老镇区): compounds near it are older, denser and poorer in
parking. ``scale`` multiplies the number of tiles (about four per unit), so densities stay the
same when the city grows; the first four tiles sit around 梅陇/古美, 闵行区 (~121.40E 31.12N).

Every draw comes from one ``numpy`` Generator, and every step is vectorised over all tiles,
so ``scale=30`` (a city of 120 streets: ~10,400 compounds, ~210,000 hydrants, ~52,000 parking
facilities) builds in about a second.

The modules: ``constants`` (figures), ``names`` (districts, streets, compound names), ``shapes``
(geometry helpers), ``city`` (tiles, blocks, compound polygons), ``roads`` (kerb lines),
``compounds``, ``hydrants``, ``parking``, ``charging``, ``waterlogging`` (one layer each) and
``generate`` (:func:`build_demo`, :func:`write_demo`).
"""

from .constants import DEFAULT_SEED, LAYER_IDS
from .generate import build_demo, write_demo

__all__ = ["DEFAULT_SEED", "LAYER_IDS", "build_demo", "write_demo"]
