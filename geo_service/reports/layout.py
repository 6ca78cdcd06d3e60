"""Page furniture in millimetres: A4 landscape figures, text that fits its box, plain ruled tables.

Why hand-placed text rather than ``tight_layout`` or ``Axes.table``: positions in millimetres are
predictable on every page of a hundred-page atlas, and skipping layout solvers keeps a page well
under a second. Widths are estimated from the character classes (a CJK character is one em wide,
Latin about half), which is what the Noto Sans CJK metrics give within a few percent.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from ..text import drawable
from .static_map import symbol_artists, unique_entries

PAGE_MM = (297.0, 210.0)  # A4 landscape
MAX_CHARS = 300  # no drawn string longer (a page line holds ~150 CJK characters)
MM_PER_INCH = 25.4
PT_MM = 25.4 / 72.0
INK = "#212121"
MUTED = "#616161"
RULE = "#9e9e9e"
BAND = "#eceff1"
ACCENT = "#3949ab"


def new_page() -> Figure:
    """An A4-landscape figure (no pyplot: figures are independent, so threads and processes can draw)."""
    return Figure(figsize=(PAGE_MM[0] / MM_PER_INCH, PAGE_MM[1] / MM_PER_INCH))


def box(x: float, y: float, w: float, h: float) -> list[float]:
    """[left, bottom, width, height] in figure fractions of a box given from the top-left corner in mm."""
    return [x / PAGE_MM[0], 1 - (y + h) / PAGE_MM[1], w / PAGE_MM[0], h / PAGE_MM[1]]


def text(fig: Figure, x: float, y: float, s: str, size: float = 7.0, color: str = INK, ha: str = "left",
         va: str = "baseline", width: float | None = None, **kw):
    """Text at (x, y) mm from the top-left; clipped with an ellipsis to ``width`` mm when given.

    Every string is drawn through ``drawable``: bidi overrides and invisible characters from the
    data cannot reorder or hide what the page says, and no string runs past MAX_CHARS."""
    s = drawable(s, MAX_CHARS)
    if width is not None:
        s = clip(s, width, size)
    return fig.text(x / PAGE_MM[0], 1 - y / PAGE_MM[1], s, fontsize=size, color=color, ha=ha, va=va, **kw)


def rect(fig: Figure, x: float, y: float, w: float, h: float, color: str, **kw) -> None:
    fig.patches.append(Rectangle((x / PAGE_MM[0], 1 - (y + h) / PAGE_MM[1]), w / PAGE_MM[0], h / PAGE_MM[1],
                                 transform=fig.transFigure, facecolor=color, edgecolor="none", **kw))


def hline(fig: Figure, x0: float, x1: float, y: float, color: str = RULE, width: float = 0.4) -> None:
    fig.add_artist(_line(fig, [x0, x1], [y, y], color, width))


def _line(fig: Figure, xs, ys, color, width):
    return Line2D([x / PAGE_MM[0] for x in xs], [1 - y / PAGE_MM[1] for y in ys], transform=fig.transFigure,
                  color=color, linewidth=width)


# ------------------------------------------------------------------ text widths

def char_em(ch: str) -> float:
    """Width of a character in em: wide (CJK, full-width) 1.0, narrow Latin/digits ~0.56."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch in "il.,:;'|!":
        return 0.3
    if ch.isupper() or ch in "mwMW%@":
        return 0.68
    return 0.55


def width_mm(s: str, size: float) -> float:
    return sum(char_em(c) for c in s) * size * PT_MM


def clip(s: str, width: float, size: float) -> str:
    """``s`` shortened with "…" so it fits ``width`` mm at ``size`` pt."""
    if width_mm(s, size) <= width:
        return s
    out, used, limit = [], 0.0, width - char_em("…") * size * PT_MM
    for c in s:
        w = char_em(c) * size * PT_MM
        if used + w > limit:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


def wrap(s: str, width: float, size: float, max_lines: int = 3) -> list[str]:
    """Lines of at most ``width`` mm, broken at spaces or between CJK characters; the last one clipped."""
    lines, current, used = [], "", 0.0
    tokens = _tokens(drawable(s, MAX_CHARS))
    for token in tokens:
        w = width_mm(token, size)
        if current and used + w > width:
            lines.append(current.rstrip())
            current, used = token.lstrip(), width_mm(token.lstrip(), size)
        else:
            current += token
            used += w
    if current.strip():
        lines.append(current.rstrip())
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [clip(" ".join(lines[max_lines - 1:]), width, size)]
    return [clip(line, width, size) for line in lines]


def _tokens(s: str) -> list[str]:
    """Words (with their following space) and single wide characters: the places a line may break."""
    out, word = [], ""
    for c in s:
        if unicodedata.east_asian_width(c) in ("W", "F"):
            if word:
                out.append(word)
                word = ""
            out.append(c)
        elif c == " ":
            out.append(word + c)
            word = ""
        else:
            word += c
    if word:
        out.append(word)
    return out


# ------------------------------------------------------------------ tables

@dataclass(frozen=True)
class Column:
    title: str
    width: float  # mm
    align: str = "left"  # left, right or center


def table(fig: Figure, x: float, y: float, columns: Sequence[Column], rows: Sequence[Sequence[str]],
          size: float = 6.5, row_h: float = 4.6, header_size: float | None = None, shade: bool = True) -> float:
    """A ruled table with a shaded header band; returns the y (mm) below it."""
    total = sum(c.width for c in columns)
    header_size = header_size or size
    rect(fig, x, y, total, row_h + 0.6, BAND)
    _row(fig, x, y + row_h * 0.72 + 0.3, columns, [c.title for c in columns], header_size, MUTED)
    y += row_h + 0.6
    for i, row in enumerate(rows):
        if shade and i % 2 == 1:
            rect(fig, x, y, total, row_h, "#f7f7f7")
        _row(fig, x, y + row_h * 0.72, columns, row, size, INK)
        y += row_h
    hline(fig, x, x + total, y, width=0.5)
    return y


def _row(fig: Figure, x: float, baseline: float, columns: Sequence[Column], cells: Sequence[str], size: float,
         color: str) -> None:
    pad = 1.0
    for col, cell in zip(columns, cells, strict=False):
        inner = col.width - 2 * pad
        s = clip(str(cell), inner, size)
        if col.align == "right":
            text(fig, x + col.width - pad, baseline, s, size, color, ha="right")
        elif col.align == "center":
            text(fig, x + col.width / 2, baseline, s, size, color, ha="center")
        else:
            text(fig, x + pad, baseline, s, size, color)
        x += col.width


def key_values(fig: Figure, x: float, y: float, pairs: Sequence[tuple[str, str]], columns: int, col_w: float,
               size: float = 6.8, row_h: float = 4.4, key_w: float | None = None) -> float:
    """Label/value pairs in ``columns`` columns (reading across); returns the y below them."""
    key_w = key_w or col_w * 0.48
    rows = math.ceil(len(pairs) / columns) if pairs else 0
    for i, (key, value) in enumerate(pairs):
        r, c = divmod(i, columns)
        cx, cy = x + c * col_w, y + r * row_h + row_h * 0.75
        text(fig, cx, cy, key, size - 0.4, MUTED, width=key_w - 1)
        text(fig, cx + key_w, cy, value, size, INK, width=col_w - key_w - 1)
    return y + rows * row_h


def section(fig: Figure, x: float, y: float, title: str, width: float, size: float = 8.5) -> float:
    """A section heading with a rule under it; returns the y where its content starts."""
    text(fig, x, y + 3.6, title, size, ACCENT)
    hline(fig, x, x + width, y + 5.0, ACCENT, 0.6)
    return y + 6.6


def legend(fig: Figure, x: float, y: float, entries: Sequence, columns: int, col_w: float, size: float = 6.2,
           row_h: float = 3.9, title: str | None = None) -> float:
    """Legend entries (:class:`.static_map.LegendEntry`) in a grid read down the columns; returns the y below.

    Drawn as plain figure artists: a matplotlib Legend lays itself out through offset boxes on every
    draw, which costs more than the rest of a page's text together.
    """
    entries = unique_entries(entries)
    if title:
        text(fig, x, y + 3.0, title, size + 0.4, MUTED)
        y += 4.2
    rows = math.ceil(len(entries) / columns) if entries else 0
    sym_w, sym_h = 4.2, 2.4
    for i, entry in enumerate(entries):
        c, r = divmod(i, rows)
        ex, ey = x + c * col_w, y + r * row_h
        left, bottom, w, h = box(ex, ey + (row_h - sym_h) / 2, sym_w, sym_h)
        for artist in symbol_artists(entry, left, bottom, w, h, fig.transFigure):
            fig.add_artist(artist)
        text(fig, ex + sym_w + 1.4, ey + row_h * 0.72, entry.label, size, INK, width=col_w - sym_w - 2)
    return y + rows * row_h
