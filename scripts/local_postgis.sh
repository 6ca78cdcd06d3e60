#!/usr/bin/env bash
# A local PostgreSQL + PostGIS for trying the PostGIS store: a cluster under data/pg (or $PGDATA_DIR),
# listening on 127.0.0.1:${PGPORT:-55432}, database compound_gis with PostGIS. Prints the
# GEO_SERVICE_DATABASE_URL to export. Idempotent: starts the cluster if it exists but is stopped.
#
#   scripts/local_postgis.sh          # create/start, print the URL
#   scripts/local_postgis.sh stop     # stop it (data kept; rm -rf data/pg to forget it)
#
# Needs Debian's postgresql and postgresql-15-postgis-3 (scripts/test.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${PGDATA_DIR:-$PWD/data/pg}
PORT=${PGPORT:-55432}
DB=compound_gis
BIN=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$BIN/pg_ctl" ] || { echo "PostgreSQL not found: apt-get install postgresql postgresql-15-postgis-3" >&2; exit 2; }

as_owner() {  # PostgreSQL refuses to run as root: run its tools as the postgres user then
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = stop ]; then
  as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop
  exit 0
fi

if [ ! -s "$DATA/PG_VERSION" ]; then
  mkdir -p "$DATA"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DATA" && chmod 700 "$DATA"
  as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  cat >> "$DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = ''
shared_buffers = 256MB
EOF
fi
if ! as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w start >/dev/null
fi
URL="postgresql://postgres@127.0.0.1:$PORT/$DB"
if ! psql "postgresql://postgres@127.0.0.1:$PORT/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" \
    | grep -q 1; then
  psql "postgresql://postgres@127.0.0.1:$PORT/postgres" -qc "CREATE DATABASE $DB"
fi
PGOPTIONS="-c client_min_messages=warning" psql "$URL" -qc "CREATE EXTENSION IF NOT EXISTS postgis"
echo "PostGIS is up (data in $DATA). Use it with:"
echo "  export GEO_SERVICE_DATABASE_URL=$URL"
echo "  geo-service db init && geo-service demo && geo-service serve"
