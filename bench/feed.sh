#!/usr/bin/env bash
# What the change feed costs writers: creates/s (wrk, 64 connections) with
# no subscriber, then with 100 subscribers of another table (idle: nothing
# for them to read), then with 100 subscribers of the table being written
# (each reading every change), then none again, all in one run against one
# server; ratios are against the mean of the two phases without any.
#
#   bench/feed.sh                    # 10 s per phase, synchronous=FULL
#   DURATION=20 SUBSCRIBERS=200 bench/feed.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
DURATION=${DURATION:-10}
SYNC=${SYNC:-FULL}
SUBSCRIBERS=${SUBSCRIBERS:-100}
BUILD=${BUILD_DIR:-$root/build}
cmake --build "$BUILD" -j2 --target crdt-store >/dev/null

work=$(mktemp -d /tmp/crdt-feed-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
pid=""
subs=""
cleanup() {
  [ -n "$subs" ] && kill "$subs" 2>/dev/null || true
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$work" && HOST=127.0.0.1 PORT=$port SCHEMA_DIR="$root/schema" \
   SQLITE_SYNCHRONOUS=$SYNC DB_SQLITE_FILE="$work/db/bench.sqlite" \
   DEFAULT_ORGANIZATION_ADMIN_PASSWORD=bench-password ACCESS_LOG=false \
   exec "$BUILD/crdt-store" >"$work/server.log" 2>&1) &
pid=$!
for _ in $(seq 100); do
  curl -sf "$url/health" >/dev/null 2>&1 && break
  sleep 0.1
done
BENCH_TOKEN=$(python3 "$root/bench/token.py" "$url")
export BENCH_TOKEN
result() { grep '^RESULT' | tail -1 | sed 's/^RESULT //'; }
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1==k {print $2}'; }
creates() { wrk -t2 -c64 -d"${DURATION}s" -s "$root/bench/create.lua" "$url" | result; }

# Warm up (the first seconds of a fresh database are faster).
wrk -t2 -c64 -d3s -s "$root/bench/create.lua" "$url" >/dev/null
none=$(creates)
with_subscribers() {
  python3 "$root/bench/feed_subscribers.py" "$url" "$BENCH_TOKEN" "$SUBSCRIBERS" "$1" \
    >"$work/subs.out" &
  subs=$!
  until grep -q ready "$work/subs.out" 2>/dev/null; do sleep 0.1; done
  sleep 1
  local r
  r=$(creates)
  kill "$subs"; wait "$subs" 2>/dev/null || true; subs=""
  echo "$r $(result <"$work/subs.out")"
}
idle=$(with_subscribers config_application)
following=$(with_subscribers contacts)
# Again without subscribers: the table has grown meanwhile, and the
# baseline is the mean of the first and last phases.
again=$(creates)
base=$(python3 -c "print(($(field "$none" rps) + $(field "$again" rps)) / 2)")
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
cat <<EOF2
change feed cost ($(nproc) cores, wrk -t2 -c64, ${DURATION}s per phase, synchronous=$SYNC)
  no subscriber:                 $(field "$none" rps) creates/s   p99 $(field "$none" p99_ms) ms, last phase again $(field "$again" rps) creates/s   p99 $(field "$again" p99_ms) ms
  $SUBSCRIBERS idle subscribers:          $(field "$idle" rps) creates/s   p99 $(field "$idle" p99_ms) ms   ratio $(ratio "$(field "$idle" rps)" "$base")
  $SUBSCRIBERS subscribers of the table:  $(field "$following" rps) creates/s   p99 $(field "$following" p99_ms) ms   ratio $(ratio "$(field "$following" rps)" "$base")   events read $(field "$following" events), streams cut $(field "$following" closed)
EOF2
