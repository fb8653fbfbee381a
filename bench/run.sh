#!/usr/bin/env bash
# Load benchmark of one node: creates/s, GET-by-id/s and list pages/s at 64
# keep-alive connections (wrk), latency percentiles and server RSS, beside
# two baselines measured in the same run on the same machine:
#   durable minimum  bench_baseline: per create only the record's row and its
#                    field messages in the log, batched 64 per transaction,
#                    same synchronous mode and WAL;
#   HTTP minimum     bench_http_baseline: a bare Beast keep-alive server
#                    answering a fixed 350-byte JSON body, same wrk command.
#
#   bench/run.sh                       # 10 s per phase, synchronous=FULL
#   DURATION=20 SYNC=NORMAL bench/run.sh
#   MESSAGES=1000000 bench/run.sh      # also load ~1M messages, report RSS
#
# Everything binds 127.0.0.1 and stops by itself.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
DURATION=${DURATION:-10}
SYNC=${SYNC:-FULL}
CONNS=${CONNS:-64}
MESSAGES=${MESSAGES:-0}
# The server from $BUILD_DIR (bench/compare.sh points it at another
# revision); the baselines always from this checkout's build.
BUILD=${BUILD_DIR:-$root/build}
cmake --build "$BUILD" -j2 --target crdt-store >/dev/null
cmake --build "$root/build" -j2 --target bench_baseline bench_http_baseline >/dev/null

work=$(mktemp -d /tmp/crdt-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
pid=""
base_pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "$base_pid" ] && kill "$base_pid" 2>/dev/null && wait "$base_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$work" && HOST=127.0.0.1 PORT=$port SCHEMA_DIR="$root/schema" \
   SQLITE_SYNCHRONOUS=$SYNC DB_SQLITE_FILE="$work/db/bench.sqlite" \
   DEFAULT_ORGANIZATION_ADMIN_PASSWORD=bench-password \
   exec "$BUILD/crdt-store" >"$work/server.log" 2>&1) &
pid=$!
for _ in $(seq 100); do
  curl -sf "$url/health" >/dev/null 2>&1 && break
  sleep 0.1
done
# Every request carries a bearer token, as a real client's would (none for
# a binary from before authentication, see bench/compare.sh).
BENCH_TOKEN=$(python3 "$root/bench/token.py" "$url") || BENCH_TOKEN=""
export BENCH_TOKEN
auth=()
[ -n "$BENCH_TOKEN" ] && auth=(-H "Authorization: Bearer $BENCH_TOKEN")
rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$pid/status"; }
result() { grep '^RESULT' | tail -1 | sed 's/^RESULT //'; }
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1==k {print $2}'; }

rss_before=$(rss)
create=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" -s "$root/bench/create.lua" "$url" | result)
curl -sf "${auth[@]}" "$url/store/contacts?pluck=id&limit=20000" \
  | python3 -c 'import json,sys; [print(r["id"]) for r in json.load(sys.stdin)["data"]]' \
  > "$work/ids"
get=$(BENCH_IDS="$work/ids" wrk -t2 -c"$CONNS" -d"${DURATION}s" -s "$root/bench/get.lua" "$url" | result)
list=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" -s "$root/bench/list.lua" "$url" | result)
rss_after=$(rss)

messages() {
  python3 - "$work/db/bench.sqlite" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("select count(*) from crdt_messages").fetchone()[0])
PY
}
if [ "$MESSAGES" -gt 0 ]; then
  while [ "$(messages)" -lt "$MESSAGES" ]; do
    wrk -t2 -c"$CONNS" -d10s -s "$root/bench/create.lua" "$url" >/dev/null
  done
  # A read phase after the load, so the reader caches are warm too.
  BENCH_IDS="$work/ids" wrk -t2 -c"$CONNS" -d5s -s "$root/bench/get.lua" "$url" >/dev/null
fi
stored=$(messages)
rss_final=$(rss)
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""

# Baseline 1: the durable minimum of a create.
baseline=$("$root/build/bench/bench_baseline" "$work/baseline.sqlite" 200000 64 "$SYNC" durable)
base_rps=$(echo "$baseline" | awk '{print $2}')
# Baseline 2: the HTTP minimum, driven exactly like the GET phase (with the
# server's default number of HTTP threads: one per core).
"$root/build/bench/bench_http_baseline" "$port" "$(nproc)" &
base_pid=$!
for _ in $(seq 50); do
  curl -sf "$url/" >/dev/null 2>&1 && break
  sleep 0.1
done
http=$(BENCH_IDS="$work/ids" wrk -t2 -c"$CONNS" -d"${DURATION}s" -s "$root/bench/get.lua" "$url" | result)
kill "$base_pid"; wait "$base_pid" 2>/dev/null || true; base_pid=""
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

cat <<EOF2
crdt-store load benchmark ($(nproc) cores, wrk -t2 -c$CONNS, ${DURATION}s per phase, synchronous=$SYNC)
  creates:  $(field "$create" rps)/s   p50 $(field "$create" p50_ms) ms   p99 $(field "$create" p99_ms) ms   errors $(field "$create" errors) non-2xx $(field "$create" non2xx)
  GET/id:   $(field "$get" rps)/s   p50 $(field "$get" p50_ms) ms   p99 $(field "$get" p99_ms) ms   errors $(field "$get" errors) non-2xx $(field "$get" non2xx)
  list 100: $(field "$list" rps)/s   p50 $(field "$list" p50_ms) ms   p99 $(field "$list" p99_ms) ms   errors $(field "$list" errors) non-2xx $(field "$list" non2xx)   (pluck 2 fields, order, offset)
  RSS:      ${rss_before} MB before, ${rss_after} MB after the phases, ${rss_final} MB holding $stored messages
  baseline 1 (durable minimum): $baseline
  baseline 2 (HTTP minimum):    $(field "$http" rps)/s   p50 $(field "$http" p50_ms) ms   p99 $(field "$http" p99_ms) ms
  ratio:    creates $(ratio "$(field "$create" rps)" "$base_rps") of baseline 1 (target 0.6), GET/id $(ratio "$(field "$get" rps)" "$(field "$http" rps)") of baseline 2 (target 0.6)
EOF2
