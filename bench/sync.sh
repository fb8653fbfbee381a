#!/usr/bin/env bash
# Sync benchmarks, on real processes over loopback:
#  1. histories of 1, 30 and 365 days at one message a minute, and one minute
#     holding HUGE messages: the bytes and milliseconds of a call that finds
#     nothing new and of one that pulls one new message (bench_sync, beside
#     the size of the whole trie the crdt-example-app format would post),
#     then a new node joining the group: time, messages/s, RSS of both;
#     and MIXED messages, half a minute each going back (347 days for
#     1,000,000) and half inside one minute, joined the same way;
#  2. hub ingest: 8 clients pushing batches of 1,000, into the hub's own
#     group and into a group it only relays;
#  3. convergence: three nodes that each wrote RECORDS records while the hub
#     was away, SYNC_TIMER_MS=100: time until all four agree;
#  4. steady state: two nodes writing RATE records/s each for SECONDS s with
#     SYNC_TIMER_MS=200: how long until a write on one is readable on the
#     other (p50, p99), and what the logs say about 413s and failed rounds.
#
#   bench/sync.sh                                   # everything (about 15 min)
#   HISTORIES="minutes:1440" HUGE=0 MIXED=0 RECORDS=2000 STEADY_SECONDS=10 bench/sync.sh  # quicker
#   HISTORIES="" HUGE=0 bench/sync.sh               # only the mixed 1M join (and 2 - 4)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
BUILD=${BUILD_DIR:-$root/build}
HUGE=${HUGE:-1000000}
MIXED=${MIXED:-1000000}
# Unset: the three spans; set, even to "", exactly what it says.
HISTORIES=${HISTORIES-"minutes:1440 minutes:43200 minutes:525600"}
[ "$HUGE" -gt 0 ] && HISTORIES="$HISTORIES burst:$HUGE"
[ "$MIXED" -gt 0 ] && HISTORIES="$HISTORIES mixed:$MIXED"
RECORDS=${RECORDS:-10000}
RATE=${RATE:-200}
STEADY_SECONDS=${STEADY_SECONDS:-20}
SYNC=${SYNC:-FULL}
cmake --build "$BUILD" -j2 --target crdt-store bench_sync >/dev/null

work=$(mktemp -d /tmp/crdt-sync-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# start_node NAME PORT [VAR=VALUE ...]
start_node() {
  local name=$1 port=$2
  shift 2
  mkdir -p "$work/$name"
  (cd "$work/$name" && exec env HOST=127.0.0.1 PORT="$port" SCHEMA_DIR="$root/schema" \
     DB_SQLITE_FILE="$work/$name/db.sqlite" GROUP_ID=bench SQLITE_SYNCHRONOUS="$SYNC" \
     DEFAULT_ORGANIZATION_ADMIN_PASSWORD=bench-password \
     JWT_SECRET=bench-secret-bench-secret-bench-secret "$@" "$BUILD/crdt-store" >"$work/$name.log" 2>&1) &
  pids+=($!)
  for _ in $(seq 1000); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    sleep 0.01
  done
  echo "sync.sh: $name did not start" >&2
  exit 1
}
rss_of_port() {
  local pid
  pid=$(ss -ltnp "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
  awk '/VmRSS/ {print int($2/1024)}' "/proc/$pid/status"
}
# join HUB_PORT NODE_PORT STARTED: a node that joins the hub's group; prints
# how long it took to hold what the hub holds, and its first rounds.
join() {
  python3 - "$@" <<'PY'
import json, sys, time, urllib.request
hub, node = sys.argv[1], sys.argv[2]
def health(port):
    return json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/health"))
start = float(sys.argv[3])  # when the node was started
while True:
    h, n = health(hub), health(node)
    if h["merkle_hash"] == n["merkle_hash"] and n["pending"] == 0:
        break
    if time.time() - start > 1800:
        sys.exit("join: no convergence within 30 min")
    time.sleep(0.05)
took = time.time() - start
print(f"{took:.2f}")
time.sleep(0.5) # one more round, which finds nothing new
s = health(node)["last_sync"]
print(f"a node's round that finds nothing new: {s['calls']} call(s), "
      f"{s['bytes_sent']} bytes sent, {s['bytes_received']} received ({s['protocol']})",
      file=sys.stderr)
PY
}

echo "== histories (synchronous=$SYNC)"
for history in $HISTORIES; do
  shape=${history%%:*} count=${history##*:}
  hub=$(free_port)
  start_node "hub-$history" "$hub"
  case $shape in
    burst) echo "-- $count messages in one minute" ;;
    mixed) echo "-- $count messages: $((count / 2)) minutes a message each, $((count - count / 2)) in one minute" ;;
    *) echo "-- $count minutes, a message each" ;;
  esac
  if [ "$shape" = mixed ]; then
    "$BUILD/bench/bench_sync" 127.0.0.1 "$hub" bench minutes "$((count / 2))" 21 0 0 \
      | sed 's/^/   /'
    "$BUILD/bench/bench_sync" 127.0.0.1 "$hub" bench burst "$((count - count / 2))" 21 0 0 \
      | sed 's/^/   /'
  else
    "$BUILD/bench/bench_sync" 127.0.0.1 "$hub" bench "$shape" "$count" 21 0 0 \
      | sed 's/^/   /'
  fi
  node=$(free_port)
  started=$(date +%s.%N)
  start_node "join-$history" "$node" SYNC_ENABLED=true SYNC_TIMER_MS=100 \
    SYNC_ENDPOINT="http://127.0.0.1:$hub"
  # The node answers /health once start-up is done, which is when its
  # first sync round starts (app/main.cpp): the join's time after that is
  # the rate it catches up at, without the process start.
  up=$(date +%s.%N)
  took=$(join "$hub" "$node" "$started" 2>"$work/round.txt")
  msgs=$(sqlite3 "$work/join-$history/db.sqlite" "select count(*) from crdt_messages")
  echo "   a new node joined: $msgs messages in $took s from its process start," \
       "$(python3 -c "print(round($msgs / max($took, 0.01)))") messages/s" \
       "($(python3 -c "s=$up-$started; print(f'{s:.2f} s start-up, then {round($msgs / max($took - s, 0.01))} messages/s')"));" \
       "RSS hub $(rss_of_port "$hub") MB, node $(rss_of_port "$node") MB"
  sed 's/^/   then /' "$work/round.txt"
  grep -h "catching up" "$work/join-$history.log" | tail -1 | sed 's/^/   last progress line: /' || true
done

echo "== hub ingest: 8 clients, batches of 1,000"
hub=$(free_port)
start_node hub-ingest "$hub"
echo "-- into the hub's own group (a hub that is a member: every message reaches its tables)"
"$BUILD/bench/bench_sync" 127.0.0.1 "$hub" bench minutes 0 0 8 25 1000 | sed 's/^/   /'
echo "-- into a group it only relays (a hub with a GROUP_ID of its own)"
"$BUILD/bench/bench_sync" 127.0.0.1 "$hub" relayed minutes 0 0 8 25 1000 | sed 's/^/   /'

echo "== convergence: 3 nodes x $RECORDS records written apart, SYNC_TIMER_MS=100"
# write_apart PREFIX HUB_PORT: three nodes (ports in $ports) of the group,
# sync off, each taking RECORDS records while their hub is not there yet.
write_apart() {
  ports=()
  for n in a b c; do
    p=$(free_port)
    ports+=("$p")
    start_node "$1-$n" "$p" SYNC_ENABLED=false SYNC_TIMER_MS=100 \
      SYNC_ENDPOINT="http://127.0.0.1:$2"
  done
  # One JWT_SECRET for the group: a token from any node is valid on all.
  BENCH_TOKEN=$(python3 "$root/bench/token.py" "http://127.0.0.1:${ports[0]}")
  export BENCH_TOKEN
  python3 "$root/bench/write_apart.py" "$RECORDS" "${ports[@]}"
}
hub_port=$(free_port)
write_apart node "$hub_port"
start_node hub "$hub_port"
echo "-- through a hub that is a member of the group"
python3 "$root/bench/converge.py" "$hub_port" "${ports[@]}"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
hub_port=$(free_port)
write_apart relay-node "$hub_port"
start_node relay-hub "$hub_port" GROUP_ID=bench-hub
echo "-- through a hub that only relays it (a GROUP_ID of its own)"
python3 "$root/bench/converge.py" --relay "$hub_port" "${ports[@]}"

echo "== steady state: 2 nodes x $RATE records/s for $STEADY_SECONDS s, SYNC_TIMER_MS=200"
hub=$(free_port)
start_node steady-hub "$hub"
a=$(free_port) b=$(free_port)
start_node steady-a "$a" SYNC_ENABLED=true SYNC_TIMER_MS=200 SYNC_ENDPOINT="http://127.0.0.1:$hub"
start_node steady-b "$b" SYNC_ENABLED=true SYNC_TIMER_MS=200 SYNC_ENDPOINT="http://127.0.0.1:$hub"
python3 "$root/bench/steady.py" "$RATE" "$STEADY_SECONDS" "$a" "$b"
echo "   logs: $(cat "$work"/steady-*.log | grep -c ' 413' || true) answers 413," \
     "$(cat "$work"/steady-*.log | grep -c 'sync with .* failed' || true) failed rounds," \
     "$(cat "$work"/steady-*.log | grep -c 'still differ' || true) 'tries still differ'"
