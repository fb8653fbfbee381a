#!/usr/bin/env bash
# Installs @actual-app/crdt (pinned by package-lock.json) into the build
# folder, generates random timestamp sets with it, and checks that our
# protocol core computes the same hashes, trie JSON and diffs.
# Usage: run.sh <source-dir-of-this-script> <work-dir> <crosscheck-binary>
set -euo pipefail
src=$1 work=$2 bin=$3
mkdir -p "$work"
cp "$src/package.json" "$src/package-lock.json" "$src/generate.mjs" "$work/"
cd "$work"
if [ ! -d node_modules/@actual-app/crdt ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node generate.mjs generated.json 1200
"$bin" generated.json
