"""Building a report file: gather once, draw every page, write PDF (or PNG), file it in static_maps/.

The entry point for the CLI, the API and the jobs: :func:`build_report`. It checks the cache first
(same scope, data versions, parameters and language: the finished file is reused), then gathers the
data and runs the analyses once (:mod:`.data`), draws the pages (:mod:`.pages`) and
writes the file under a private name before renaming it into place, so a reader never sees half a
report. Fonts are embedded as TrueType (:mod:`.fonts`).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from ..catalog.programmes import load_programmes
from ..store.base import FeatureStore
from . import files
from .data import ReportData, Scope, gather, layer_versions, resolved_params, scope_title
from .programme import programme_stamp

Progress = Callable[[int, int], None]  # (pages done, pages in all)
RENDER_LOCK = threading.Lock()  # matplotlib's font objects are shared within a process and not thread-safe
PARALLEL_MIN_PAGES = 24  # below this, starting processes costs more than it saves
_FORKED: dict = {}  # what a forked worker draws from: set just before the pool forks


@dataclass(frozen=True)
class ReportOutput:
    path: Path
    pages: int
    cached: bool
    seconds: float
    title: str


def basemap_folder(settings):
    """``basemap_local_dir``; else the web map's ``map_tiles_dir``, unless that folder was cut from a GCJ-02 map
    (``map_tiles_gcj02``): its streets sit ~500 m off the WGS84 data, so a printed map gets no basemap."""
    folder = settings.basemap_local_dir
    if folder:
        return folder
    if settings.map_tiles_dir and not settings.map_tiles_gcj02:
        return settings.map_tiles_dir
    return None


def _settings_values(settings) -> dict:
    return {"programmes": getattr(settings, "programmes", None),
            "analysis_params": getattr(settings, "analysis_params", None) or {},
            "metric_crs": getattr(settings, "metric_crs", None),
            "basemap_dir": basemap_folder(settings),
            "folder": Path(settings.static_maps_dir),
            "lang": getattr(settings, "lang", "zh") or "zh"}


def report_target(store: FeatureStore, settings, scope: Scope, fmt: str = "pdf", lang: str | None = None
                  ) -> tuple[Path, str, str]:
    """(file, cache key, title) of a report as the data stand now; cheap: no analysis runs."""
    s = _settings_values(settings)
    lang = lang or s["lang"]
    title = scope_title(store, scope)
    path = files.report_path(s["folder"], scope, title, fmt, lang)
    key = files.cache_key(scope, layer_versions(store), resolved_params(store, s["analysis_params"]),
                          s["metric_crs"], lang, fmt, s["basemap_dir"], _stamp(store, s))
    return path, key, title


def build_report(store: FeatureStore, settings, scope: Scope, fmt: str = "pdf", lang: str | None = None,
                 out: Path | str | None = None, progress: Progress | None = None, force: bool = False,
                 workers: int | None = None) -> ReportOutput:
    """Make (or reuse) the report of ``scope``; ``out`` writes to a chosen path instead of static_maps/.

    ``workers``: processes drawing a long PDF (default :func:`default_workers`; 1 draws in this thread).
    """
    start = time.perf_counter()
    s = _settings_values(settings)
    lang = lang or s["lang"]
    path, key, title = report_target(store, settings, scope, fmt, lang)
    if out is not None:
        path = Path(out)
    elif not force and (info := files.cached(path, key)) is not None:
        return ReportOutput(path, int(info.get("pages", 0)), True, time.perf_counter() - start, title)
    programmes = load_programmes(s["programmes"], store.catalog) if s["programmes"] else []
    data = gather(store, scope, s["analysis_params"], s["metric_crs"], programmes)
    key = files.cache_key(scope, data.versions, data.params, s["metric_crs"], lang, fmt, s["basemap_dir"],
                          _stamp(store, s))
    pages = render_file(data, store.catalog, path, fmt, lang, s["basemap_dir"], progress,
                        default_workers() if workers is None else workers)
    if out is None:
        files.write_meta(path, {"key": key, "scope": [scope.kind, scope.key], "title": data.title, "pages": pages,
                                "versions": data.versions, "lang": lang, "format": fmt,
                                "created": dt.datetime.now().isoformat(timespec="seconds")})
    return ReportOutput(path, pages, False, time.perf_counter() - start, data.title)


def _stamp(store: FeatureStore, values: dict) -> str:
    """What pages take from the catalog and the programme files: a change of either redraws cached reports."""
    return f"{files.catalog_stamp(store.catalog)}-{programme_stamp(values['programmes'])}"


def default_workers() -> int:
    """Processes drawing an atlas: ``GEO_SERVICE_REPORT_WORKERS``, else up to two (the pages are CPU-bound)."""
    env = os.environ.get("GEO_SERVICE_REPORT_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, min(2, os.cpu_count() or 1))


def render_file(data: ReportData, catalog, path: Path, fmt: str, lang: str, basemap_dir=None,
                progress: Progress | None = None, workers: int = 1) -> int:
    """Draw every page of ``data`` into ``path`` (PDF; PNG file, or a folder of page PNGs for an atlas).

    With ``workers`` > 1 a long PDF is drawn by forked processes in contiguous parts, merged in order.
    """
    # Deferred: fonts and pages load matplotlib and fontTools, which only drawing needs (the API
    # imports this module at start-up to answer cached reports).
    from .fonts import use_report_font
    from .pages import PNG_DPI, ReportRenderer

    with RENDER_LOCK:
        use_report_font()
        renderer = ReportRenderer(data, catalog, lang, basemap_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = files.partial_path(path)
        total = renderer.total
        title = _pdf_title(data, lang)
        try:
            if fmt == "pdf" and workers > 1 and total >= PARALLEL_MIN_PAGES and _can_fork():
                _parallel_pdf(renderer, tmp, title, workers, progress)
            elif fmt == "pdf":
                _write_pdf(renderer, renderer.pages, tmp, title, progress=progress)
            elif not data.scope.atlas:
                renderer.render(renderer.pages[0]).savefig(tmp, dpi=PNG_DPI, format="png")
                if progress:
                    progress(1, 1)
            else:
                tmp.mkdir()
                for done, page in enumerate(renderer.pages, start=1):
                    renderer.render(page).savefig(tmp / f"page-{page.number:03d}.png", dpi=PNG_DPI, format="png")
                    if progress:
                        progress(done, total)
            _replace(tmp, path)
        finally:
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            elif tmp.exists():
                tmp.unlink()
    return total


def _can_fork() -> bool:
    return "fork" in mp.get_all_start_methods()


def _write_pdf(renderer, pages, target: Path, title: str, progress: Progress | None = None, counter=None) -> None:
    from matplotlib.backends.backend_pdf import PdfPages  # deferred: matplotlib only when drawing

    with PdfPages(target, metadata={"Title": title, "Creator": "compound-gis"}) as pdf:
        for done, page in enumerate(pages, start=1):
            pdf.savefig(renderer.render(page))
            if progress:
                progress(done, renderer.total)
            if counter is not None:
                with counter.get_lock():
                    counter.value += 1


def _render_part(start: int, stop: int, target: str) -> str:
    renderer = _FORKED["renderer"]
    _write_pdf(renderer, renderer.pages[start:stop], Path(target), _FORKED["title"], counter=_FORKED["counter"])
    return target


def _parallel_pdf(renderer, tmp: Path, title: str, workers: int, progress: Progress | None) -> None:
    """Pages split in ``workers`` contiguous parts drawn by forked processes, then merged with pypdf."""
    from pypdf import PdfWriter  # deferred: pypdf loads fontTools and PIL, needed only to merge parts

    ctx = mp.get_context("fork")
    counter = ctx.Value("i", 0)
    total = renderer.total
    cuts = [round(i * total / workers) for i in range(workers + 1)]
    parts = [tmp.with_name(f"{tmp.name}.{i}.pdf") for i in range(workers)]
    _FORKED.update(renderer=renderer, title=title, counter=counter)
    try:
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            futures = [pool.submit(_render_part, cuts[i], cuts[i + 1], str(parts[i])) for i in range(workers)]
            pending = futures
            while pending:
                _, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
                if progress:
                    progress(counter.value, total)
                if any(f.done() and f.exception() for f in futures):
                    break
            for f in futures:
                f.result()
        writer = PdfWriter()
        for part in parts:
            writer.append(str(part))
        writer.add_metadata({"/Title": title, "/Creator": "compound-gis"})
        with open(tmp, "wb") as handle:
            writer.write(handle)
    finally:
        _FORKED.clear()
        for part in parts:
            part.unlink(missing_ok=True)


def _replace(tmp: Path, path: Path) -> None:
    if tmp.is_dir() and path.is_dir():
        shutil.rmtree(path)
    os.replace(tmp, path)


def _pdf_title(data: ReportData, lang: str) -> str:
    if data.scope.kind == "compound":
        return f"{data.title} 一小区一方案" if lang == "zh" else f"{data.title}: compound plan"
    return f"{data.title} 住宅小区综合改造地图集" if lang == "zh" else f"{data.title}: compound renovation atlas"
