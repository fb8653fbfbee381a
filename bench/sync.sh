#!/usr/bin/env bash
# Sync benchmarks:
#  1. hub ingest: messages/s accepted by POST /sync in batches of 1,000 from
#     8 concurrent clients into a hub that already holds PRELOAD messages;
#  2. the cost of a sync that finds nothing new and of one that pulls one new
#     message, with 10k, 100k and 1M messages in the group, and the size of
#     the merkle JSON at each size;
#  3. convergence: three nodes each write RECORDS records while the hub is
#     away, then sync every 100 ms; time until all four agree.
#
#   bench/sync.sh                      # everything
#   SIZES="10000 100000" RECORDS=2000 bench/sync.sh   # a quicker run
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
BUILD=${BUILD_DIR:-$root/build}
SIZES=${SIZES:-"10000 100000 1000000"}
RECORDS=${RECORDS:-10000}
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
      BODY_LIMIT=16777216 DEFAULT_ORGANIZATION_ADMIN_PASSWORD=bench-password \
     JWT_SECRET=bench-secret-bench-secret-bench-secret "$@" "$BUILD/crdt-store" >"$work/$name.log" 2>&1) &
  pids+=($!)
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "sync.sh: $name did not start" >&2
  exit 1
}
rss_of_port() {
  local pid
  pid=$(ss -ltnp "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
  awk '/VmRSS/ {print int($2/1024)}' "/proc/$pid/status"
}

echo "== hub: probe and ingest (synchronous=$SYNC)"
for size in $SIZES; do
  port=$(free_port)
  start_node "hub$size" "$port"
  clients=0
  [ "$size" = "$(echo "$SIZES" | awk '{print $NF}')" ] && clients=8
  echo "-- $size messages in the group"
  "$BUILD/bench/bench_sync" 127.0.0.1 "$port" bench "$size" 21 "$clients" 25 1000
  echo "   hub RSS $(rss_of_port "$port") MB"
done

echo "== convergence: 3 nodes x $RECORDS records written apart, SYNC_TIMER_MS=100"
hub_port=$(free_port)
ports=()
for n in a b c; do
  p=$(free_port)
  ports+=("$p")
  start_node "node-$n" "$p" SYNC_ENABLED=false SYNC_TIMER_MS=100 \
    SYNC_ENDPOINT="http://127.0.0.1:$hub_port"
done
# One JWT_SECRET for the group: a token from any node is valid on all.
BENCH_TOKEN=$(python3 "$root/bench/token.py" "http://127.0.0.1:${ports[0]}")
export BENCH_TOKEN
python3 - "$RECORDS" "${ports[@]}" <<'PY'
import http.client, json, os, sys, threading
records, ports = int(sys.argv[1]), sys.argv[2:]
auth = {"Authorization": "Bearer " + os.environ["BENCH_TOKEN"]}
def write(port, worker, count):
    c = http.client.HTTPConnection("127.0.0.1", int(port))
    for i in range(count):
        body = json.dumps({"data": {"first_name": f"{port}-{worker}-{i}", "last_name": "apart"}})
        c.request("POST", "/store/contacts", body, {"Content-Type": "application/json", **auth})
        r = c.getresponse(); r.read()
        assert r.status == 201, r.status
threads = [threading.Thread(target=write, args=(p, w, records // 4)) for p in ports for w in range(4)]
[t.start() for t in threads]; [t.join() for t in threads]
PY
start_node hub "$hub_port"
python3 - "$hub_port" "${ports[@]}" <<'PY'
import http.client, json, os, sys, time
hub, nodes = sys.argv[1], sys.argv[2:]
auth = {"Authorization": "Bearer " + os.environ["BENCH_TOKEN"]}
def call(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=120)
    c.request(method, path, json.dumps(body) if body else None, {"Content-Type": "application/json", **auth})
    r = c.getresponse(); data = r.read(); c.close()
    return json.loads(data)
start = time.time()
for p in nodes:
    call(p, "POST", "/store/config/config_sync/SYNC_ENABLED", {"data": {"value": "true"}})
while True:
    hs = [call(p, "GET", "/health") for p in [hub] + nodes]
    if len({h["merkle_hash"] for h in hs}) == 1 and all(h["pending"] == 0 for h in hs):
        break
    if time.time() - start > 600:
        sys.exit("no convergence within 600 s")
    time.sleep(0.05)
took = time.time() - start
rows = len(call(hub, "GET", "/store/contacts?pluck=id")["data"])
print(f"converged in {took:.1f} s: {rows} records on every node, merkle {hs[0]['merkle_hash']}")
PY
