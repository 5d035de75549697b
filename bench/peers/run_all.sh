#!/usr/bin/env bash
# Peer benchmark on this CPU machine: trains mnist_naive and resnet18_cifar with Debian's PyTorch
# (1 epoch on Fashion-MNIST, NNI's recipes), exports ONNX, then times at batch 128 on 2 threads
#   PyTorch 1.13 fp32 eager and FX static int8 (onednn engine)   (cpu_torch.py)
#   ONNX Runtime 1.30 fp32 and the int8 QDQ model PyTorch exports (ort_bench.js)
# and prints one table. Usage: bench/peers/run_all.sh [WORK_DIR]   (default bench/work)
# Environment: RESNET_LIMIT (training images for resnet18_cifar; default 12800, 0 = all 60000 —
# a full epoch takes ~17+ minutes on 2 shared cores), RETRAIN=1 (train even if weights exist),
# THREADS (2), BATCH (128), ITERS (30 per round), ROUNDS (3; the best round is reported),
# WAIT_LOAD (e.g. 2.5: before each timed step wait until the 1-minute load average is below it,
# at most WAIT_MAX seconds in all, default 1800; the machine is shared, and under a load of 10+ both
# PyTorch and ONNX Runtime run 5-15x slower).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="${1:-$ROOT/bench/work}"
PY=/usr/bin/python3   # Debian's python with torch 1.13 (not the python3 first on PATH)
THREADS="${THREADS:-2}"
BATCH="${BATCH:-128}"
ITERS="${ITERS:-30}"
ROUNDS="${ROUNDS:-3}"
RESNET_LIMIT="${RESNET_LIMIT:-12800}"
MODELS="${MODELS:-mnist_naive resnet18_cifar}"
mkdir -p "$WORK"
log() { echo "[run_all $(date +%H:%M:%S)] $*" >&2; }
WAIT_LEFT="${WAIT_MAX:-1800}"  # total waiting budget over all steps
wait_quiet() {
  [ -n "${WAIT_LOAD:-}" ] || return 0
  local waited=0
  while awk -v max="$WAIT_LOAD" '{exit !($1 >= max)}' /proc/loadavg; do
    if [ "$WAIT_LEFT" -le 0 ]; then
      log "load still $(cut -d' ' -f1 /proc/loadavg) (waited ${waited}s): measuring anyway"
      return 0
    fi
    sleep 15
    waited=$((waited + 15))
    WAIT_LEFT=$((WAIT_LEFT - 15))
  done
  [ "$waited" -gt 0 ] && log "waited ${waited}s for load < $WAIT_LOAD"
  return 0
}

if [ ! -d "$HERE/node_modules/onnxruntime-node" ]; then
  log "installing onnxruntime-node (npm install --ignore-scripts)"
  (cd "$HERE" && npm install --ignore-scripts --no-audit --no-fund >&2)
fi

for shape in 1x28x28 3x32x32; do
  if [ ! -f "$WORK/test_$shape.npy" ]; then
    log "writing $WORK/test_$shape.npy"
    "$PY" "$HERE/fashion.py" --split test --shape "${shape//x/,}" \
      --images "$WORK/test_$shape.npy" --labels "$WORK/test_labels.npy"
  fi
done

results=()
for m in $MODELS; do
  if [ "$m" = mnist_naive ]; then shape=1x28x28; limit=0; else shape=3x32x32; limit=$RESNET_LIMIT; fi
  if [ "${RETRAIN:-0}" = 1 ] || [ ! -f "$WORK/$m.pt" ] || [ ! -f "$WORK/$m.onnx" ] ||
     [ ! -f "$WORK/train_$m.json" ]; then
    log "training $m (limit $limit; log in $WORK/train_$m.log)"
    "$PY" "$HERE/train_torch.py" --model "$m" --limit "$limit" --threads "$THREADS" \
      --weights "$WORK/$m.pt" --onnx "$WORK/$m.onnx" --json "$WORK/train_$m.json" \
      > "$WORK/train_$m.log" 2>&1 || { tail -5 "$WORK/train_$m.log"; exit 1; }
  fi
  [ -f "$WORK/train_$m.json" ] && log "trained: $(tr -d '\n' < "$WORK/train_$m.json")"
  wait_quiet
  log "PyTorch fp32 + FX int8 (onednn) for $m (load $(cut -d' ' -f1 /proc/loadavg))"
  "$PY" "$HERE/cpu_torch.py" --model "$m" --weights "$WORK/$m.pt" --threads "$THREADS" \
    --batch "$BATCH" --iters "$ITERS" --rounds "$ROUNDS" --onnx-int8 "$WORK/${m}_int8.onnx" \
    --json "$WORK/cpu_torch_$m.json" >&2 2> "$WORK/cpu_torch_$m.log"
  results+=("$WORK/cpu_torch_$m.json")
  for v in fp32 int8; do
    f="$WORK/$m.onnx"; [ $v = int8 ] && f="$WORK/${m}_int8.onnx"
    wait_quiet
    log "ONNX Runtime $v for $m (load $(cut -d' ' -f1 /proc/loadavg))"
    node "$HERE/ort_bench.js" --model "$f" --name "$m" --variant "ort $v$([ $v = int8 ] && echo ' qdq')" \
      --batch "$BATCH" --threads "$THREADS" --iters "$ITERS" --rounds "$ROUNDS" \
      --images "$WORK/test_$shape.npy" --labels "$WORK/test_labels.npy" \
      --json "$WORK/ort_${v}_$m.json" >&2
    results+=("$WORK/ort_${v}_$m.json")
  done
done

echo "batch $BATCH, $THREADS threads, median of $ITERS runs (best of $ROUNDS rounds); $(lscpu | sed -n 's/^Model name: *//p'); load $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" "$HERE/table.py" "${results[@]}"
"$PY" "$HERE/table.py" --md "${results[@]}" > "$WORK/peers_table.md"
