#!/usr/bin/env bash
# The README's first command: installs packages, builds, runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
BUILD_DIR=${MPQ_BUILD_DIR:-build}
mkdir -p out
"$BUILD_DIR"/mpq zoo mnist_naive -o out/mnist_naive.onnx
"$BUILD_DIR"/mpq info out/mnist_naive.onnx
