#!/usr/bin/env bash
# The hub-on-PostgreSQL end-to-end tests with more seeds than CI runs
# (PG_HUB_SEEDS, default 20): three nodes through two hub processes behind a
# random balancer that drops answers; plus the fault and outage tests.
# Usage: scripts/pg-hub-long.sh [build dir]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build=${1:-$root/build}
cd "$root/tests/e2e"
PG_HUB_SEEDS=${PG_HUB_SEEDS:-20} CRDT_STORE_BINARY="$build/crdt-store" \
  CRDT_SCHEMA_DIR="$root/schema" PYTHONDONTWRITEBYTECODE=1 \
  python3 -m unittest -v test_pg_hub
