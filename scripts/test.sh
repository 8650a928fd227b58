#!/usr/bin/env bash
# Sets up, builds and runs every test (the README's test command; .ci/run calls it).
#   scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
cd build
ctest --output-on-failure -j "$(nproc)" -LE swarm "$@"
