"""`geo-service` command line: serve, demo, import (more commands join as the service grows)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="compound-gis: map service for residential-compound infrastructure.")


def _settings() -> Settings:
    return Settings()


def _refuse_store_location(settings: Settings, create: bool = False) -> None:
    """Exit 2 with one line when the configured GeoPackage is missing (and may not be created) or unusable."""
    from .store.location import StoreLocationError, check_gpkg_location  # deferred: store/ loads GDAL, pandas

    if settings.database_url:
        return
    try:
        check_gpkg_location(settings.gpkg, create)
    except StoreLocationError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(code=2) from None


def _say_store(store, settings: Settings, err: bool = False) -> None:
    """Which store a command used and the layer counts it ends with, so a wrong store is never a surprise."""
    from .store import store_location  # deferred: store/ loads GDAL, pandas (keeps --help fast)

    counts = ", ".join(f"{spec.id} {store.count(spec.id):,}" for spec in store.catalog)
    typer.echo(f"store: {store_location(settings)} ({counts})", err=err)


@app.command()
def serve(host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port")] = 8000,
          workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
          access_log: Annotated[bool, typer.Option(help="log every request (off for benchmarks)")] = True,
          timeout_keep_alive: Annotated[int, typer.Option(help="seconds an idle keep-alive connection stays open")] = 5,
          loop: Annotated[str, typer.Option(help="event loop: uvloop, asyncio or auto")] = "uvloop",
          http: Annotated[str, typer.Option(help="HTTP parser: httptools, h11 or auto")] = "httptools",
          ) -> None:
    """Serve the API and web map.

    uvloop and httptools are named rather than left to "auto" so a missing one fails at start instead
    of silently serving slower (measured on items: h11 costs ~12 % more CPU per request than httptools).
    Workers: one per core for throughput; each worker holds its own copy of an embedded store in memory.
    """
    import uvicorn  # deferred: only `serve` needs the server

    _refuse_store_location(_settings())

    uvicorn.run("geo_service.api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="info", access_log=access_log, timeout_keep_alive=timeout_keep_alive, loop=loop, http=http)


@app.command()
def demo(scale: Annotated[float, typer.Option(help="1 = one district; ~30 = a whole city")] = 1.0,
         seed: Annotated[int, typer.Option(help="random seed (same seed, same data)")] = 20240601) -> None:
    """Generate the deterministic demo district into the store (replaces every layer)."""
    # deferred: a command loads only what it uses, so `geo-service --help` starts at once
    from .demo import write_demo
    from .store import open_store

    settings = _settings()
    _refuse_store_location(settings, create=True)
    with open_store(settings, create=True) as store:
        counts = write_demo(store, scale=scale, seed=seed, progress=True)
        for layer, n in counts.items():
            typer.echo(f"{layer:24s} {n:>9,d}")
        typer.echo(f"written to {settings.database_url or settings.gpkg}")
        _say_store(store, settings)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile (.shp/.zip), CSV, Excel (.xlsx) "
                                              "or .osm.pbf")],
    layer: Annotated[str, typer.Option("--layer", help="target layer id")],
    crs: Annotated[str | None, typer.Option(help="source CRS: EPSG code, WKT/PROJ, gcj02 or bd09")] = None,
    mode: Annotated[str, typer.Option(help="append, replace, upsert (match rows to stored features by source id) "
                                           "or sync (upsert, and delete what the file no longer has)")] = "append",
    key: Annotated[str | None, typer.Option(help="column holding the source's own ids (default: the layer's "
                                                 "source_keys, then id, ID, 编号, OBJECTID, fid, code, "
                                                 "osm_id)")] = None,
    allow_duplicates: Annotated[bool, typer.Option(help="append even when source ids are already stored")] = False,
    new_store: Annotated[bool, typer.Option(help="create the GeoPackage store if it does not exist yet")] = False,
    outlier_km: Annotated[float, typer.Option(help="rows further than this from the data's centre (and than its "
                                                   "spread allows) are rejected as outliers")] = 100.0,
    map_: Annotated[list[str] | None, typer.Option("--map", help="rename a source column: SRC=DST")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="fill a field the file has no column for: "
                                                               "FIELD=VALUE (e.g. status=unknown)")] = None,
    skip_invalid: Annotated[bool, typer.Option(help="import good rows, write rejects beside the input")] = False,
    source_layer: Annotated[str | None, typer.Option(help="layer to read from a multi-layer file")] = None,
    encoding: Annotated[str | None, typer.Option(help="text encoding of CSV/Shapefile, e.g. gbk")] = None,
    sheet: Annotated[str | None, typer.Option(help="sheet of an Excel workbook (default: the first)")] = None,
    max_errors: Annotated[int | None, typer.Option(help="stop reading after this many errors (default: "
                                                        "GEO_SERVICE_IMPORT_MAX_ERRORS, 1000)")] = None,
) -> None:
    """Validate a file against the layer spec and import it in one transaction."""
    # deferred: a command loads only what it uses, so `geo-service --help` starts at once
    from .ingest.importer import ImportFailed, import_file
    from .store import open_store

    settings = _settings()
    mapping: dict[str, str] = {}
    for m in map_ or []:
        if "=" not in m:
            raise typer.BadParameter(f"--map {m!r}: expected SRC=DST")
        src, dst = m.split("=", 1)
        mapping[src.strip()] = dst.strip()
    constants: dict[str, str] = {}
    for m in set_ or []:
        if "=" not in m:
            raise typer.BadParameter(f"--set {m!r}: expected FIELD=VALUE")
        name, value = m.split("=", 1)
        constants[name.strip()] = value.strip()
    _refuse_store_location(settings, create=new_store)
    try:
        with open_store(settings, create=new_store) as store:
            try:
                report = import_file(store, file, layer, crs=crs, mode=mode, mapping=mapping,
                                     skip_invalid=skip_invalid, source_layer=source_layer, encoding=encoding,
                                     service_area=settings.service_area, progress=True, key=key,
                                     allow_duplicates=allow_duplicates, outlier_floor_km=outlier_km,
                                     sheet=sheet, max_errors=max_errors or settings.import_max_errors,
                                     constants=constants)
            finally:
                _say_store(store, settings, err=True)
    except ImportFailed as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(code=2) from None
    typer.echo(report.describe())


@app.command()
def apikey(name: Annotated[str, typer.Argument(help="who holds the key; recorded as the actor of their edits")],
           role: Annotated[str, typer.Option(help="viewer (read), editor (edit features) or admin")] = "editor",
           keys_file: Annotated[Path | None, typer.Option(
               "--keys-file", help="append the entry to this keys file (GEO_SERVICE_API_KEYS_FILE): a running "
                                   "service picks it up within a second, no restart")] = None,
           ) -> None:
    """Make a new API key: print it once, and add its settings entry (only its SHA-256) where you say."""
    # deferred: a command loads only what it uses, so `geo-service --help` starts at once
    import json

    import yaml

    from .api.auth import ROLES, api_key_entry
    from .api.keyring import append_key

    if role not in ROLES:
        raise typer.BadParameter(f"{role!r}: use one of {', '.join(ROLES)}", param_hint="--role")
    if not name.strip():
        raise typer.BadParameter("the key needs a name", param_hint="NAME")
    key, entry = api_key_entry(name.strip(), role)
    fields = entry.model_dump()
    typer.echo(f"API key for {entry.name!r} ({role}); it is shown only now, so hand it over and forget it:\n")
    typer.echo(f"    {key}\n")
    if keys_file is not None:
        append_key(keys_file, entry)
        typer.echo(f"Added to {keys_file.resolve()}. A service started with GEO_SERVICE_API_KEYS_FILE="
                   f"{keys_file.resolve()} accepts the key within a second; no restart.")
        return
    typer.echo("Not in force yet. Add this entry to the keys file the service watches (GEO_SERVICE_API_KEYS_FILE:\n"
               "taken up within a second, no restart; `--keys-file FILE` does this for you next time), or to\n"
               "api_keys in the YAML config file and restart the service:\n")
    typer.echo(yaml.safe_dump([fields], default_flow_style=None, allow_unicode=True, sort_keys=False))
    typer.echo("or as an item of GEO_SERVICE_API_KEYS (a JSON list), then restart:\n")
    typer.echo("    " + json.dumps(fields, ensure_ascii=False))


# ---------------------------------------------------------------- db: the PostGIS store

db_app = typer.Typer(no_args_is_help=True, help="PostGIS: create or upgrade the schema, copy whole datasets.")
app.add_typer(db_app, name="db")


@db_app.command("init")
def db_init(url: Annotated[str | None, typer.Option(
        help="postgresql:// URL (default: GEO_SERVICE_DATABASE_URL)")] = None) -> None:
    """Create or upgrade the schema (idempotent): PostGIS, version/audit tables, one table per layer."""
    # deferred: a command loads only what it uses, so `geo-service --help` starts at once
    from .catalog import load_catalog
    from .store.base import StoreError
    from .store.postgis import PostGISStore

    settings = _settings()
    url = url or settings.database_url
    if not url:
        typer.echo("no database: pass --url or set GEO_SERVICE_DATABASE_URL=postgresql://...", err=True)
        raise typer.Exit(code=2)
    catalog = load_catalog(settings.layers)
    try:
        with PostGISStore(url, catalog, pool_timeout=10) as store:
            version = store.init_schema()
            typer.echo(f"schema version {version} at {store.dsn_display}; layers: {', '.join(catalog.ids())}")
    except StoreError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(code=1) from None


@db_app.command("copy")
def db_copy(
    from_: Annotated[str, typer.Option("--from", help="gpkg:PATH or postgresql://...")],
    to: Annotated[str, typer.Option("--to", help="gpkg:PATH or postgresql://...")],
    audit: Annotated[bool, typer.Option(help="copy the audit log too")] = True,
) -> None:
    """Copy a whole dataset (every layer, ids kept, audit log) between stores; replaces the destination's."""
    # deferred: a command loads only what it uses, so `geo-service --help` starts at once
    from .catalog import load_catalog
    from .store.base import StoreError
    from .store.copy import copy_dataset, open_location, parse_location

    settings = _settings()
    try:
        parse_location(from_), parse_location(to)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    if from_ == to:
        raise typer.BadParameter("--from and --to are the same place")
    catalog = load_catalog(settings.layers)
    try:
        with open_location(from_, catalog, settings.metric_crs) as src, \
                open_location(to, catalog, settings.metric_crs) as dst:
            copy_dataset(src, dst, audit=audit, say=typer.echo)
    except StoreError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"copied {from_} -> {to}")



# ---- analyse: the analyses of geo_service.analysis.registry, from the store to a file or stdout ----

@app.command("analyse")
def analyse(
    name: Annotated[str, typer.Argument(help="parking-gaps, shared-parking, hydrant-coverage, charging-coverage, "
                                             "waterlogging or renovation-priorities")],
    out: Annotated[Path | None, typer.Option(help="write .gpkg (every part a layer), .csv or .geojson "
                                                  "(one part); default: CSV of the main part to stdout")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p",
                                                    help="parameter override KEY=VALUE (repeatable)")] = None,
    part: Annotated[str | None, typer.Option(help="result part for .csv/.geojson/stdout (default: main)")] = None,
    lang: Annotated[str, typer.Option(help="CSV headers: en or zh")] = "en",
) -> None:
    """Run an analysis on the store's data (parameters: defaults < settings < --param)."""
    # deferred: a command loads only what it uses, so `geo-service --help` starts at once
    import sys

    from .analysis import output
    from .analysis.params import ParamError
    from .analysis.registry import UnknownAnalysis, get
    from .analysis.runner import run_on_store
    from .store import open_store

    try:
        analysis = get(name)
        call: dict[str, str] = {}
        for item in param or []:
            key, sep, value = item.partition("=")
            if not sep:
                raise ParamError(f"--param {item!r}: expected KEY=VALUE")
            call[key.strip()] = value
        settings = _settings()
        _refuse_store_location(settings)
        with open_store(settings, create=False) as store:
            result = run_on_store(analysis, store, settings.analysis_params, call, settings.metric_crs)
            _say_store(store, settings, err=True)
        if part is not None and part not in result.parts:
            raise ParamError(f"--part {part!r}: {name} has parts {', '.join(result.parts)}")
        if lang not in ("en", "zh"):
            raise ParamError(f"--lang {lang!r}: use en or zh")
        if out is None:
            sys.stdout.write(output.table(result[part or result.main_part], lang).to_csv(index=False))
        else:
            written = output.write(result, out, part, lang)
            typer.echo(f"{name}: wrote {', '.join(written)} to {out}", err=True)
    except (UnknownAnalysis, ParamError, LookupError, ValueError) as e:
        typer.echo(f"analyse: {e}", err=True)
        raise typer.Exit(code=2) from None
    for key, value in result.summary.items():
        typer.echo(f"{key:28s} {value}", err=True)


# ---------------------------------------------------------------- plan: drafts from the analyses, progress

plan_app = typer.Typer(no_args_is_help=True, help="Renovation plans and shared-parking agreements of a programme.")
app.add_typer(plan_app, name="plan")


@plan_app.command("draft")
def plan_draft(
    year: Annotated[int, typer.Option(help="programme year of the drafts")],
    street: Annotated[str | None, typer.Option(help="only this street/town")] = None,
) -> None:
    """Proposed plans (tier and categories from renovation-priorities) and proposed agreements (from
    shared-parking) for compounds and lots that have none for the year; a second run creates nothing."""
    from .planning.draft import draft  # deferred: loads the analyses and the store
    from .store import open_store  # deferred: store/ loads GDAL, pandas

    settings = _settings()
    _refuse_store_location(settings)
    with open_store(settings, create=False) as store:
        done = draft(store, year, street, settings.analysis_params, settings.metric_crs)
        _say_store(store, settings, err=True)
    where = f" in {street}" if street else ""
    typer.echo(f"plan draft {year}{where}: {done.plans_created} plan(s) created ({done.plans_existing} compound(s) "
               f"already had one), {done.agreements_created} agreement(s) created ({done.agreements_existing} "
               f"compound-lot pair(s) already had an open one)")


# ---------------------------------------------------------------- export: files that open without the service

export_app = typer.Typer(no_args_is_help=True, help="Write maps and reports as files (to static_maps/ by default).")
app.add_typer(export_app, name="export")


@export_app.command("map")
def export_map(
    compound: Annotated[int | None, typer.Option(help="id of the compound to map")] = None,
    street: Annotated[str | None, typer.Option(help="street/town (街道/镇) whose compounds to map")] = None,
    out: Annotated[Path | None, typer.Option(help="HTML file to write (default: static_maps/map-....html)")] = None,
    color_by: Annotated[str | None, typer.Option(help="compounds colouring: a field or an analysis name")] = None,
    overlays: Annotated[bool, typer.Option(help="embed the analysis overlays (hydrant reach, shared parking)")] = True,
    base_url: Annotated[str | None, typer.Option(help="service URL that popup links point to")] = None,
) -> None:
    """One compound or one street as a single self-contained HTML map that opens offline."""
    # deferred: a command loads only what it uses, so `geo-service --help` starts at once
    from .store import open_store
    from .store.base import StoreError
    from .web.assets import AssetsMissing
    from .web.data import MapDataError
    from .web.export import ExportError
    from .web.export import export_map as write_map

    settings = _settings()
    _refuse_store_location(settings)
    try:
        with open_store(settings, create=False) as store:
            path = write_map(store, settings, compound=compound, street=street, out=out, color_by=color_by,
                             overlays=overlays, base_url=base_url)
            _say_store(store, settings, err=True)
    except (ExportError, MapDataError, AssetsMissing, StoreError) as e:
        typer.echo(f"export map: {e}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


@export_app.command("report")
def export_report(
    compound: Annotated[int | None, typer.Option(help="id of the compound: its one-page plan")] = None,
    street: Annotated[str | None, typer.Option(help="street/town (街道/镇): atlas of its compounds")] = None,
    district: Annotated[str | None, typer.Option(help="district (区): atlas of its compounds")] = None,
    format_: Annotated[str, typer.Option("--format", help="pdf, or png (an atlas: a folder of page PNGs)")] = "pdf",
    out: Annotated[Path | None, typer.Option(help="file to write (default: static_maps/<safe name>)")] = None,
    lang: Annotated[str | None, typer.Option(help="zh or en (default: settings.lang)")] = None,
    force: Annotated[bool, typer.Option(help="draw again even if the data have not changed")] = False,
) -> None:
    """A printable map report: one compound's page, or a street/district atlas (cover, ranking, contents)."""
    # deferred: a command loads only what it uses, so `geo-service --help` starts at once
    from .reports.data import Scope
    from .reports.fonts import FontMissing
    from .reports.pdf import build_report
    from .store import open_store
    from .store.base import StoreError

    chosen = [(k, v) for k, v in (("compound", compound), ("street", street), ("district", district)) if v is not None]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --compound, --street, --district")
    if format_ not in ("pdf", "png"):
        raise typer.BadParameter(f"{format_!r}: use pdf or png", param_hint="--format")
    settings = _settings()
    scope = Scope(chosen[0][0], str(chosen[0][1]))
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if total <= 1:
            return
        if bar is None:
            # deferred: a command loads only what it uses, so `geo-service --help` starts at once
            from .progress import progress as progress_bar

            bar = progress_bar(total, f"{scope.kind} {scope.key}", "page")
        bar.update(done - bar.n)

    _refuse_store_location(settings)
    try:
        with open_store(settings, create=False) as store:
            result = build_report(store, settings, scope, format_, lang, out=out, progress=progress, force=force)
            _say_store(store, settings, err=True)
    except (StoreError, FontMissing, ValueError) as e:
        typer.echo(f"export report: {e}", err=True)
        raise typer.Exit(code=2) from None
    finally:
        if bar is not None:
            bar.close()
    how = "unchanged data, reused" if result.cached else f"{result.seconds:.1f} s"
    typer.echo(f"wrote {result.path} ({result.pages} page{'s' if result.pages != 1 else ''}; {how})")

if __name__ == "__main__":  # `python -m geo_service.cli`
    app()
