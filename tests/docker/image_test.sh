#!/usr/bin/env bash
# Builds the image from the tracked files of this checkout with podman and
# tries it the way a user would: the container answers, runs as a non-root
# user, passes its HEALTHCHECK, keeps a record on its volume across a
# restart and a replacement; then docker-compose.yml (hub and two nodes,
# secrets from files) comes up with the nodes waiting for a healthy hub,
# and a record written on one node is read on the other.
#
# Runs as root. Installs podman, buildah, debootstrap and docker-compose
# from Debian (scripts/install-deps.sh DEPS=containers). Without a
# registry, the base image debian:bookworm-slim is made with
# `debootstrap --variant=minbase`. Nothing on the system is reconfigured:
# what this sandbox needs (ulimits, the runtime) is passed as flags or in
# a containers.conf of its own, named by CONTAINERS_CONF.
#
# Prints the build time, the image and binary sizes, and
# "docker image: N passed, M failed".
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
DEPS=containers "$root/scripts/install-deps.sh"

work=$(mktemp -d /tmp/crdt-image.XXXXXX)
project=crdtimg$$
name=crdt-image-test-$$
volume=crdt-image-data-$$
passed=0 failed=0
svc_pid="" health_pid=""
cleanup() {
  [ -n "$health_pid" ] && kill "$health_pid" 2>/dev/null || true
  if [ -d "$work/src" ]; then
    (cd "$work/src" && docker-compose -p "$project" down -v >/dev/null 2>&1) || true
  fi
  podman rm -f "$name" >/dev/null 2>&1 || true
  podman volume rm -f "$volume" >/dev/null 2>&1 || true
  [ -n "$svc_pid" ] && kill "$svc_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so that an interrupted run still cleans up

# Containers of an earlier run that was killed before its cleanup would
# hold the compose ports: remove those whose test process is gone.
for p in $(podman ps -a --format '{{index .Labels "com.docker.compose.project"}}' 2>/dev/null \
             | grep -E '^crdtimg[0-9]+$' | sort -u); do
  kill -0 "${p#crdtimg}" 2>/dev/null && continue
  podman ps -a -q --filter "label=com.docker.compose.project=$p" | xargs -r podman rm -f >/dev/null 2>&1 || true
  podman volume ls -q | grep "^${p}_" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
done

check() { # name, command...
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "PASS $what"
  else
    failed=$((failed + 1))
    echo "FAIL $what"
  fi
}

# What containers here need: open files and processes within this
# sandbox's own limits, for `podman run` and for the API service alike.
cat >"$work/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
EOF
export CONTAINERS_CONF="$work/containers.conf"

# -- the base image -------------------------------------------------------------
if ! podman image exists debian:bookworm-slim; then
  if ! timeout 30 podman pull -q docker.io/library/debian:bookworm-slim >/dev/null 2>&1; then
    echo "image: no registry; making debian:bookworm-slim with debootstrap"
    debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >/dev/null
    tar -C "$work/rootfs" -c . | podman import -q - debian:bookworm-slim >/dev/null
    rm -rf "$work/rootfs"
  fi
fi

# A machine that cannot start any container at all (no namespaces, no
# overlay) cannot run this test: say so loudly instead of failing on the
# project's account. Anything after this point that fails is a failure.
if ! probe=$(podman run --rm debian:bookworm-slim true 2>&1); then
  echo "docker image: SKIPPED, this machine cannot run containers: $probe"
  exit 0
fi

# -- the image, from the tracked files only (as a clean clone has them) --------
mkdir -p "$work/src"
(cd "$root" && git ls-files -z | xargs -0 cp --parents -t "$work/src")
start=$(date +%s)
podman build -q --format docker -t crdt-store "$work/src" >"$work/build.log" 2>&1 \
  || { tail -30 "$work/build.log"; echo "docker image: 0 passed, 1 failed"; exit 1; }
echo "image: built in $(($(date +%s) - start)) s"
image_mb=$(podman image inspect crdt-store --format '{{.Size}}' | awk '{printf "%.0f", $1 / 1048576}')
binary_bytes=$(podman run --rm --entrypoint stat crdt-store -c %s /usr/local/bin/crdt-store 2>>"$work/podman.log")
echo "image: $image_mb MB, the server binary $((binary_bytes / 1024)) KB"
# Stripped, the server is a few MB (with debug information, about 60).
check "the binary in the image is stripped" test "$binary_bytes" -lt $((10 * 1048576))

# -- one container ----------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
password=image-test-password
# Podman complains on stderr that it cannot register the HEALTHCHECK with
# systemd (absent here); that goes to a log of its own.
quiet() { "$@" >/dev/null 2>>"$work/podman.log"; }
run_node() {
  quiet podman run -d --name "$name" -p "127.0.0.1:$port:3060" -v "$volume:/data" \
    -e DEFAULT_ORGANIZATION_ADMIN_PASSWORD="$password" crdt-store
}
wait_health() {
  for _ in $(seq 100); do
    curl -fsS "$url/health" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  podman logs "$name" | tail -20
  return 1
}
token() {
  curl -fsS -XPOST "$url/auth/login" \
    -d "{\"data\":{\"email\":\"admin@example.com\",\"password\":\"$password\"}}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["token"])'
}
run_node
check "the container answers /health" wait_health
check "it runs as the unprivileged user crdt" test "$(podman exec "$name" id -un)" = crdt
check "its HEALTHCHECK passes" podman healthcheck run "$name"
tok=$(token)
id=$(curl -fsS -XPOST -H "Authorization: Bearer $tok" "$url/store/contacts" \
  -d '{"data":{"first_name":"Kept"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
read_back() {
  curl -fsS -H "Authorization: Bearer $(token)" "$url/store/contacts/$id" | grep -q '"first_name":"Kept"'
}
check "a record is written and read" read_back
still_there() { wait_health && read_back; }
quiet podman restart -t 10 "$name"
check "the record survives a restart" still_there
quiet podman rm -f "$name"
run_node
check "the record survives a new container on the same volume" still_there
quiet podman rm -f "$name"

# -- docker-compose.yml through podman's Docker API -------------------------------
"$work/src/scripts/make-secrets.sh" "$work/src/secrets" >/dev/null
podman system service --time=0 "unix://$work/podman.sock" >"$work/service.log" 2>&1 &
svc_pid=$!
export DOCKER_HOST="unix://$work/podman.sock"
for _ in $(seq 50); do [ -S "$work/podman.sock" ] && break; sleep 0.1; done
# Podman runs HEALTHCHECKs from systemd timers, which a sandbox without
# systemd lacks: run the checks of starting containers here instead.
(while true; do
   for c in $(podman ps --filter "label=com.docker.compose.project=$project" --format '{{.Names}}'); do
     podman healthcheck run "$c" >/dev/null 2>&1 || true
   done
   sleep 1
 done) &
health_pid=$!
cd "$work/src"
compose_up() { timeout 180 docker-compose -p "$project" up -d >>"$work/compose.log" 2>&1; }
check "compose brings up the hub and, once it is healthy, both nodes" compose_up
in_node() { # service, curl arguments...
  local svc=$1
  shift
  podman exec "${project}_${svc}_1" curl -fsS "$@"
}
admin=$(cat secrets/admin_password)
# compose returns once the nodes are started, not once they listen, and a
# node learns its admin account from the hub's first sync: log in until it
# works (a minute at most).
node_token() {
  local token
  for _ in $(seq 60); do
    token=$(in_node "$1" -XPOST http://127.0.0.1:3060/auth/login \
      -d "{\"data\":{\"email\":\"admin@example.com\",\"password\":\"$admin\"}}" 2>/dev/null \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["token"])' 2>/dev/null) \
      && [ -n "$token" ] && { echo "$token"; return 0; }
    sleep 1
  done
  return 1
}
ta=$(node_token node-a || true)
tb=$(node_token node-b || true)
check "the admin password from the secret file logs in on both nodes" test -n "$ta" -a -n "$tb"
if [ -z "$ta" ] || [ -z "$tb" ]; then
  for svc in hub node-a node-b; do
    echo "--- $svc: last lines of its log"
    podman logs --tail 30 "${project}_${svc}_1" 2>&1 | sed 's/^/  /'
  done
fi
rec=$(in_node node-a -XPOST -H "Authorization: Bearer $ta" http://127.0.0.1:3060/store/contacts \
  -d '{"data":{"first_name":"Crossed"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])' || true)
crossed() {
  for _ in $(seq 60); do
    in_node node-b -H "Authorization: Bearer $tb" "http://127.0.0.1:3060/store/contacts/$rec" 2>/dev/null \
      | grep -q Crossed && return 0
    sleep 1
  done
  return 1
}
check "a record written on node-a is read on node-b" crossed
timeout 120 docker-compose -p "$project" down >>"$work/compose.log" 2>&1
compose_up || true
tb=$(node_token node-b || true)
check "after down and up, node-b still holds it" crossed
echo "docker image: $passed passed, $failed failed"
[ "$failed" = 0 ]
