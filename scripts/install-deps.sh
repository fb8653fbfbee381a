#!/usr/bin/env bash
# Installs the Debian bookworm packages crdt-store needs to build, test and
# benchmark. Does nothing when everything is already there.
set -euo pipefail

# DEPS=build installs only what building needs (the Dockerfile's build
# stage); the default also installs what the tests and benchmarks use.
build_packages=(
  g++ make cmake ccache pkg-config
  libcaf-dev libboost1.81-dev libboost-test1.81-dev
  rapidjson-dev libsqlite3-dev libsodium-dev libjwt-dev
)
test_packages=(python3 sqlite3 wrk curl)
packages=("${build_packages[@]}")
[ "${DEPS:-all}" = build ] || packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
# The cross-check test runs Actual's npm package: any node >= 18 with npm will
# do; only install Debian's when there is none (a newer one may be present).
if [ "${DEPS:-all}" != build ] \
  && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
