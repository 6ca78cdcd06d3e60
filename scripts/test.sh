#!/usr/bin/env bash
# README command 2: install what the tests need, then run the whole suite.
# System packages (PostGIS, Chromium, CJK fonts, poppler, osmium) come from Debian and are
# skipped when already present; Python packages go into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(postgresql postgresql-15-postgis-3 chromium chromium-driver fonts-noto-cjk poppler-utils
                 osmium-tool haproxy)
command -v npm >/dev/null 2>&1 || SYSTEM_PACKAGES+=(npm)  # fetches the web map's Leaflet assets
missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test,postgis]"
bash scripts/fetch_web_assets.sh

.venv/bin/ruff check .
.venv/bin/python -m pytest -n 2 --dist loadfile -p no:cacheprovider "$@"
