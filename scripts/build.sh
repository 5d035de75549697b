#!/usr/bin/env bash
# Configures and builds mpq into build/ (Release, Ninja, ccache). Extra args go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${MPQ_BUILD_DIR:-build}
export CCACHE_BASEDIR="$PWD"  # share the compiler cache between checkouts
JOBS=${MPQ_JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
