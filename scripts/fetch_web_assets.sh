#!/usr/bin/env bash
# Fetch Leaflet, the Leaflet plugins the web map uses and Swagger UI (for /api.html) from the npm registry into
# geo_service/web/static/vendor/, so the service serves every asset itself (offline intranets).
# Idempotent: a package already unpacked at the pinned version is skipped. Not committed:
# geo_service/web/static/vendor/ is in .gitignore and this script recreates it.
#
# The pins match what geo_service/web/assets.py links; change both together.
set -euo pipefail
cd "$(dirname "$0")/.."

VENDOR=geo_service/web/static/vendor
PACKAGES=(
  "leaflet@1.9.4"
  "leaflet.fullscreen@3.0.2"
  "leaflet-measure@2.1.7"
  "swagger-ui-dist@5.35.0"   # /api.html (the API docs) offline
)

command -v npm >/dev/null || { echo "fetch_web_assets: npm is needed (apt-get install npm)" >&2; exit 1; }
mkdir -p "$VENDOR"
tmp=""
trap '[ -n "$tmp" ] && rm -rf "$tmp"' EXIT

for spec in "${PACKAGES[@]}"; do
  name=${spec%@*}
  version=${spec##*@}
  dest="$VENDOR/$name"
  if [ -f "$dest/.version" ] && [ "$(cat "$dest/.version")" = "$version" ]; then
    continue
  fi
  [ -n "$tmp" ] || tmp=$(mktemp -d)
  echo "fetch_web_assets: $name@$version"
  tarball=$(cd "$tmp" && npm pack --silent "$spec" | tail -n 1)
  rm -rf "$dest" "$tmp/package"
  tar --warning=no-unknown-keyword -xzf "$tmp/$tarball" -C "$tmp"
  mkdir -p "$dest"
  # Keep the built files and the licence; sources, docs and tests stay out.
  if [ -d "$tmp/package/dist" ]; then
    cp -R "$tmp/package/dist/." "$dest/"
  else
    find "$tmp/package" -maxdepth 1 -type f \( -name '*.js' -o -name '*.css' -o -name '*.svg' -o -name '*.png' \) ! -name '*.config.js' \
      -exec cp {} "$dest/" \;
    [ -d "$tmp/package/icons" ] && cp -R "$tmp/package/icons" "$dest/"
  fi
  for lic in LICENSE LICENSE.md LICENSE.txt license; do
    [ -f "$tmp/package/$lic" ] && cp "$tmp/package/$lic" "$dest/LICENSE"
  done
  echo "$version" > "$dest/.version"
  rm -rf "$tmp/package" "$tmp/$tarball"
done
echo "fetch_web_assets: Leaflet and plugins in $VENDOR"
