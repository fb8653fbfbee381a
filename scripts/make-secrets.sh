#!/usr/bin/env bash
# Creates the group's secrets for docker-compose.yml in ./secrets (or $1):
# the admin password, the token key and the /sync secret, each a random
# value in a file of its own; for the `pg` profile, PostgreSQL's password and
# the hub processes' HUB_DATABASE_URL that holds it. Existing files are kept, so running it again
# never changes a group's secrets.
set -euo pipefail
dir=${1:-"$(cd "$(dirname "$0")/.." && pwd)/secrets"}
mkdir -p "$dir"
chmod 700 "$dir" # the folder keeps other users of this machine out
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
for name in admin_password jwt_secret sync_secret pg_password hub_database_url; do
  file="$dir/$name"
  [ -s "$file" ] && continue
  case $name in
    admin_password) random_hex 12 >"$file" ;;
    hub_database_url)
      printf 'postgresql://postgres:%s@postgres:5432/crdt_hub' "$(cat "$dir/pg_password")" >"$file" ;;
    *) random_hex 32 >"$file" ;;
  esac
  # Readable inside the containers, which run as an unprivileged user and
  # see the file bind-mounted without its folder.
  chmod 444 "$file"
  echo "make-secrets: wrote $file"
done
