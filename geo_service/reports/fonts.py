"""The CJK font of the static maps and reports: found on the system, made embeddable, set in matplotlib.

Why a conversion: the Noto Sans CJK faces of fonts-noto-cjk are CFF-flavoured OpenType inside a
collection (.ttc). Matplotlib's PDF backend embeds fonttype-42 fonts as TrueType (``CIDFontType2``,
``FontFile2``) and writes the CFF data there unchanged, a font type PDF readers are entitled to reject
(poppler says "Mismatch between font type and embedded font file"). So the face is rebuilt once as a
real TrueType font (quadratic ``glyf`` outlines by fontTools' cu2qu) holding the Latin, punctuation
and CJK blocks, and kept in a cache folder. Matplotlib then subsets and embeds it properly, and the
text stays extractable (matplotlib writes a ToUnicode map).

Where the source comes from, first hit wins: ``GEO_SERVICE_CJK_FONT`` (a font file, TrueType used as
is), matplotlib's font list, ``fc-list :lang=zh``. Cache folder: ``GEO_SERVICE_FONT_CACHE``, else
``$XDG_CACHE_HOME/compound-gis/fonts`` (``~/.cache/...``). The first build takes a minute on a slow
machine; processes share the result through a file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

FAMILY_SUFFIX = " (report TTF)"  # family name of the converted face, distinct from the system's OTC entries
PREFERRED = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Noto Sans CJK TC", "Noto Sans CJK JP",
             "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Serif CJK SC")
# Unicode blocks kept in the converted face: Latin and its punctuation, symbols used on maps (≥, ², ×, →),
# CJK punctuation, Bopomofo, radicals, CJK Unified Ideographs and Extension A, full-width forms.
BLOCKS = ((0x0020, 0x024F), (0x02B0, 0x02FF), (0x0370, 0x03FF), (0x2000, 0x2BFF), (0x2E80, 0x2FDF),
          (0x3000, 0x303F), (0x3100, 0x312F), (0x3200, 0x33FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
          (0xFE30, 0xFE4F), (0xFF00, 0xFFEF))
CONVERTER_VERSION = "2"  # bump when the conversion changes, so caches rebuild
MAX_ERR_UNITS = 1.0  # cubic -> quadratic tolerance, font units (1/1000 em): invisible at print sizes


class FontMissing(RuntimeError):
    """No CJK font on this machine: Chinese text would render as empty boxes."""


@dataclass(frozen=True)
class FontSource:
    path: Path
    index: int  # face number in a collection (0 for a single font)


@dataclass(frozen=True)
class ReportFont:
    path: Path  # an embeddable TrueType file
    family: str  # its family name, registered with matplotlib


def find_cjk_source() -> FontSource:
    """The system's Simplified-Chinese sans face, regular weight (raises FontMissing)."""
    env = os.environ.get("GEO_SERVICE_CJK_FONT")
    if env:
        path = Path(env)
        if not path.is_file():
            raise FontMissing(f"GEO_SERVICE_CJK_FONT={env}: no such font file")
        return FontSource(path, 0)
    entries = [e for e in font_manager.fontManager.ttflist if e.name in PREFERRED]
    if entries:
        best = min(entries, key=lambda e: (PREFERRED.index(e.name), abs(_weight(e.weight) - 400), e.fname))
        return FontSource(Path(best.fname), int(getattr(best, "index", 0) or 0))
    found = _fc_list()
    if found is not None:
        return found
    raise FontMissing("no CJK font found, so Chinese names would print as boxes: install one "
                      "(Debian/Ubuntu: apt-get install fonts-noto-cjk) or set GEO_SERVICE_CJK_FONT to a .ttf/.otf/.ttc")


def _weight(w) -> int:
    names = {"regular": 400, "normal": 400, "medium": 500, "bold": 700, "light": 300}
    return names.get(str(w).lower(), w) if not isinstance(w, int) else w


def _fc_list() -> FontSource | None:
    try:
        out = subprocess.run(["fc-list", ":lang=zh-cn", "file", "index", "style"], capture_output=True, text=True,
                             timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    rows = []
    for line in out.splitlines():
        path, _, rest = line.partition(":")
        index = 0
        for part in rest.split(":"):
            if part.strip().startswith("index="):
                index = int(part.strip()[6:] or 0)
        rows.append((("Regular" not in rest, "Sans" not in path, path), FontSource(Path(path.strip()), index)))
    return min(rows, key=lambda r: r[0])[1] if rows else None


def cache_dir() -> Path:
    """``GEO_SERVICE_FONT_CACHE``, else the user's cache folder, else (read-only home) the temp folder."""
    env = os.environ.get("GEO_SERVICE_FONT_CACHE")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "compound-gis" / "fonts"
    try:
        base.mkdir(parents=True, exist_ok=True)
        if os.access(base, os.W_OK):
            return base
    except OSError:
        pass
    return Path(tempfile.gettempdir()) / "compound-gis-fonts"


def _has_glyf(source: FontSource) -> bool:
    with TTFont(source.path, fontNumber=source.index, lazy=True) as font:
        return "glyf" in font


def truetype_face(source: FontSource, folder: Path | None = None) -> Path:
    """An embeddable TrueType file for ``source``: itself when it is one, else the cached conversion."""
    if source.path.suffix.lower() == ".ttf" and _has_glyf(source):
        return source.path
    folder = folder or cache_dir()
    stat = source.path.stat()
    key = f"{source.path.resolve()}|{source.index}|{stat.st_size}|{stat.st_mtime_ns}|{CONVERTER_VERSION}"
    digest = hashlib.blake2b(key.encode(), digest_size=6).hexdigest()
    target = folder / f"{source.path.stem}-{source.index}-{digest}.ttf"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with _file_lock(folder / ".lock"):
        if not target.is_file():  # another process may have built it while we waited
            partial = target.with_suffix(f".{os.getpid()}.part")
            try:
                convert_to_truetype(source, partial)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
            for old in folder.glob(f"{source.path.stem}-{source.index}-*.ttf"):  # earlier conversions
                if old != target:
                    old.unlink(missing_ok=True)
    return target


@contextlib.contextmanager
def _file_lock(path: Path):
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def convert_to_truetype(source: FontSource, target: Path) -> None:
    """Rebuild the face's BLOCKS characters with quadratic outlines as a TrueType font at ``target``."""
    font = TTFont(source.path, fontNumber=source.index, lazy=True)
    cmap = {cp: name for cp, name in font.getBestCmap().items() if any(lo <= cp <= hi for lo, hi in BLOCKS)}
    names = sorted(set(cmap.values()) - {".notdef"}, key=font.getGlyphID)
    order = [".notdef", *names]
    drawn = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(None)
        drawn[name].draw(Cu2QuPen(pen, MAX_ERR_UNITS, reverse_direction=True))
        glyphs[name] = pen.glyph()
    family = _name(font, 1) + FAMILY_SUFFIX
    builder = FontBuilder(font["head"].unitsPerEm, isTTF=True)
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap(cmap)
    # one Windows-Unicode subtable is all PDF embedding needs; a second copy doubles every subsetting's parse
    builder.font["cmap"].tables = [t for t in builder.font["cmap"].tables if (t.platformID, t.platEncID) == (3, 1)]
    builder.setupGlyf(glyphs)
    glyf = builder.font["glyf"]
    for name in order:
        glyf[name].recalcBounds(glyf)
    hmtx = font["hmtx"]
    builder.setupHorizontalMetrics({n: (hmtx[n][0], getattr(glyf[n], "xMin", 0)) for n in order})
    hhea = font["hhea"]
    builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent, lineGap=hhea.lineGap)
    builder.setupNameTable({"familyName": family, "styleName": "Regular",
                            "copyright": _name(font, 0), "licenseDescription": _name(font, 13),
                            "licenseInfoURL": _name(font, 14),
                            "psName": (_name(font, 6) or "CJK").replace(" ", "") + "-ReportTTF"})
    os2 = font["OS/2"]
    builder.setupOS2(sTypoAscender=os2.sTypoAscender, sTypoDescender=os2.sTypoDescender,
                     sTypoLineGap=os2.sTypoLineGap, usWinAscent=os2.usWinAscent, usWinDescent=os2.usWinDescent,
                     usWeightClass=os2.usWeightClass, fsType=os2.fsType, achVendID=os2.achVendID)
    builder.setupPost(keepGlyphNames=False)
    builder.save(str(target))
    font.close()


def _name(font, name_id: int) -> str:
    record = font["name"].getName(name_id, 3, 1, 0x409) or font["name"].getName(name_id, 1, 0, 0)
    return record.toUnicode() if record is not None else ""


_LOCK = threading.Lock()
_READY: ReportFont | None = None


def report_font() -> ReportFont:
    """The embeddable CJK face, registered with matplotlib (found and converted once per process)."""
    global _READY
    with _LOCK:
        if _READY is None:
            path = truetype_face(find_cjk_source())
            font_manager.fontManager.addfont(str(path))
            _READY = ReportFont(path, FT2Font(str(path)).family_name)
        return _READY


def use_report_font() -> ReportFont:
    """Make matplotlib draw with the CJK face and embed it as TrueType (pdf.fonttype 42)."""
    font = report_font()
    matplotlib.rcParams["pdf.fonttype"] = 42
    matplotlib.rcParams["ps.fonttype"] = 42
    matplotlib.rcParams["font.family"] = [font.family]  # one family: a fallback list costs a lookup per text
    matplotlib.rcParams["axes.unicode_minus"] = False  # the CJK face lacks U+2212 in some builds
    return font
