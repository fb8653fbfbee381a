#!/usr/bin/env bash
# Builds the libFuzzer targets with clang, AddressSanitizer and UBSan, and
# runs each for FUZZ_SECONDS (default 20: the CI run; give it 600 or more
# before a release). Each target starts from its corpus in tests/fuzz/corpus
# (read-only: new inputs go to a scratch copy; KEEP_CORPUS=1 merges them
# back). A crash stops the script with the failing input saved under
# build-fuzz/artifacts: add it to the corpus and as a regression test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
BUILD_DIR=${BUILD_DIR:-build-fuzz}
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
targets="fuzz_record_body fuzz_timestamp fuzz_merkle_json fuzz_sync_body fuzz_target fuzz_http_head fuzz_definition"
cmake -S . -B "$BUILD_DIR" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Fuzz \
  -DBUILD_TESTING=OFF -DCRDT_BUILD_BENCH=OFF -DCRDT_BUILD_FUZZ=ON >/dev/null
# shellcheck disable=SC2086
cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target $targets
mkdir -p "$BUILD_DIR/artifacts"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions="$root/tests/ubsan.supp"
for t in $targets; do
  scratch="$BUILD_DIR/corpus/$t"
  rm -rf "$scratch" && mkdir -p "$scratch"
  cp tests/fuzz/corpus/"$t"/* "$scratch"/
  echo "fuzz.sh: $t for ${FUZZ_SECONDS}s"
  "$BUILD_DIR/tests/fuzz/$t" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$BUILD_DIR/artifacts/$t-" "$scratch" 2>"$BUILD_DIR/$t.log" \
    || { tail -40 "$BUILD_DIR/$t.log"; echo "fuzz.sh: $t failed (input in $BUILD_DIR/artifacts)"; exit 1; }
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$BUILD_DIR/$t.log" | tr '\n' ' '
  echo
  if [ "${KEEP_CORPUS:-0}" = 1 ]; then
    "$BUILD_DIR/tests/fuzz/$t" -merge=1 tests/fuzz/corpus/"$t" "$scratch" 2>/dev/null
  fi
done
echo "fuzz.sh: every target ran ${FUZZ_SECONDS}s without a finding"
