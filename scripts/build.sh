#!/usr/bin/env bash
# Configures and builds crdt-store into ./build (or $BUILD_DIR).
# BUILD_TYPE=Sanitize builds with ASan + UBSan; TARGET limits what is built.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
# Paths relative to the checkout, so that ccache hits across clones.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build "$build_dir" -j"${JOBS:-2}" ${TARGET:+--target "$TARGET"}
