#!/usr/bin/env bash
# README command 1: install compound-gis into .venv, generate the demo district into the
# embedded GeoPackage when it is missing, and serve the API and web map on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages it needs when missing: a CJK font for the meeting reports (Noto CJK), and npm, which
# fetches the web map's Leaflet and the API docs' Swagger UI from the npm registry.
missing=()
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "install ok installed" || missing+=(fonts-noto-cjk)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || echo "note: could not install ${missing[*]}" >&2
fi
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
bash scripts/fetch_web_assets.sh   # Leaflet and plugins from the npm registry, served locally (offline map)
export GEO_SERVICE_GPKG=${GEO_SERVICE_GPKG:-data/compound_gis.gpkg}
if [ ! -f "$GEO_SERVICE_GPKG" ]; then
  .venv/bin/geo-service demo
fi
# Prepare the reports' CJK font in the background (a one-time ~40 s conversion, cached; file-locked).
(.venv/bin/python -c "from geo_service.reports.fonts import report_font; report_font()" >/dev/null 2>&1 &)
echo "compound-gis: http://127.0.0.1:${PORT:-8000}/  (web map: /map, API docs: /api.html, collections: /collections)"
echo "the command line: source .venv/bin/activate, then geo-service --help"
exec .venv/bin/geo-service serve --host 127.0.0.1 --port "${PORT:-8000}"
