#!/usr/bin/env bash
# compound-gis on PostGIS vs tipg on the same PostgreSQL, same synthetic city, same load
# (../shared/peers/RESULTS.md: fire_hydrants 200 000 points, 1 km bboxes, limit=1000, wrk -t2 -c16).
#
#   scripts/bench_postgis.sh              # everything: tools, city, cluster, both servers, run_all.sh, stop
#   KEEP=1 scripts/bench_postgis.sh       # leave both servers and the cluster running afterwards
#   RUNS=1 DURATION=10s scripts/bench_postgis.sh   # shorter (run_all.sh knobs pass through)
#
# Steps: (1) wrk/ogr2ogr from Debian if missing; (2) the city GeoPackage from the peers' make_city.py
# (seed 20240601; our .venv has the same pinned geopandas/shapely/numpy/pandas as the peers' data venv);
# (3) the peers' PostgreSQL cluster on 127.0.0.1:5433 with the city loaded by ogr2ogr for tipg
# (peers/tipg/setup.sh); (4) our own database `compound_gis` on the same cluster, the city imported
# through `geo-service import` (validation, aliases, ids kept) after `geo-service db init`;
# (5) tipg and compound-gis both under uvicorn, 2 workers, no access log; (6) peers/run_all.sh with
# both servers interleaved (A B A B ...); the summary lands in $OUT/summary.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/peers}
. "$PEERS/env.sh"   # PB, CITY_GPKG, PG_PORT, PG_CLUSTER, TIPG_PORT, WORKERS, wait_http
OURS_PORT=${OURS_PORT:-8000}
OURS_DB=${OURS_DB:-compound_gis}
URL="postgresql://bench:bench@127.0.0.1:$PG_PORT/$OURS_DB"
export OUT=${OUT:-$PB/results/ours-vs-tipg-$(date -u +%Y%m%dT%H%M%SZ)}

# (1) tools
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v ogr2ogr >/dev/null || need+=(gdal-bin)
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || need+=(postgresql-15 postgresql-15-postgis-3)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -x "$ROOT/.venv/bin/uvicorn" ] || { echo "run scripts/test.sh first (it builds .venv)" >&2; exit 2; }
"$ROOT/.venv/bin/python" -c "import psycopg, psycopg_pool" 2>/dev/null \
  || "$ROOT/.venv/bin/pip" install -q -e "$ROOT[postgis]"

# (2) the city
[ -s "$CITY_GPKG" ] || "$ROOT/.venv/bin/python" "$PEERS/make_city.py" --out "$CITY_GPKG"

# (3) the cluster and tipg. Created here first because pg_createcluster writes the peers'
# -o "listen_addresses='127.0.0.1'" with doubled quotes on this Debian, and the server then won't start.
if ! pg_lsclusters -h | awk '{print $2}' | grep -qx "$PG_CLUSTER"; then
  install -d -o postgres -g postgres "$PB/pgdata"
  pg_createcluster 15 "$PG_CLUSTER" -p "$PG_PORT" -d "$PB/pgdata" -o listen_addresses=127.0.0.1 \
      -o shared_buffers=512MB >/dev/null
fi
sed -i "s/^listen_addresses = .*/listen_addresses = '127.0.0.1'/" "/etc/postgresql/15/$PG_CLUSTER/postgresql.conf"
pg_ctlcluster 15 "$PG_CLUSTER" start 2>/dev/null || true
"$PEERS/tipg/setup.sh"

# (4) our database on the same server
psql_su() { su postgres -c "psql -qAt -p $PG_PORT $*"; }
psql_su "-c \"select 1 from pg_database where datname='$OURS_DB'\"" | grep -q 1 \
  || psql_su "-c 'CREATE DATABASE $OURS_DB OWNER bench'"
psql_su "-d $OURS_DB -c 'CREATE EXTENSION IF NOT EXISTS postgis'"
export GEO_SERVICE_DATABASE_URL=$URL
"$ROOT/.venv/bin/geo-service" db init
for layer in compounds fire_hydrants parking_facilities ebike_charging_sites waterlogging_points; do
  "$ROOT/.venv/bin/geo-service" import "$CITY_GPKG" --layer "$layer" --source-layer "$layer" --mode replace \
      > "$PB/import-$layer.log" 2>/dev/null
  head -1 "$PB/import-$layer.log"
done
PGPASSWORD=bench psql -q -h 127.0.0.1 -p "$PG_PORT" -U bench -d "$OURS_DB" -c "VACUUM ANALYZE"

# (5) servers: tipg as the peers start it; ours the same way (uvicorn, $WORKERS workers, no access log)
stop_ours() {
  if [ -s "$PB/ours.pid" ]; then kill "$(cat "$PB/ours.pid")" 2>/dev/null || true; rm -f "$PB/ours.pid"; fi
}
stop_ours
STOP_PG=0 "$PEERS/tipg/stop.sh" >/dev/null || true
"$PEERS/tipg/start.sh"
(cd "$ROOT" && nohup "$ROOT/.venv/bin/uvicorn" geo_service.api.app:app_from_env --factory --host 127.0.0.1 \
    --port "$OURS_PORT" --workers "$WORKERS" --no-access-log > "$PB/ours.log" 2>&1 & echo $! > "$PB/ours.pid")
wait_http "http://127.0.0.1:$OURS_PORT/collections/fire_hydrants" 60
echo "compound-gis up: http://127.0.0.1:$OURS_PORT on $URL"

# (6) the load, both servers interleaved
"$PEERS/run_all.sh" \
  "ours|http://127.0.0.1:$OURS_PORT|fire_hydrants|f=json|/collections/fire_hydrants/tiles/WebMercatorQuad/{z}/{x}/{y}" \
  "tipg|http://127.0.0.1:$TIPG_PORT|public.fire_hydrants|f=geojson|/collections/public.fire_hydrants/tiles/WebMercatorQuad/{z}/{x}/{y}"

if [ "${KEEP:-0}" != 1 ]; then
  stop_ours
  "$PEERS/tipg/stop.sh"
fi
