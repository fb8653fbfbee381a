#!/usr/bin/env bash
# The fault suite at full length (the test command runs short versions of the
# same tests): 60 kill -9 of a writing node and its hub at 0.1 - 3 s
# intervals, partitions of 10 s per fault, HTTP abuse at twice the
# CI's connection counts, the full-disk test, and the libFuzzer targets for
# 10 minutes each. Prints each part's figures; README "Reliability" keeps
# the last ones.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
BUILD_DIR=${BUILD_DIR:-build}
export CRDT_STORE_BINARY="$root/$BUILD_DIR/crdt-store" CRDT_SCHEMA_DIR="$root/schema"
cmake --build "$BUILD_DIR" -j2 --target crdt-store >/dev/null
cd tests/e2e
CRASH_ROUNDS=${CRASH_ROUNDS:-60} CRASH_MAX_S=3 python3 -m unittest test_crash_loop
PHASE_S=${PHASE_S:-10} python3 -m unittest test_partitions
ABUSE_SCALE=${ABUSE_SCALE:-2} python3 -m unittest test_abuse
python3 -m unittest test_faults test_http_limits
cd "$root"
FUZZ_SECONDS=${FUZZ_SECONDS:-600} scripts/fuzz.sh
