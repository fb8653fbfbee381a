#!/usr/bin/env bash
# Compares the load benchmark of this checkout with another revision,
# alternating runs on the same machine so both see the same noise:
#
#   bench/compare.sh 32911fd            # 2 rounds of bench/run.sh each
#   ROUNDS=3 DURATION=5 bench/compare.sh HEAD~3
#
# The other revision is checked out into a temporary git worktree and
# built there (ccache makes repeated builds cheap); it must log in the same
# way, or not need to (revisions before authentication ignore the token).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rev=${1:?usage: bench/compare.sh REVISION}
ROUNDS=${ROUNDS:-2}
other=$(mktemp -d /tmp/crdt-compare.XXXXXX)
cleanup() { git -C "$root" worktree remove --force "$other" 2>/dev/null || rm -rf "$other"; }
trap cleanup EXIT
git -C "$root" worktree add -q --detach "$other" "$rev"
for dir in "$other" "$root"; do
  BUILD_DIR="$dir/build" TARGET=crdt-store "$dir/scripts/build.sh" >/dev/null
done
for round in $(seq "$ROUNDS"); do
  echo "== round $round: $rev"
  # The current scripts drive both binaries, so both see the same load.
  BUILD_DIR="$other/build" "$root/bench/run.sh" | grep -E 'creates:|GET/id:|list 100:|RSS:|ratio:'
  echo "== round $round: this checkout"
  "$root/bench/run.sh" | grep -E 'creates:|GET/id:|list 100:|RSS:|ratio:'
done
