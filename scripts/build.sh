#!/usr/bin/env bash
# Configures and builds crdt-store into ./build (or $BUILD_DIR).
#   BUILD_TYPE  RelWithDebInfo (default), Release, or Sanitize (ASan + UBSan)
#   TESTS=OFF   leave the tests out (they need Python and Boost.Test)
#   BENCH=OFF   leave the benchmark programs out
#   TARGET      build only this target
#   JOBS        parallel jobs (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
# Paths relative to the checkout, so that ccache hits across clones.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  -DBUILD_TESTING="${TESTS:-ON}" -DCRDT_BUILD_BENCH="${BENCH:-ON}" >/dev/null
cmake --build "$build_dir" -j"${JOBS:-2}" ${TARGET:+--target "$TARGET"}
