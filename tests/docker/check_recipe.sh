#!/usr/bin/env bash
# No Docker engine runs here, so CI checks the image recipe on the host:
# every runtime package the Dockerfile installs exists in Debian, and
# together they provide every shared library the built binary links.
# Usage: check_recipe.sh <source-dir> <crdt-store binary>
set -euo pipefail
src=$1 bin=$2
mapfile -t pkgs < <(grep -v '^#' "$src/scripts/runtime-packages.txt" | grep -v '^$')
fail=0
for p in "${pkgs[@]}"; do
  if ! apt-cache show "$p" >/dev/null 2>&1 && ! dpkg -s "$p" >/dev/null 2>&1; then
    echo "runtime package $p is unknown to apt"; fail=1
  fi
done
# Packages of debian:bookworm-slim itself need not be listed.
base="libc6 libgcc-s1 libstdc++6"
while read -r lib; do
  # dpkg knows a file under one of its /lib or /usr/lib names (usrmerge).
  owner=$( { dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null \
             || dpkg -S "/usr$lib" 2>/dev/null || true; } | head -1 | cut -d: -f1)
  if [ -z "$owner" ]; then
    echo "no Debian package owns $lib"; fail=1; continue
  fi
  case " ${pkgs[*]} $base " in
    *" $owner "*) ;;
    *) echo "the runtime stage lacks $owner (for $lib)"; fail=1 ;;
  esac
done < <(ldd "$bin" | awk '$3 ~ /^\// {print $3}')
grep -q "DEPS=build scripts/install-deps.sh" "$src/Dockerfile" || { echo "Dockerfile does not use install-deps.sh"; fail=1; }
grep -q "scripts/build.sh" "$src/Dockerfile" || { echo "Dockerfile does not use build.sh"; fail=1; }
if [ "$fail" = 0 ]; then echo "docker recipe: 1 passed, 0 failed"; else echo "docker recipe: 0 passed, 1 failed"; fi
exit "$fail"
