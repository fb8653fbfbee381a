#!/usr/bin/env bash
# What can go wrong in the compose files, checked without starting them
# (image_test.sh starts them): every setting they give the containers is
# one the server knows (listed by --help), the hub and both nodes share
# the group's settings, every secret is a compose secret read from a file
# (never an environment variable), the nodes wait for a healthy hub, and
# nothing is published beyond loopback by default.
# Usage: check_compose.sh <source-dir> <crdt-store binary>
set -euo pipefail
src=$1 bin=$2
help=$("$bin" --help)
fail=0
problem() { echo "$1"; fail=1; }
for compose in "$src/docker-compose.yml" "$src/docker-compose.single.yml"; do
  name=$(basename "$compose")
  # Upper-case keys indented under an environment block or the group anchor.
  mapfile -t keys < <(grep -E '^\s+[A-Z][A-Z0-9_]*:' "$compose" | sed -E 's/^\s+([A-Z0-9_]+):.*/\1/' | sort -u)
  [ "${#keys[@]}" -ge 3 ] || problem "no settings found in $name"
  for k in "${keys[@]}"; do
    [[ $k == POSTGRES_* ]] && continue # the postgres image's own settings
    grep -qE "^  $k \(default" <<<"$help" || problem "$name sets $k, which crdt-store does not know"
  done
  for k in JWT_SECRET SYNC_SECRET DEFAULT_ORGANIZATION_ADMIN_PASSWORD HUB_DATABASE_URL POSTGRES_PASSWORD; do
    ! grep -qE "^\s+$k:" "$compose" || problem "$name gives $k as an environment variable"
  done
  while read -r line; do
    case $line in
      *'${CRDT_BIND:-127.0.0.1}:'*) ;;
      *) problem "$name publishes a port beyond loopback by default: $line" ;;
    esac
  done < <(grep -E '^\s+ports:' "$compose")
done
compose="$src/docker-compose.yml"
for k in JWT_SECRET_FILE SYNC_SECRET_FILE DEFAULT_ORGANIZATION_ADMIN_PASSWORD_FILE GROUP_ID; do
  grep -qE "^  $k: " "$compose" || problem "$k is not in the group's shared settings"
done
[ "$(grep -c '<<: \*group' "$compose")" = "$(grep -c '<<: \*node' "$compose")" ] \
  || problem "not every crdt-store service takes the group's settings"
[ "$(grep -c 'condition: service_healthy' "$compose")" -ge 2 ] || problem "the nodes do not wait for a healthy hub"
# Profile pg: the hub processes keep the relayed groups in PostgreSQL, have
# groups of their own, and the nodes sync through the balancer.
[ "$(grep -c 'HUB_DATABASE_URL_FILE: /run/secrets/hub_database_url' "$compose")" = 2 ] \
  || problem "the pg profile's hub processes do not both read HUB_DATABASE_URL from a secret"
grep -qE '^\s+GROUP_ID: hub-pg-1$' "$compose" && grep -qE '^\s+GROUP_ID: hub-pg-2$' "$compose" \
  || problem "the pg profile's hub processes do not have groups of their own"
[ "$(grep -c 'SYNC_ENDPOINT: http://balancer:3060' "$compose")" = 2 ] \
  || problem "the pg profile's nodes do not sync through the balancer"
grep -qE 'server hub-pg-1:3060' "$src/config/nginx-hubs.conf" && grep -qE 'server hub-pg-2:3060' "$src/config/nginx-hubs.conf" \
  || problem "config/nginx-hubs.conf does not balance over both hub processes"
for s in admin_password jwt_secret sync_secret pg_password hub_database_url; do
  grep -qE "^\s+file: \./secrets/$s$" "$compose" || problem "secret $s is not read from ./secrets/$s"
done
if [ "$fail" = 0 ]; then echo "docker compose: 1 passed, 0 failed"; else echo "docker compose: 0 passed, 1 failed"; fi
exit "$fail"
