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


@app.command()
def serve(host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port")] = 8000,
          workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1) -> None:
    """Serve the API and web map."""
    import uvicorn

    uvicorn.run("geo_service.api.app:app_from_env", factory=True, host=host, port=port,
                workers=workers, log_level="info")


@app.command()
def demo(scale: Annotated[float, typer.Option(help="1 = one district; ~30 = a whole city")] = 1.0,
         seed: Annotated[int, typer.Option(help="random seed (same seed, same data)")] = 20240601) -> None:
    """Generate the deterministic demo district into the store (replaces every layer)."""
    from .demo import write_demo
    from .store import open_store

    settings = _settings()
    with open_store(settings) as store:
        counts = write_demo(store, scale=scale, seed=seed, progress=True)
    for layer, n in counts.items():
        typer.echo(f"{layer:24s} {n:>9,d}")
    typer.echo(f"written to {settings.database_url or settings.gpkg}")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile (.shp/.zip), CSV or .osm.pbf")],
    layer: Annotated[str, typer.Option("--layer", help="target layer id")],
    crs: Annotated[str | None, typer.Option(help="source CRS: EPSG code, WKT/PROJ, gcj02 or bd09")] = None,
    mode: Annotated[str, typer.Option(help="append or replace")] = "append",
    map_: Annotated[list[str] | None, typer.Option("--map", help="rename a source column: SRC=DST")] = None,
    skip_invalid: Annotated[bool, typer.Option(help="import good rows, write rejects beside the input")] = False,
    source_layer: Annotated[str | None, typer.Option(help="layer to read from a multi-layer file")] = None,
    encoding: Annotated[str | None, typer.Option(help="text encoding of CSV/Shapefile, e.g. gbk")] = None,
) -> None:
    """Validate a file against the layer spec and import it in one transaction."""
    from .ingest.importer import ImportFailed, import_file
    from .store import open_store

    settings = _settings()
    mapping: dict[str, str] = {}
    for m in map_ or []:
        if "=" not in m:
            raise typer.BadParameter(f"--map {m!r}: expected SRC=DST")
        src, dst = m.split("=", 1)
        mapping[src.strip()] = dst.strip()
    try:
        with open_store(settings) as store:
            report = import_file(store, file, layer, crs=crs, mode=mode, mapping=mapping,
                                 skip_invalid=skip_invalid, source_layer=source_layer,
                                 encoding=encoding, service_area=settings.service_area, progress=True)
    except ImportFailed as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(code=2) from None
    typer.echo(report.describe())


if __name__ == "__main__":  # `python -m geo_service.cli`
    app()
