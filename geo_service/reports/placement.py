"""Where map furniture goes: the compound's label clear of the lines drawn over it, the scale bar in
the emptiest corner. Plain geometry in the map's CRS (Web Mercator metres), so it can be tested
without drawing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

GRID = 9  # candidate label spots per side of the polygon's bounding box


def label_box(x: float, y: float, half_w: float, half_h: float) -> BaseGeometry:
    return shapely.box(x - half_w, y - half_h, x + half_w, y + half_h)


def label_spot(polygon: BaseGeometry, half_w: float, half_h: float,
               avoid: Sequence[BaseGeometry] = ()) -> tuple[float, float]:
    """A spot for a label of half size (half_w, half_h) inside ``polygon``, its box clear of ``avoid``
    (shared-parking lines converge on the compound's representative point, right where a label
    would sit). Prefers, in turn: the least of ``avoid`` under the box, the box inside the polygon,
    the most room from ``avoid`` (up to a label height), then nearness to the representative point."""
    anchor = shapely.point_on_surface(polygon)
    obstacles = [g for g in avoid if g is not None and not g.is_empty]
    if not obstacles:
        return anchor.x, anchor.y
    minx, miny, maxx, maxy = polygon.bounds
    xs, ys = np.meshgrid(np.linspace(minx, maxx, GRID + 2)[1:-1], np.linspace(miny, maxy, GRID + 2)[1:-1])
    cx = np.r_[anchor.x, xs.ravel()]
    cy = np.r_[anchor.y, ys.ravel()]
    inside = shapely.contains_xy(polygon, cx, cy)
    cx, cy = cx[inside], cy[inside]
    boxes = shapely.box(cx - half_w, cy - half_h, cx + half_w, cy + half_h)
    union = shapely.union_all(obstacles)
    covered = shapely.length(shapely.intersection(boxes, union)) + shapely.area(shapely.intersection(boxes, union))
    outside = shapely.area(shapely.difference(boxes, polygon)) / shapely.area(boxes)
    room = np.minimum(shapely.distance(boxes, union), 2 * half_h)
    near = np.hypot(cx - anchor.x, cy - anchor.y)
    best = np.lexsort((near, -np.round(room, 3), np.round(outside, 2), np.round(covered, 3)))[0]
    return float(cx[best]), float(cy[best])


def corner_boxes(extent: tuple[float, float, float, float], width: float, height: float,
                 margin: tuple[float, float]) -> dict[str, BaseGeometry]:
    """Boxes of (width, height) in the lower left, lower right and upper left corners, ``margin``
    (x, y) in from the frame; the upper right holds the north arrow."""
    x0, x1, y0, y1 = extent
    mx, my = margin
    return {"lower left": shapely.box(x0 + mx, y0 + my, x0 + mx + width, y0 + my + height),
            "lower right": shapely.box(x1 - mx - width, y0 + my, x1 - mx, y0 + my + height),
            "upper left": shapely.box(x0 + mx, y1 - my - height, x0 + mx + width, y1 - my)}


def emptiest(boxes: dict[str, BaseGeometry], features: Sequence[BaseGeometry]) -> str:
    """The corner whose box covers the least of ``features``: polygons by area, lines by length
    (times the box height, so a line counts like a strip), points as a small square each; ties keep
    the order given (lower left first, where a reader looks for a scale bar)."""
    geoms = np.array([g for g in features if g is not None and not g.is_empty], dtype=object)
    if not len(geoms):
        return next(iter(boxes))
    kind = shapely.get_type_id(geoms)
    points, lines, polygons = np.isin(kind, (0, 4)), np.isin(kind, (1, 2, 5)), np.isin(kind, (3, 6))
    scores = {}
    for name, box in boxes.items():
        height = box.bounds[3] - box.bounds[1]
        cut = shapely.intersection(geoms, box)
        scores[name] = float(shapely.area(cut[polygons]).sum() + shapely.length(cut[lines]).sum() * height
                             + (~shapely.is_empty(cut[points])).sum() * (0.1 * height) ** 2)
    return min(boxes, key=lambda k: scores[k])
