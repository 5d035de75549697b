#!/usr/bin/env bash
# Soak benchmark (not CI): 1,000,000 inferences of the mnist_naive int8 engine at batch 1 through
# one ExecutionContext, VmRSS sampled every 100,000 (bench/RESULTS.md, "Soak").
#   bench/soak.sh [RUNS]      (MPQ_BUILD_DIR: the build folder, default build)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-1000000}
B=${MPQ_BUILD_DIR:-build}
W=bench/work/soak
mkdir -p "$W"
"$B/mpq" zoo mnist_naive -o "$W/m.onnx" >/dev/null
"$B/mpq" calibrate --model "$W/m.onnx" --data fashion-mnist:train --method minmax \
  --calib-images 500 --quiet -o "$W/calib.json" >/dev/null
"$B/mpq" build -m "$W/m.onnx" --calib "$W/calib.json" --batch 1 --threads 1 -o "$W/int8.mpqe"
OMP_NUM_THREADS=1 "$B/bench/mpq_soak_bench" "$W/int8.mpqe" --runs "$RUNS" --every 100000
