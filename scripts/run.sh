#!/usr/bin/env bash
# Installs what is missing, builds, and starts the server on port 3060 with
# its SQLite file under the working directory (db/sql.sqlite). Any setting
# can be given as an environment variable or flag (see --help).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
export SCHEMA_DIR=${SCHEMA_DIR:-$root/schema}
exec "$root/build/crdt-store" "$@"
