#!/usr/bin/env bash
# README command 1: install compound-gis into .venv, generate the demo district into the
# embedded GeoPackage when it is missing, and serve the API and web map on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
# Meeting reports need a CJK font (Debian's Noto CJK); install it when missing and apt is at hand.
if ! dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "install ok installed" \
   && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    fonts-noto-cjk >/dev/null || echo "note: fonts-noto-cjk not installed; PDF reports will say so" >&2
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
echo "compound-gis: http://127.0.0.1:${PORT:-8000}/  (API definition: /api, collections: /collections)"
exec .venv/bin/geo-service serve --host 127.0.0.1 --port "${PORT:-8000}"
