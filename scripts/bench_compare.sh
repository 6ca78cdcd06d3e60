#!/usr/bin/env bash
# compound-gis before vs after a change, side by side with tipg, in ONE interleaved run of the peers'
# benchmark (../shared/peers/RESULTS.md: synthetic city, 1 km bboxes, limit=1000, wrk -t2 -c16).
#
#   BEFORE_REF=5275989 scripts/bench_compare.sh                       # fire_hydrants (200 000 points)
#   BEFORE_REF=5275989 COLLECTION=compounds scripts/bench_compare.sh  # compounds (13 000 polygons)
#   SERVERS="before-gpkg after-gpkg" scripts/bench_compare.sh         # only some of the servers
#   RUNS=1 DURATION=3s WARMUP=1s BIG_N=2 CPU_DURATION=3s scripts/bench_compare.sh   # smoke test only
#
# Servers (SERVERS, default all four, measured in this order, A B C D A B C D ...):
#   before-gpkg  compound-gis at BEFORE_REF (default 5275989), a `git worktree add` checkout in $PB/before,
#                GeoPackage store built by importing the city with THAT tree's `geo-service import`
#   after-gpkg   compound-gis from this working tree (ROOT, uncommitted changes included), its own GeoPackage
#   after-pg     compound-gis from ROOT on PostGIS: database $AFTER_DB on the peers' cluster (127.0.0.1:5433)
#   tipg         tipg 1.6.1 on the peers' `city` database (peers/tipg/{setup,start,stop}.sh)
# All: uvicorn, $WORKERS (2) workers, --no-access-log, 127.0.0.1 (ports BEFORE_PORT=8010 AFTER_PORT=8011
# AFTER_PG_PORT=8012 TIPG_PORT=8081). Ours run as `uvicorn geo_service.api.app:app_from_env --factory` with
# the one shared venv ($ROOT/.venv, else the main worktree's): PYTHONPATH, --app-dir and the working directory
# all point at the tree being measured, so each server imports its own geo_service (and its own layers/).
#
# Knobs: BEFORE_REF, SERVERS, COLLECTION (fire_hydrants | compounds | ...; tipg's id is public.<name>),
#   WORKERS, the ports above, AFTER_DB=compound_gis_cmp, FORCE_IMPORT=1 (rebuild the stores even if cached),
#   CPU_DURATION=10s (per-server CPU pass after the runs; 0 = skip), KEEP=1 (leave the servers running),
#   OUT=<dir>, FILTER_OURS / FILTER_TIPG (a CQL2 filter added to every items request: see below), and every run_all.sh knob (RUNS DURATION WARMUP COOLDOWN THREADS CONNS LIMIT BIG_LIMIT BIG_BBOX
#   BIG_N BBOX_FILE TILE_FILE), which simply pass through the environment.
#
# Steps: (1) wrk/ogr2ogr/PostGIS from Debian if missing; (2) the city GeoPackage from the peers' make_city.py;
# (3) the peers' cluster + tipg's `city` database (only if after-pg or tipg is selected), as bench_postgis.sh;
# (4) the before tree; (5) the stores: each tree imports the city itself (every layer, --mode replace, ids kept),
# cached under $PB/cmp/cache by a hash of the tree's code/layers and the city file, then copied per run;
# (6) servers up (every worker started, none died; a trap stops them on any exit); (7) peers/run_all.sh with all of them interleaved: its
# correctness pass must give the same feature-id fingerprint everywhere (checked below, exit 3 otherwise);
# (8) per-server CPU per request (own worker processes, + the whole PostgreSQL cluster for after-pg/tipg)
# in one extra wrk pass each; (9) each worker's peak RSS (VmHWM) into $OUT/rss.txt.
# Results: $OUT/summary.md (run_all.sh's table + an extras table), summary.json, rss.txt, cpu.txt, trees.txt,
# the raw logs and the server logs. Environment variables GEO_SERVICE_* of the caller are ignored.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/peers}
. "$PEERS/env.sh"   # PB, CITY_GPKG, PG_PORT, PG_CLUSTER, TIPG_PORT, WORKERS, wait_http
LOAD=$PEERS/load
BEFORE_REF=${BEFORE_REF:-5275989}
SERVERS=${SERVERS:-before-gpkg after-gpkg after-pg tipg}   # before-pg also exists (the old code on PostGIS)
COLLECTION=${COLLECTION:-fire_hydrants}
BEFORE_PORT=${BEFORE_PORT:-8010}; AFTER_PORT=${AFTER_PORT:-8011}; AFTER_PG_PORT=${AFTER_PG_PORT:-8012}
BEFORE_PG_PORT=${BEFORE_PG_PORT:-8013}
AFTER_DB=${AFTER_DB:-compound_gis_cmp}; BEFORE_DB=${BEFORE_DB:-compound_gis_before}
LAYERS="compounds fire_hydrants parking_facilities ebike_charging_sites waterlogging_points"
CPU_DURATION=${CPU_DURATION:-10s}
CMP=$PB/cmp                       # pid files, server logs, the stores being served, the import cache
BEFORE_TREE=$PB/before            # the git worktree of BEFORE_REF (kept for later runs)
export OUT=${OUT:-$PB/results/compare-$COLLECTION-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$CMP/cache" "$OUT"
for v in $(compgen -e | grep '^GEO_SERVICE_' || true); do unset "$v"; done

die() { echo "bench_compare: $*" >&2; exit 1; }
for s in $SERVERS; do
  case "$s" in before-gpkg|after-gpkg|after-pg|before-pg|tipg) ;; *) die "unknown server '$s' in SERVERS";; esac
done
wants() { [[ " $SERVERS " == *" $1 "* ]]; }
needs_pg() { wants after-pg || wants before-pg || wants tipg; }
exec 9>"$CMP/lock"
flock -n 9 || die "another bench_compare.sh is running (lock $CMP/lock)"

# The venv: this tree's, or (when run from another git worktree without one) the main worktree's.
VENV=${VENV:-$ROOT/.venv}
if [ ! -x "$VENV/bin/uvicorn" ]; then
  VENV=$(git -C "$ROOT" worktree list --porcelain | awk 'NR==1{print $2}')/.venv
fi
[ -x "$VENV/bin/uvicorn" ] || die "no venv with uvicorn (run scripts/test.sh first: it builds .venv)"
PY=$VENV/bin/python

# (1) tools
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v ogr2ogr >/dev/null || need+=(gdal-bin)
if needs_pg; then dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || need+=(postgresql-15 postgresql-15-postgis-3); fi
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if wants after-pg || wants before-pg; then
  "$PY" -c "import psycopg, psycopg_pool" 2>/dev/null || "$VENV/bin/pip" install -q "psycopg[binary]>=3.2" "psycopg-pool>=3.2"
fi

# (2) the city (the peers' generator, seed 20240601; the venv has the peers' pinned geopandas stack)
[ -s "$CITY_GPKG" ] || "$PY" "$PEERS/make_city.py" --out "$CITY_GPKG"

# (3) the cluster and tipg's database, exactly as bench_postgis.sh does it (pg_createcluster here first,
# because with the peers' quoted -o "listen_addresses='127.0.0.1'" this Debian writes doubled quotes).
if needs_pg; then
  if ! pg_lsclusters -h | awk '{print $2}' | grep -qx "$PG_CLUSTER"; then
    install -d -o postgres -g postgres "$PB/pgdata"
    pg_createcluster 15 "$PG_CLUSTER" -p "$PG_PORT" -d "$PB/pgdata" -o listen_addresses=127.0.0.1 \
        -o shared_buffers=512MB >/dev/null
  fi
  sed -i "s/^listen_addresses = .*/listen_addresses = '127.0.0.1'/" "/etc/postgresql/15/$PG_CLUSTER/postgresql.conf"
  pg_ctlcluster 15 "$PG_CLUSTER" start >/dev/null 2>&1 9>&- || true  # the cluster outlives us: not the lock
  "$PEERS/tipg/setup.sh" > "$CMP/tipg-setup.log" 2>&1 9>&- || { tail -20 "$CMP/tipg-setup.log" >&2; die "peers/tipg/setup.sh failed"; }
fi

# (4) the before tree: a detached `git worktree` of BEFORE_REF in $PB/before (reused, moved to the ref if needed)
BEFORE_SHA=""
if wants before-gpkg; then
  BEFORE_SHA=$(git -C "$ROOT" rev-parse --verify "$BEFORE_REF^{commit}") || die "BEFORE_REF '$BEFORE_REF' is not a commit"
  git -C "$ROOT" worktree prune
  if [ -e "$BEFORE_TREE/.git" ]; then
    [ "$(git -C "$BEFORE_TREE" rev-parse --path-format=absolute --git-common-dir)" \
        -ef "$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir)" ] \
      || die "$BEFORE_TREE is a checkout of another repository"
    git -C "$BEFORE_TREE" checkout -q --force --detach "$BEFORE_SHA"
  else
    [ ! -e "$BEFORE_TREE" ] || die "$BEFORE_TREE exists but is not a git worktree: remove it"
    git -C "$ROOT" worktree add -q --detach "$BEFORE_TREE" "$BEFORE_SHA"
  fi
  echo "before tree: $BEFORE_TREE at $(git -C "$BEFORE_TREE" log -1 --format='%h %s' | cut -c1-100)"
fi

# Run the geo-service CLI of a tree: its own directory first on sys.path, so its geo_service is the one imported.
cli() {  # cli TREE [VAR=value ...] -- ARGS...
  local tree=$1; shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  (cd "$tree" && env "${envs[@]}" PYTHONPATH="$tree" COLUMNS=200 "$PY" -m geo_service.cli "$@")
}
check_tree() {  # the interpreter set up like the servers must import geo_service from TREE
  local got
  got=$(cd "$1" && PYTHONPATH="$1" "$PY" -c 'import geo_service, os; print(os.path.dirname(os.path.dirname(geo_service.__file__)))')
  [ "$got" -ef "$1" ] || die "geo_service for $1 comes from $got"
}
tree_key() {  # hash of what decides the store's content: the tree's code, layer specs, and the city file
  { (cd "$1" && find geo_service layers pyproject.toml -type f \( -name '*.py' -o -name '*.yaml' -o -name '*.yml' \
        -o -name '*.toml' -o -name '*.sql' \) -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha1sum)
    stat -c '%s %Y' "$CITY_GPKG"; } | sha1sum | cut -c1-16
}
import_city() {  # import_city TREE LOGPREFIX NEW_GPKG(0|1) VAR=value...   every city layer via the tree's `geo-service import`
  local tree=$1 log=$2 newflag=$3 layer extra help; shift 3
  # The current CLI creates a missing GeoPackage when it opens the store; later versions refuse to unless
  # `import --new-store` is given: pass it on the first import into a new GeoPackage when the CLI has it.
  help=$(cli "$tree" -- import --help 2>&1 || true)
  grep -q -- '--new-store' <<<"$help" || newflag=0
  for layer in $LAYERS; do
    extra=()
    if [ "$newflag" = 1 ] && [ "$layer" = "${LAYERS%% *}" ]; then extra=(--new-store); fi
    cli "$tree" "$@" -- import "$CITY_GPKG" --layer "$layer" --source-layer "$layer" --mode replace "${extra[@]}" \
        > "$log-$layer.log" 2> "$log-$layer.err" || { tail -5 "$log-$layer.err" >&2; die "import of $layer into $tree failed"; }
    echo "  $(head -1 "$log-$layer.log")"
  done
}
build_gpkg() {  # build_gpkg NAME TREE -> $CMP/NAME.gpkg, a fresh copy of the cached import for this tree
  local name=$1 tree=$2 key cache tmp
  check_tree "$tree"
  key=$(tree_key "$tree")
  cache=$CMP/cache/$name-$key.gpkg
  if [ "${FORCE_IMPORT:-0}" = 1 ] || [ ! -s "$cache" ]; then
    echo "$name: importing the city with $tree (store key $key)"
    tmp=$CMP/cache/$name-building.gpkg
    rm -f "$tmp" "$tmp-wal" "$tmp-shm" "$CMP/cache/$name"-*.gpkg
    import_city "$tree" "$CMP/import-$name" 1 GEO_SERVICE_GPKG="$tmp"
    [ ! -e "$tmp-wal" ] || sqlite_checkpoint "$tmp"
    mv "$tmp" "$cache"
  else
    echo "$name: reusing $cache"
  fi
  rm -f "$CMP/$name.gpkg" "$CMP/$name.gpkg-wal" "$CMP/$name.gpkg-shm"
  cp "$cache" "$CMP/$name.gpkg"
  echo "$name store $CMP/$name.gpkg from $cache" >> "$OUT/trees.txt"
}
sqlite_checkpoint() { "$PY" -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()' "$1"; rm -f "$1-wal" "$1-shm"; }

{
  echo "date_utc $(date -u +%FT%TZ)"
  echo "servers $SERVERS; collection $COLLECTION; workers $WORKERS"
  [ -z "$BEFORE_SHA" ] || echo "before $BEFORE_REF = $BEFORE_SHA ($(git -C "$ROOT" log -1 --format=%s "$BEFORE_SHA" | cut -c1-100)) in $BEFORE_TREE"
  echo "after $ROOT at $(git -C "$ROOT" rev-parse HEAD), working tree: $(git -C "$ROOT" status --porcelain | wc -l) changed/untracked paths"
  git -C "$ROOT" status --porcelain | sed 's/^/  after: /'
  echo "venv $VENV; city $CITY_GPKG ($(stat -c %s "$CITY_GPKG") bytes)"
} > "$OUT/trees.txt"

# (5) the stores
wants before-gpkg && build_gpkg before-gpkg "$BEFORE_TREE"
wants after-gpkg && build_gpkg after-gpkg "$ROOT"
AFTER_URL="postgresql://bench:bench@127.0.0.1:$PG_PORT/$AFTER_DB"
BEFORE_URL="postgresql://bench:bench@127.0.0.1:$PG_PORT/$BEFORE_DB"
build_pg() {  # build_pg NAME TREE DB URL: the city in its own database, imported with that tree's code
  local name=$1 tree=$2 db=$3 url=$4 key have_db
  check_tree "$tree"
  key=$(tree_key "$tree")
  psql_su() { su postgres -c "psql -qAt -p $PG_PORT $*"; }
  have_db=$(psql_su "-c \"select 1 from pg_database where datname='$db'\"")
  if [ "${FORCE_IMPORT:-0}" = 1 ] || [ "$have_db" != 1 ] || [ "$(cat "$CMP/$name.key" 2>/dev/null)" != "$key" ]; then
    echo "$name: importing the city into $db with $tree (store key $key)"
    rm -f "$CMP/$name.key"
    psql_su "-c 'DROP DATABASE IF EXISTS $db WITH (FORCE)'"
    psql_su "-c 'CREATE DATABASE $db OWNER bench'"
    psql_su "-d $db -c 'CREATE EXTENSION IF NOT EXISTS postgis'"
    cli "$tree" GEO_SERVICE_DATABASE_URL="$url" -- db init
    import_city "$tree" "$CMP/import-$name" 0 GEO_SERVICE_DATABASE_URL="$url"
    psql_su "-d $db -c 'VACUUM ANALYZE'"
    echo "$key" > "$CMP/$name.key"
  else
    echo "$name: reusing database $db (store key $key)"
  fi
  echo "$name store $url (key $key)" >> "$OUT/trees.txt"
}
wants after-pg && build_pg after-pg "$ROOT" "$AFTER_DB" "$AFTER_URL"
wants before-pg && build_pg before-pg "$BEFORE_TREE" "$BEFORE_DB" "$BEFORE_URL"

# (6) servers. Only processes started here are stopped, by their pid files (uvicorn's parent stops its workers).
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
children() { pgrep -P "$1" 2>/dev/null || true; }
workers_of() {  # uvicorn worker processes of a parent pid (not multiprocessing's helper processes)
  local c
  for c in $(children "$1"); do
    tr '\0' ' ' < "/proc/$c/cmdline" 2>/dev/null | grep -q resource_tracker || echo "$c"
  done
}
stop_pidfile() {  # stop_pidfile FILE: TERM to the uvicorn parent, KILL it and its children after 15 s
  local f=$1 pid kids i
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q uvicorn; then
    kids=$(children "$pid")
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "  $f: pid $pid did not stop, killing it and its workers" >&2
      # shellcheck disable=SC2086
      kill -KILL $kids "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}
STARTED=()
cleanup() {
  local rc=$? n
  if [ "${KEEP:-0}" = 1 ]; then echo "KEEP=1: servers left running (pid files in $CMP, $PB/tipg.pid)"; return $rc; fi
  for n in "${STARTED[@]}"; do
    if [ "$n" = tipg ]; then STOP_PG=0 "$PEERS/tipg/stop.sh" >/dev/null || true; else stop_pidfile "$CMP/$n.pid"; fi
  done
  [ ${#STARTED[@]} -eq 0 ] || echo "stopped: ${STARTED[*]} (PostgreSQL cluster $PG_CLUSTER left running)"
  return $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_ours() {  # start_ours NAME TREE PORT VAR=value...
  local name=$1 tree=$2 port=$3 pid i; shift 3
  stop_pidfile "$CMP/$name.pid"   # a leftover of an interrupted KEEP=1 run
  port_busy "$port" && die "port $port is in use: pick free ones with BEFORE_PORT / AFTER_PORT / AFTER_PG_PORT"
  # (9>&-: the servers must not inherit the lock, or a KEEP=1 run would hold it)
  (cd "$tree" && exec env "$@" PYTHONPATH="$tree" nohup "$VENV/bin/uvicorn" geo_service.api.app:app_from_env --factory \
      --app-dir "$tree" --host 127.0.0.1 --port "$port" --workers "$WORKERS" --no-access-log \
      > "$CMP/$name.log" 2>&1 9>&- & echo $! > "$CMP/$name.pid")
  STARTED+=("$name")
  pid=$(cat "$CMP/$name.pid")
  for ((i = 0; i < 480; i++)); do   # up to 120 s: each worker loads the whole store
    kill -0 "$pid" 2>/dev/null || { tail -20 "$CMP/$name.log" >&2; die "$name exited during start-up"; }
    curl -fs -o /dev/null "http://127.0.0.1:$port/collections/$COLLECTION" && break
    sleep 0.25
  done
  ((i < 480)) || { tail -20 "$CMP/$name.log" >&2; die "$name did not answer /collections/$COLLECTION in 120 s"; }
  wait_workers "$name" "$CMP/$name.log" "$pid"
  echo "$name up: http://127.0.0.1:$port, uvicorn pid $pid, workers $(workers_of "$pid" | tr '\n' ' ')"
}
wait_workers() {  # every worker has started, none died (e.g. it imported a tree that was being edited)
  local name=$1 log=$2 pid=$3 i
  for ((i = 0; i < 240; i++)); do
    grep -q 'died' "$log" && { tail -30 "$log" >&2; die "a worker of $name died during start-up (see $log)"; }
    (( $(grep -c 'Application startup complete' "$log") >= WORKERS )) && break
    sleep 0.25
  done
  ((i < 240)) || die "$name: not all $WORKERS workers started in 60 s (see $log)"
  workers_of "$pid" > "$CMP/$name.workers"
}

# A CQL2 filter on every items request (issue 15's load run): FILTER_OURS for compound-gis, FILTER_TIPG for tipg
# (the peers' city keeps its raw status words, ok/damaged/...; ours are normalised by the catalog's aliases, so the
# same selection reads differently). The correctness pass still requires identical feature-id sets.
urlenc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
OURS_Q="f=json"; [ -n "${FILTER_OURS:-}" ] && OURS_Q="f=json&filter=$(urlenc "$FILTER_OURS")"
TIPG_Q="f=geojson"; [ -n "${FILTER_TIPG:-}" ] && TIPG_Q="f=geojson&filter=$(urlenc "$FILTER_TIPG")"
SPECS=()
TILES_OURS="/collections/$COLLECTION/tiles/WebMercatorQuad/{z}/{x}/{y}"
for s in $SERVERS; do
  case "$s" in
    before-gpkg)
      start_ours before-gpkg "$BEFORE_TREE" "$BEFORE_PORT" GEO_SERVICE_GPKG="$CMP/before-gpkg.gpkg"
      SPECS+=("before-gpkg|http://127.0.0.1:$BEFORE_PORT|$COLLECTION|$OURS_Q|$TILES_OURS") ;;
    after-gpkg)
      start_ours after-gpkg "$ROOT" "$AFTER_PORT" GEO_SERVICE_GPKG="$CMP/after-gpkg.gpkg"
      SPECS+=("after-gpkg|http://127.0.0.1:$AFTER_PORT|$COLLECTION|$OURS_Q|$TILES_OURS") ;;
    after-pg)
      start_ours after-pg "$ROOT" "$AFTER_PG_PORT" GEO_SERVICE_DATABASE_URL="$AFTER_URL"
      SPECS+=("after-pg|http://127.0.0.1:$AFTER_PG_PORT|$COLLECTION|$OURS_Q|$TILES_OURS") ;;
    before-pg)
      start_ours before-pg "$BEFORE_TREE" "$BEFORE_PG_PORT" GEO_SERVICE_DATABASE_URL="$BEFORE_URL"
      SPECS+=("before-pg|http://127.0.0.1:$BEFORE_PG_PORT|$COLLECTION|$OURS_Q|$TILES_OURS") ;;
    tipg)
      STOP_PG=0 "$PEERS/tipg/stop.sh" >/dev/null || true
      port_busy "$TIPG_PORT" && die "port $TIPG_PORT is in use (set TIPG_PORT=...)"
      STARTED+=(tipg)
      "$PEERS/tipg/start.sh" 9>&-
      wait_workers tipg "$PB/tipg.log" "$(cat "$PB/tipg.pid")"
      SPECS+=("tipg|http://127.0.0.1:$TIPG_PORT|public.$COLLECTION|$TIPG_Q|/collections/public.$COLLECTION/tiles/WebMercatorQuad/{z}/{x}/{y}") ;;
  esac
done
pid_of() { if [ "$1" = tipg ]; then cat "$PB/tipg.pid"; else cat "$CMP/$1.pid"; fi; }

# (7) the load: all selected servers interleaved by the peers' script (correctness pass, warm-up, runs, big page, tiles)
"$PEERS/run_all.sh" "${SPECS[@]}"

# (8) CPU per request of each server's own processes (utime+stime from /proc/<pid>/stat before/after one wrk run
# of the same load; for after-pg and tipg also every process of the PostgreSQL cluster). Unlike req/s, this is
# hardly disturbed by other work on the machine. Processes that start inside the window are not counted.
ticks() { local p; for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null || true; done \
            | awk '{ sub(/^.*\) /, ""); s += $12 + $13 } END { print s + 0 }'; }
pg_pids() { local pm; pm=$(head -1 "$PB/pgdata/postmaster.pid" 2>/dev/null) || return 0; echo "$pm"; children "$pm"; }
HZ=$(getconf CLK_TCK)
: > "$OUT/cpu.txt"
if [ "$CPU_DURATION" != 0 ]; then
  echo "== CPU pass: one wrk -t${THREADS:-2} -c${CONNS:-16} -d$CPU_DURATION run per server"
  for spec in "${SPECS[@]}"; do
    IFS='|' read -r name base coll fmt _ <<<"$spec"
    app=$(workers_of "$(pid_of "$name")" | tr '\n' ' ')
    pg=""; if [ "$name" = tipg ] || [ "$name" = after-pg ] || [ "$name" = before-pg ]; then pg=$(pg_pids | tr '\n' ' '); fi
    sleep "${COOLDOWN:-3}"
    # shellcheck disable=SC2086
    a0=$(ticks $app); p0=$(ticks $pg)
    wrk -t"${THREADS:-2}" -c"${CONNS:-16}" -d"$CPU_DURATION" --timeout 10s --latency -s "$LOAD/items.lua" "$base" \
        -- "/collections/$coll/items" "${BBOX_FILE:-$LOAD/bboxes.txt}" "limit=${LIMIT:-1000}&$fmt" > "$OUT/$name.cpu-wrk.txt" 2>&1 || true
    # shellcheck disable=SC2086
    a1=$(ticks $app); p1=$(ticks $pg)
    reqs=$(grep -o '"requests":[0-9]*' "$OUT/$name.cpu-wrk.txt" | cut -d: -f2); reqs=${reqs:-0}
    rps=$(grep -o '"rps":[0-9.]*' "$OUT/$name.cpu-wrk.txt" | cut -d: -f2)
    awk -v n="$name" -v r="$reqs" -v rps="${rps:-0}" -v a=$((a1 - a0)) -v p=$((p1 - p0)) -v pg="$pg" -v hz="$HZ" 'BEGIN {
      app = r ? 1000 * a / hz / r : 0; pgm = (pg != "" && r) ? sprintf("%.2f", 1000 * p / hz / r) : "-";
      printf "CPUSPLIT %s requests=%d rps=%.1f app_cpu_ms_per_req=%.2f pg_cpu_ms_per_req=%s\n", n, r, rps, app, pgm }' \
      | tee -a "$OUT/cpu.txt"
  done
fi

# (9) peak RSS of every worker (VmHWM: the high-water mark since the worker started, start-up load included)
{
  echo "# server pid VmHWM_kB VmRSS_kB  (uvicorn worker processes; 'restarted' = not the workers seen at start-up)"
  for spec in "${SPECS[@]}"; do
    name=${spec%%|*}
    for w in $(workers_of "$(pid_of "$name")"); do
      note=""; grep -qx "$w" "$CMP/$name.workers" || note=" restarted"
      echo "$name $w $(awk '/^VmHWM/{h=$2} /^VmRSS/{r=$2} END{print h, r}' "/proc/$w/status")$note"
    done
  done
} > "$OUT/rss.txt"
cat "$OUT/rss.txt"

# extras table appended to run_all.sh's summary; server logs kept with the results
{
  echo
  echo "| server | workers | worker peak RSS MB (max; sum) | app CPU ms/req | PostgreSQL CPU ms/req | req/s in CPU pass |"
  echo "|---|---|---|---|---|---|"
  for spec in "${SPECS[@]}"; do
    name=${spec%%|*}
    rss=$(awk -v n="$name" '$1 == n { c++; s += $3; if ($3 > m) m = $3 } END { printf "%d|%.0f; %.0f", c, m / 1024, s / 1024 }' "$OUT/rss.txt")
    cpu=$(grep -s "^CPUSPLIT $name " "$OUT/cpu.txt" | sed -E 's/.*rps=([0-9.]+) app_cpu_ms_per_req=([0-9.]+) pg_cpu_ms_per_req=(.*)/\2 | \3 | \1/' || true)
    echo "| $name | ${rss%%|*} | ${rss#*|} | ${cpu:-n/a | n/a | n/a} |"
  done
  echo
  grep -E '^(before|after) ' "$OUT/trees.txt" | sed 's/^/    /'
} | tee -a "$OUT/summary.md"
for spec in "${SPECS[@]}"; do
  name=${spec%%|*}
  if [ "$name" = tipg ]; then cp "$PB/tipg.log" "$OUT/tipg.server.log"; else cp "$CMP/$name.log" "$OUT/$name.server.log"; fi
  if grep -q 'died' "$OUT/$name.server.log"; then
    echo "WARNING: a worker of $name died during the run and was restarted: its numbers are suspect ($OUT/$name.server.log)" \
      | tee -a "$OUT/summary.md"
  fi
done

# every server must have answered every bbox, with the same feature ids
python3 - "$OUT/summary.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
ids = {n: v["check"].get("ids_sha1") for n, v in s.items()}
bad = {n: v["check"].get("n_bad") for n, v in s.items() if v["check"].get("n_bad") != 0}
if bad or len(set(ids.values())) != 1 or None in ids.values():
    print(f"CORRECTNESS FAILED: failed bboxes {bad}, id fingerprints {ids}")
    sys.exit(3)
print(f"correctness: {len(ids)} servers, identical feature-id sets for every bbox (sha1 {next(iter(ids.values()))[:12]})")
EOF
echo "results in $OUT"
