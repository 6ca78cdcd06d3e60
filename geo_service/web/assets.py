"""The web map's JavaScript and CSS: Leaflet and its plugins (vendor/) and our own, served or inlined.

folium links Leaflet and every plugin from public CDNs, which an offline intranet cannot reach.
The map links these files from the service itself instead (``/static/...``), or, in an
exported file, inlines them, CSS images included as data: URIs, so it opens from disk.
``scripts/fetch_web_assets.sh`` fetches the vendor files from the npm registry at install time;
their versions are pinned there and named here only by path.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from functools import lru_cache
from pathlib import Path

from .templating import Markup, render

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR = "vendor"
CSS = ("vendor/leaflet/leaflet.css", "vendor/leaflet.fullscreen/Control.FullScreen.css",
       "vendor/leaflet-measure/leaflet-measure.css", "webmap.css")
JS = ("vendor/leaflet/leaflet.js", "vendor/leaflet.fullscreen/Control.FullScreen.js",
      "vendor/leaflet-measure/leaflet-measure.min.js", "webmap.js")
FETCH_HINT = "run scripts/fetch_web_assets.sh (it fetches Leaflet and its plugins from the npm registry)"
_CSS_URL = re.compile(r"url\((['\"]?)([^'\")]+)\1\)")


class AssetsMissing(RuntimeError):
    """Leaflet or a plugin is not installed under geo_service/web/static/vendor."""


def missing() -> list[str]:
    return [p for p in (*CSS, *JS) if not (STATIC_DIR / p).is_file()]


def check() -> None:
    gone = missing()
    if gone:
        raise AssetsMissing(f"web map assets missing: {', '.join(gone)}; {FETCH_HINT}")


def static_file(path: str) -> Path | None:
    """The file under static/ that ``path`` names, or None (also for any path leaving the folder)."""
    if not path or "\x00" in path:
        return None
    root = STATIC_DIR.resolve()
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


@lru_cache(maxsize=64)
def _digest(path: str, mtime: float) -> str:
    return hashlib.blake2b((STATIC_DIR / path).read_bytes(), digest_size=5).hexdigest()


def versioned(path: str) -> str:
    """``path?v=<content hash>``, so browsers may cache assets for long and still see new versions."""
    return f"{path}?v={_digest(path, (STATIC_DIR / path).stat().st_mtime)}"


def link_tags(prefix: str) -> str:
    """<link>/<script> tags pointing at the service's own copies under ``prefix`` (e.g. /static)."""
    check()
    return render("map/assets_linked.html", css=[f"{prefix}/{versioned(p)}" for p in CSS],
                  js=[f"{prefix}/{versioned(p)}" for p in JS])


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".svg":
        mime = "image/svg+xml"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def inline_css(path: str) -> str:
    """A stylesheet with every relative url(...) replaced by the file's data: URI."""
    file = STATIC_DIR / path
    text = file.read_text(encoding="utf-8")

    def swap(m: re.Match) -> str:
        ref = m.group(2)
        if ref.startswith(("data:", "#", "http:", "https:")):
            return m.group(0)
        target = (file.parent / ref).resolve()
        return f'url("{_data_uri(target)}")' if target.is_file() else m.group(0)

    return _CSS_URL.sub(swap, text)


def script_text(text: str) -> str:
    """Script or style text made safe inside an HTML <script>/<style> element."""
    return re.sub(r"</(script|style)", r"<\\/\1", text, flags=re.IGNORECASE)


def inline_tags() -> str:
    """<style>/<script> elements holding every asset, for a file that must open with no server."""
    check()
    return render("map/assets_inline.html", css=[Markup(script_text(inline_css(p))) for p in CSS],
                  js=[Markup(script_text((STATIC_DIR / p).read_text(encoding="utf-8"))) for p in JS])
