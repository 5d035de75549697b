#!/usr/bin/env bash
# The README's first command: installs packages, builds, then runs `mpq demo` — NNI's
# quantization-speedup table (all in 32bit / mixed precision / all in 8bit, with QAT and PTQ)
# produced live on this machine for mnist_naive on Fashion-MNIST. Results: out/demo/.
# Extra arguments go to `mpq demo` (e.g. scripts/demo.sh --quick, or --model resnet18_cifar
# --train-limit 5000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
BUILD_DIR=${MPQ_BUILD_DIR:-build}
"$BUILD_DIR"/mpq demo --out out/demo "$@"
