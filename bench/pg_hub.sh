#!/usr/bin/env bash
# The hub on PostgreSQL beside the SQLite hub, on real processes over
# loopback (bench_sync drives POST /sync in the bounded exchange):
#  - a round that finds nothing new: median ms (a group of a day of
#    history, one message a minute, preloaded first);
#  - ingest from in-sync clients: 8 clients pushing batches of 1,000, into
#    one group and spread over 8 groups;
# for the SQLite hub (one process) and for 1, 2 and 4 hub processes sharing
# one PostgreSQL (a throwaway server from tests/e2e/pg_server.py, fsync on,
# like SQLITE_SYNCHRONOUS=FULL). Clients take the hub processes in turn.
#
#   bench/pg_hub.sh                         # about 3 min
#   PROCS="1 2" BATCHES=10 bench/pg_hub.sh  # quicker
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
BUILD=${BUILD_DIR:-$root/build}
PROCS=${PROCS:-"1 2 4"}
BATCHES=${BATCHES:-25}
cmake --build "$BUILD" -j2 --target crdt-store bench_sync >/dev/null

work=$(mktemp -d /tmp/crdt-pg-bench.XXXXXX)
chmod 755 "$work"
pids=()
pg_pid=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$pg_pid" ] && kill "$pg_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# start_hub NAME PORT [VAR=VALUE ...]
start_hub() {
  local name=$1 port=$2
  shift 2
  mkdir -p "$work/$name"
  (cd "$work/$name" && exec env HOST=127.0.0.1 PORT="$port" SCHEMA_DIR="$root/schema" \
     DB_SQLITE_FILE="$work/$name/db.sqlite" GROUP_ID="$name" SQLITE_SYNCHRONOUS=FULL \
     DEFAULT_ORGANIZATION_ADMIN_PASSWORD=bench-password ACCESS_LOG=false \
     "$@" "$BUILD/crdt-store" >"$work/$name.log" 2>&1) &
  pids+=($!)
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "pg_hub.sh: $name did not start" >&2
  cat "$work/$name.log" >&2
  exit 1
}
stop_hubs() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
}
# measure LABEL PORTS GROUP: the no-op round, then ingest into 1 and 8 groups.
measure() {
  local label=$1 ports=$2 group=$3 first=${2%%,*}
  local probe one eight
  probe=$("$BUILD/bench/bench_sync" 127.0.0.1 "$first" "$group" minutes 1440 101 0 0 \
            | sed -n 's/^probe: nothing new \([0-9.]*\) ms.*/\1/p')
  one=$("$BUILD/bench/bench_sync" 127.0.0.1 "$ports" "$group-in" minutes 0 0 8 "$BATCHES" 1000 1 \
          | sed -n 's/.*: \([0-9]*\) messages\/s$/\1/p')
  eight=$("$BUILD/bench/bench_sync" 127.0.0.1 "$ports" "$group-spread" minutes 0 0 8 "$BATCHES" 1000 8 \
            | sed -n 's/.*: \([0-9]*\) messages\/s$/\1/p')
  printf '| %s | %s ms | %s | %s |\n' "$label" "$probe" "$one" "$eight"
}

echo "| hub | round finding nothing new (median) | ingest, 1 group (msgs/s) | ingest, 8 groups (msgs/s) |"
echo "| --- | --- | --- | --- |"
port=$(free_port)
start_hub sqlite-hub "$port"
measure "SQLite, 1 process" "$port" sqlite
stop_hubs

mkdir -p "$work/pg"
PG_FSYNC=${PG_FSYNC:-on} python3 "$root/tests/e2e/pg_server.py" "$work/pg" >"$work/pg.url" 2>"$work/pg.err" &
pg_pid=$!
for _ in $(seq 200); do [ -s "$work/pg.url" ] && break; sleep 0.1; done
url=$(head -1 "$work/pg.url")
[ -n "$url" ] || { echo "pg_hub.sh: PostgreSQL did not start" >&2; cat "$work/pg.err" >&2; exit 1; }
for n in $PROCS; do
  ports=
  for i in $(seq "$n"); do
    p=$(free_port)
    start_hub "pg$n-hub$i" "$p" HUB_DATABASE_URL="$url"
    ports=${ports:+$ports,}$p
  done
  measure "PostgreSQL, $n process(es)" "$ports" "pg$n"
  stop_hubs
done
