#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for slotlab and builds everything.
#   scripts/setup.sh [build-dir]
# Installs only Debian packages (nothing vendored, nothing downloaded at build time), then
# configures and builds with CMake. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}

packages=(
  build-essential cmake g++ pkg-config
  catch2 libfmt-dev librange-v3-dev nlohmann-json3-dev
  pybind11-dev python3-pybind11 python3-dev python3-pytest python3-redis
  redis-server redis-tools
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's redis-server package may start a service on 6379 on machines with systemd; slotlab's
# tests never use that port, so it is left alone.

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
