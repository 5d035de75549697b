#!/usr/bin/env bash
# Nsight Compute on one int8 resnet18_cifar batch (run on the GPU machine after
# `scripts/gpu_test.sh run` made /tmp/fm): launch stats, occupancy, warp stalls per kernel.
# Usage: gpu_ncu.sh OUTFILE [MODEL] [PRECISION]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -x "$ROOT/../bin/mpq_gpu" ]; then B=$(cd "$ROOT/.." && pwd); else B=$ROOT/gpu_bundle; fi
M=${2:-resnet18_cifar}
shape=3x32x32; [ "$M" = mnist_naive ] && shape=1x28x28
export LD_LIBRARY_PATH=$B/lib:${LD_LIBRARY_PATH:-}
MPQ_DEBUG=${MPQ_DEBUG:-cuda-tile=tc_u8_64x64x64_w2x2_s4,cuda-warmup-ms=0} \
ncu --clock-control none --section SpeedOfLight --section LaunchStats --section Occupancy \
  --section WarpStateStats --section SchedulerStats --launch-skip "${SKIP:-14}" --launch-count "${COUNT:-30}" \
  "$B/bin/mpq_gpu" bench --model "$B/models/$M.onnx" --data /tmp/fm/test_$shape.npy \
  --calib "$B/models/${M}_calib.json" --precisions "${3:-int8}" --limit 128 --iters 1 >"$1" 2>&1
grep -E "igemm|maxpool|convert|pool_kernel|Duration|Registers Per|Achieved Occupancy|Theoretical Occupancy|Stall|Issue Slots|Warp Cycles Per Issued|No Eligible|Block Limit" "$1" | head -150
