#!/usr/bin/env bash
# Configures and builds a sanitizer build folder with clang-14 (docs/testing.md, "Sanitizers"):
#   scripts/sanitize_build.sh DIR SANITIZERS [TARGET...]
# SANITIZERS is address,undefined (the folder also builds the fuzz targets: MPQ_FUZZ) or thread.
# Only the targets named are built (none: everything). -O1; MPQ_JOBS sets the parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=$1 SAN=$2
shift 2
fuzz=OFF
[ "$SAN" = thread ] || fuzz=ON
export CCACHE_BASEDIR="$PWD"
CC=clang-14 CXX=clang++-14 cmake -S . -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DMPQ_SANITIZE="$SAN" -DMPQ_FUZZ=$fuzz -DMPQ_BENCH=OFF -DMPQ_EXAMPLES=OFF -DMPQ_INSTALL=OFF \
  -DMPQ_PYTHON=OFF >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$DIR" -j "${MPQ_JOBS:-$(nproc)}" "${targets[@]}"
