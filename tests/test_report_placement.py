"""Map furniture of the reports stays clear of what it would hide: the compound's label off the
shared-parking lines that converge on the compound, the scale bar in the emptiest corner (it used to
cover a compound of the street atlas). Checked on drawn pages (the label's real extent from the
renderer) and on the geometry helpers themselves."""

from __future__ import annotations

import re

import numpy as np
import pytest
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from pypdf import PdfReader

from geo_service.reports.data import Scope, gather
from geo_service.reports.fonts import use_report_font
from geo_service.reports.pages import ReportRenderer
from geo_service.reports.pdf import build_report
from geo_service.reports.placement import corner_boxes, emptiest, label_spot
from geo_service.settings import Settings
from geo_service.store.geopackage import GeoPackageStore

STREET = "梅陇镇"


# ------------------------------------------------------------------ the helpers

def test_label_leaves_the_point_where_lines_converge():
    square = shapely.box(0, 0, 200, 200)
    anchor = shapely.point_on_surface(square)
    lines = [shapely.LineString([(anchor.x, anchor.y), (anchor.x + dx, anchor.y + dy)])
             for dx, dy in ((400, 30), (380, -60), (350, 120))]  # all leave to the east
    x, y = label_spot(square, 40, 10, avoid=lines)
    box = shapely.box(x - 40, y - 10, x + 40, y + 10)
    assert not box.intersects(shapely.union_all(lines))
    assert square.contains(box)
    assert label_spot(square, 40, 10) == (anchor.x, anchor.y)  # nothing to avoid: the usual spot


def test_scale_bar_goes_to_the_emptiest_corner():
    extent = (0, 1000, 0, 1000)
    boxes = corner_boxes(extent, 200, 60, (40, 40))
    assert emptiest(boxes, []) == "lower left"
    block = shapely.box(0, 0, 400, 300)  # a compound in the lower left
    assert emptiest(boxes, [block]) == "lower right"
    assert emptiest(boxes, [block, shapely.box(600, 0, 1000, 300)]) == "upper left"
    hydrants = [shapely.Point(x, 50) for x in range(40, 240, 10)]  # a row of points in the lower left
    assert emptiest(boxes, hydrants) == "lower right"
    road = shapely.LineString([(0, 70), (1000, 70)])  # a line along the bottom
    assert emptiest(boxes, [road]) == "upper left"


# ------------------------------------------------------------------ on drawn pages

@pytest.fixture(scope="module")
def renderer(demo_gpkg, catalog):
    with GeoPackageStore(demo_gpkg, catalog) as store:
        data = gather(store, Scope("street", STREET))
    use_report_font()
    return ReportRenderer(data, catalog, "zh")


def _artist(fig, gid):
    found = [a for ax in fig.axes for a in [*ax.texts, *ax.patches] if a.get_gid() == gid]
    assert len(found) == 1, gid
    return found[0]


def _data_box(artist, renderer_):
    ax = artist.axes
    (x0, y0), (x1, y1) = ax.transData.inverted().transform(artist.get_window_extent(renderer_).get_points())
    return shapely.box(x0, y0, x1, y1)


def test_compound_labels_clear_the_shared_parking_lines(renderer):
    with_lines = sorted(renderer.arrangements, key=lambda cid: -len(renderer.arrangements[cid]))[:4]
    assert with_lines, "the demo street has shared-parking arrangements"
    for cid in with_lines:
        fig = renderer.compound_page(cid, 1)
        canvas = FigureCanvasAgg(fig).get_renderer()
        label = _data_box(_artist(fig, "compound-label"), canvas)
        lines = shapely.union_all(renderer.arrangements[cid].geometry.values)
        focus = renderer.scope_map.geometry.loc[cid]
        assert not label.intersects(lines), cid
        assert label.centroid.within(focus), cid
        bar = _artist(fig, "scale-bar-box")
        box = shapely.box(*bar.get_bbox().bounds)
        assert not box.intersects(focus), cid


def test_atlas_scale_bar_covers_the_fewest_compounds(renderer):
    fig = renderer.cover_page(1)
    bar = _artist(fig, "scale-bar-box")
    box = shapely.box(*bar.get_bbox().bounds)
    ax = bar.axes
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    w, h = box.bounds[2] - box.bounds[0], box.bounds[3] - box.bounds[1]
    polys = renderer.scope_map.geometry.values
    covered = shapely.area(shapely.intersection(polys, box)).sum()
    corners = []
    for cx, cy in ((x0, y0), (x1 - w, y0), (x0, y1 - h)):  # the frame's corners, any margin
        for fx in np.linspace(0, 0.1, 3):
            corners.append(shapely.area(shapely.intersection(polys, shapely.box(
                cx + fx * (x1 - x0) * (1 if cx == x0 else -1), cy, cx + w, cy + h))).sum())
    assert covered <= min(corners) + 1e-6 * w * h or covered == 0


def test_report_numbers_read_as_numbers(demo_copy, catalog, tmp_path):
    """The PDF's text: counts without a stray decimal, units after them, thousands separated."""
    settings = Settings(gpkg=demo_copy, static_maps_dir=tmp_path / "static_maps", lang="zh")
    with GeoPackageStore(demo_copy, catalog) as store:
        cid = int(store.frame("compounds").query("name == '梅陇三村'").index[0])
        out = build_report(store, settings, Scope("compound", str(cid)))
    text = "".join(page.extract_text() or "" for page in PdfReader(out.path).pages)
    demand = re.search(r"需求\s*([\d,.]+)\s*个", text)
    assert demand, text[:800]
    assert not demand.group(1).endswith(".0")
    assert re.search(r"缺口\s*[\d,]+\s*个泊位", text)
    counts = re.sub(r"每百户\s*[\d.]+\s*个", "", text)  # a rate per 100 households keeps its decimal
    assert not re.search(r"\d\.0(?!\d)\s*个", counts), "a count printed with a stray .0"
    bare = re.findall(r"(?<![\dA-Za-z,.\-:/])\d{4,}(?![\dA-Za-z,.\-:/年])", text)  # not ids, dates
    assert not [b for b in bare if not 1980 <= int(b) <= 2100], bare  # years aside, four digits get a separator
