#!/usr/bin/env bash
# Calibration cost against inference (the target: calibrating resnet18_cifar on 1000 images
# costs <= 1.5x running those images through the fp32 engine).
#
#   bench/calib/calib_bench.sh [MODEL] [ROUNDS]      (defaults: resnet18_cifar 5)
#
# Each round times, back to back, whole commands as a user runs them (model/engine load, data
# open, 1000 images at batch 32):
#   run:         mpq run --engine fp32.mpqe --data fashion-mnist:train --limit 1000 --batch 32
#   calibrate:   mpq calibrate --method entropy --calib-images 1000 (default executor: the CPU
#                fp32 engine with a step observer)
#   reference:   the same with --executor reference (first round only: it is slow)
# and prints the medians and the ratios. MPQ (default build/mpq) picks the binary; the model is
# the zoo's (untrained: the cost does not depend on the weights).
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:-resnet18_cifar}
ROUNDS=${2:-5}
MPQ=${MPQ:-$PWD/build/mpq}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}  # no spinning between steps on a busy machine
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DATA=(--data fashion-mnist:train)

"$MPQ" zoo "$MODEL" -o "$WORK/m.onnx" >/dev/null
"$MPQ" build --model "$WORK/m.onnx" --batch 32 -o "$WORK/fp32.mpqe" >/dev/null

secs() {  # wall seconds of a command (its output discarded)
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { echo "calib_bench: failed: $*" >&2; exit 1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

run_t=() cal_t=() ref_t=()
for r in $(seq "$ROUNDS"); do
  run_t+=("$(secs "$MPQ" run --engine "$WORK/fp32.mpqe" "${DATA[@]}" --limit 1000 --batch 32 --json)")
  cal_t+=("$(secs "$MPQ" calibrate --model "$WORK/m.onnx" "${DATA[@]}" --method entropy \
    --calib-images 1000 --batch 32 --quiet -o "$WORK/c.json")")
  if [ "$r" = 1 ]; then
    ref_t+=("$(secs "$MPQ" calibrate --model "$WORK/m.onnx" "${DATA[@]}" --method entropy \
      --calib-images 1000 --batch 32 --executor reference --quiet -o "$WORK/r.json")")
  fi
  echo "round $r: run ${run_t[-1]} s, calibrate ${cal_t[-1]} s" >&2
done

python3 - "${run_t[*]}" "${cal_t[*]}" "${ref_t[*]}" "$MODEL" "$(nproc)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import statistics, sys
run, cal, ref = ([float(x) for x in a.split()] for a in sys.argv[1:4])
model, cores, load = sys.argv[4:7]
m_run, m_cal, m_ref = statistics.median(run), statistics.median(cal), statistics.median(ref)
print(f"| model | {model} ({cores} cores, load {load}, {len(run)} rounds, medians) |")
print("|---|---|")
print(f"| fp32 engine run, 1000 images | {m_run:.2f} s |")
print(f"| calibrate (entropy, engine executor) | {m_cal:.2f} s = **{m_cal / m_run:.2f}x** the run |")
print(f"| calibrate (entropy, reference executor) | {m_ref:.2f} s = {m_ref / m_run:.2f}x the run |")
PY
