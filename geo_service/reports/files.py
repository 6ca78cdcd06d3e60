"""Where reports are filed: safe file names from any name, and a cache keyed by the data's version stamps.

A compound or street name is user data (edited through the API, imported from anyone's files), so
it never becomes a path as it is: the name is normalised (NFKC), reduced to word characters (letters
of any script, digits, underscore) joined by hyphens, and cut to ``SLUG_MAX`` characters (and bytes); a short hash
of the full name keeps two names that share a slug apart. The result always lands directly in the
reports folder. A finished report is reused while its key (scope, data versions, parameters,
language, layer catalog, renderer version) is unchanged; the key sits in ``.meta/<file>.json`` beside the reports.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import orjson

from .data import Scope

SLUG_MAX = 32  # characters of a name kept in a file name
SLUG_MAX_BYTES = 64  # and UTF-8 bytes (file systems count bytes: 255 per name)
RENDERER_VERSION = "1"  # bump when pages change, so cached reports are made again
META_DIR = ".meta"
FORMATS = ("pdf", "png")
LANGS = ("zh", "en")
_NOT_WORD = re.compile(r"[^\w]+")


def slug(name: str, limit: int = SLUG_MAX, limit_bytes: int = SLUG_MAX_BYTES) -> str:
    """Word characters of ``name`` joined by single hyphens, at most ``limit`` characters and ``limit_bytes``
    UTF-8 bytes long ("unnamed" when nothing is left)."""
    text = unicodedata.normalize("NFKC", str(name))
    out = _NOT_WORD.sub("-", text).strip("-_")[:limit]
    out = out.encode("utf-8")[:limit_bytes].decode("utf-8", errors="ignore").strip("-_")
    return out or "unnamed"


def short_hash(text: str, size: int = 4) -> str:
    return hashlib.blake2b(str(text).encode("utf-8"), digest_size=size).hexdigest()


def report_stem(scope: Scope, title: str, lang: str) -> str:
    """``compound-{id}-{slug}-{hash}``, ``street-{slug}-{hash}`` or ``district-{slug}-{hash}`` (+ ``-en``)."""
    if lang not in LANGS:
        raise ValueError(f"report language {lang!r}: use one of {', '.join(LANGS)}")
    if scope.kind == "compound":
        stem = f"compound-{int(scope.key)}-{slug(title)}-{short_hash(title)}"
    else:
        stem = f"{scope.kind}-{slug(scope.key)}-{short_hash(scope.key)}"
    return stem if lang == "zh" else f"{stem}-{lang}"


def report_path(folder: Path | str, scope: Scope, title: str, fmt: str, lang: str) -> Path:
    """The report's file in ``folder`` (a folder of page PNGs for a multi-page PNG report)."""
    if fmt not in FORMATS:
        raise ValueError(f"report format {fmt!r}: use one of {', '.join(FORMATS)}")
    root = Path(folder).resolve()
    stem = report_stem(scope, title, lang)
    path = root / (f"{stem}-png" if fmt == "png" and scope.atlas else f"{stem}.{fmt}")
    if path.parent != root:  # cannot happen with slug(); a guard against future edits
        raise ValueError(f"refusing to write a report outside {root}")
    return path


def catalog_stamp(catalog) -> str:
    """What pages take from the layer catalog (titles, labels, styles): a change redraws cached reports."""
    specs = [(s.id, s.title, s.style, [(f.name, f.title, f.values) for f in s.fields]) for s in catalog]
    return short_hash(repr(specs), 8)


def cache_key(scope: Scope, versions: dict[str, int], params: dict[str, Any], metric_crs: str | None, lang: str,
              fmt: str, basemap_dir: Any = None, catalog: str | None = None) -> str:
    payload = {"scope": [scope.kind, str(scope.key)], "versions": versions, "params": params,
               "metric_crs": metric_crs, "lang": lang, "fmt": fmt, "renderer": RENDERER_VERSION,
               "basemap": str(basemap_dir) if basemap_dir else None, "catalog": catalog}
    raw = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY, default=str)
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def meta_path(path: Path) -> Path:
    return path.parent / META_DIR / f"{path.name}.json"


def cached_meta(path: Path) -> dict[str, Any] | None:
    """The metadata written beside a finished report at ``path``, or None."""
    meta = meta_path(path)
    if not path.exists() or not meta.is_file():
        return None
    try:
        return orjson.loads(meta.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def cached(path: Path, key: str) -> dict[str, Any] | None:
    """The metadata of a finished report at ``path`` made under ``key``, or None."""
    info = cached_meta(path)
    return info if info is not None and info.get("key") == key else None


def write_meta(path: Path, info: dict[str, Any]) -> None:
    meta = meta_path(path)
    meta.parent.mkdir(parents=True, exist_ok=True)
    tmp = meta.with_name(f"{meta.name}.{uuid.uuid4().hex[:8]}.part")
    tmp.write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2, default=str))
    os.replace(tmp, meta)


def partial_path(path: Path) -> Path:
    """A private name beside ``path`` to write into before the atomic rename."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
