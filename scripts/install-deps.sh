#!/usr/bin/env bash
# Installs the Debian bookworm packages crdt-store needs to build, test and
# benchmark. Does nothing when everything is already there.
set -euo pipefail

# DEPS=build installs only what building the server needs (the Dockerfile's
# build stage); the default also installs what the tests and benchmarks
# use; DEPS=containers what the image test needs (podman, buildah,
# debootstrap, docker-compose).
build_packages=(
  g++ make cmake ccache pkg-config
  libcaf-dev libboost1.81-dev
  rapidjson-dev libsqlite3-dev libsodium-dev libjwt-dev libpq-dev libjemalloc-dev
)
# clang and its runtime libraries: the libFuzzer targets (scripts/fuzz.sh);
# util-linux: prlimit for the descriptor-exhaustion test;
# python3-prometheus-client: its parser checks GET /metrics (test_observe);
# chromium and python3-websocket: the console's test drives a headless
# browser through the DevTools protocol (test_console);
# postgresql-15: the PostgreSQL hub's tests start their own server.
test_packages=(libboost-test1.81-dev python3 python3-prometheus-client sqlite3 wrk curl
               clang libclang-rt-14-dev util-linux chromium python3-websocket
               fonts-dejavu-core postgresql-15)
container_packages=(
  podman buildah runc uidmap slirp4netns fuse-overlayfs
  containernetworking-plugins golang-github-containernetworking-plugin-dnsname
  dnsmasq-base iptables debootstrap docker-compose curl python3
)
case "${DEPS:-all}" in
  build) packages=("${build_packages[@]}") ;;
  containers) packages=("${container_packages[@]}") ;;
  *) packages=("${build_packages[@]}" "${test_packages[@]}") ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
# The cross-check test runs Actual's npm package: any node >= 18 with npm will
# do; only install Debian's when there is none (a newer one may be present).
if [ "${DEPS:-all}" = all ] \
  && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
