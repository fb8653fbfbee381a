#!/usr/bin/env bash
# docker-compose.yml cannot be started here (no Docker engine), so CI
# checks what can go wrong in it without one: every setting it gives the
# containers is one the server knows (listed by --help), and the hub and
# both nodes share the group's secrets.
# Usage: check_compose.sh <source-dir> <crdt-store binary>
set -euo pipefail
src=$1 bin=$2
compose="$src/docker-compose.yml"
help=$("$bin" --help)
fail=0
# Upper-case keys indented under an environment block or the group anchor.
mapfile -t keys < <(grep -E '^\s+[A-Z][A-Z0-9_]*:' "$compose" | sed -E 's/^\s+([A-Z0-9_]+):.*/\1/' | sort -u)
[ "${#keys[@]}" -gt 5 ] || { echo "no settings found in $compose"; fail=1; }
for k in "${keys[@]}"; do
  grep -qE "^  $k \(default" <<<"$help" || { echo "docker-compose.yml sets $k, which crdt-store does not know"; fail=1; }
done
for k in JWT_SECRET SYNC_SECRET DEFAULT_ORGANIZATION_ADMIN_PASSWORD GROUP_ID; do
  grep -qE "^  $k: " "$compose" || { echo "$k is not in the group's shared settings"; fail=1; }
done
[ "$(grep -c '<<: \*group' "$compose")" = 3 ] || { echo "not every service takes the group's settings"; fail=1; }
if [ "$fail" = 0 ]; then echo "docker compose: 1 passed, 0 failed"; else echo "docker compose: 0 passed, 1 failed"; fi
exit "$fail"
