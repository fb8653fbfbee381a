#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the Boost.Test
# units, the cross-check and the end-to-end tests (CTest), the container
# image and compose file (podman), the libFuzzer targets for a bounded time,
# the units, the PostgreSQL store's tests and the acceptance suite again
# under AddressSanitizer + UBSan,
# and the acceptance suite of the contract.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/install-deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j2)
# The image built and run with podman, and docker-compose.yml brought up.
tests/docker/image_test.sh
# libFuzzer targets (clang, ASan, UBSan), 20 s each.
FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh
BUILD_DIR=build-asan BUILD_TYPE=Sanitize TARGET=unit_tests scripts/build.sh
BUILD_DIR=build-asan BUILD_TYPE=Sanitize TARGET=crdt-store scripts/build.sh
# Leak checking is off: actors still alive when a test's actor system is
# torn down are reported as leaks by design. tests/ubsan.supp silences one
# null dereference inside CAF's own header (see the file).
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions="$root/tests/ubsan.supp" \
  build-asan/tests/unit_tests --log_level=error
# The PostgreSQL store's tests too, against their own PostgreSQL server.
BUILD_DIR=build-asan BUILD_TYPE=Sanitize TARGET=pg_tests scripts/build.sh
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions="$root/tests/ubsan.supp" \
  python3 tests/pg/run.py build-asan/tests/pg_tests --log_level=error
# Stopping a node in the middle of a sync, against the sanitized server: a
# use after free during shutdown is a report there, not a matter of luck.
(cd tests/e2e && CRDT_STORE_BINARY="$root/build-asan/crdt-store" \
   CRDT_SCHEMA_DIR="$root/schema" python3 -m unittest test_shutdown)
# The acceptance suite against the sanitized server too: its sanitizer
# options are built in (app/sanitizer_options.cpp), a report stops it, and
# the suite fails on a dead server.
python3 ../shared/acceptance/acceptance.py --binary build-asan/crdt-store \
  --schema schema --only rest,sync,auth
python3 ../shared/acceptance/acceptance.py --binary build/crdt-store \
  --schema schema --only rest,sync,auth
