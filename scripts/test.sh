#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the Boost.Test
# units and the cross-check (CTest), the end-to-end tests, and the
# acceptance suite of the contract.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/install-deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j2)
python3 ../shared/acceptance/acceptance.py --binary build/crdt-store \
  --schema schema --only rest,sync
