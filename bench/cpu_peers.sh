#!/usr/bin/env bash
# CPU peer benchmark, in ONE run on this machine: mnist_naive and resnet18_cifar
# trained 1 epoch on Fashion-MNIST with Debian's PyTorch, at batch 128 on 2 threads, median of
# ITERS runs after WARMUP runs (the best of ROUNDS rounds, as bench/peers does on this shared
# machine):
#   mpq fp32 / bf16 (16-bit) / int8 / mixed (NNI's PTQ example shape)      (mpq build + mpq bench)
#   PyTorch 1.13 fp32 eager and FX static int8 on the onednn engine       (bench/peers/cpu_torch.py)
#   ONNX Runtime 1.30 fp32 and the int8 QDQ model PyTorch exports        (bench/peers/ort_bench.js)
# plus accuracy on the Fashion-MNIST test set per variant, top-1 agreement of each mpq variant with
# the mpq fp32 engine, and the engine load time. Prints one table and writes it into
# bench/RESULTS.md (section "CPU peers").
#
# Usage: bench/cpu_peers.sh [WORK_DIR]   (default bench/work)
# Environment: MPQ (default build/mpq), THREADS (2), BATCH (128), ITERS (30), WARMUP (5),
#   ROUNDS (3), CALIB_METHOD (minmax), CALIB_IMAGES (1000), RESNET_LIMIT (12800 training images
#   for resnet18_cifar: a full epoch takes ~25 min on the 2 shared cores), MODELS, RESULTS (the
#   Markdown file to update; "" = do not write), SKIP_PEERS=1 (reuse the peers' JSON results).
#   OMP_WAIT_POLICY, when set, applies to mpq and PyTorch alike (both use libgomp); on a machine
#   shared with other work, "passive" avoids spinning threads waiting for a descheduled one.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
WORK="${1:-$ROOT/bench/work}"
MPQ="${MPQ:-$ROOT/build/mpq}"
PY=/usr/bin/python3  # Debian's python with torch 1.13 (not the python3 first on PATH)
PEERS="$HERE/peers"
THREADS="${THREADS:-2}"
BATCH="${BATCH:-128}"
ITERS="${ITERS:-30}"
WARMUP="${WARMUP:-5}"
ROUNDS="${ROUNDS:-3}"
CALIB_METHOD="${CALIB_METHOD:-minmax}"
CALIB_IMAGES="${CALIB_IMAGES:-1000}"
RESNET_LIMIT="${RESNET_LIMIT:-12800}"
MODELS="${MODELS:-mnist_naive resnet18_cifar}"
RESULTS="${RESULTS-$ROOT/bench/RESULTS.md}"
mkdir -p "$WORK"
log() { echo "[cpu_peers $(date +%H:%M:%S)] $*" >&2; }
[ -x "$MPQ" ] || { echo "error: $MPQ is not built (scripts/build.sh)" >&2; exit 1; }
export OMP_NUM_THREADS="$THREADS"

if [ "${SKIP_PEERS:-0}" != 1 ] && [ ! -d "$PEERS/node_modules/onnxruntime-node" ]; then
  log "installing onnxruntime-node (npm install --ignore-scripts)"
  (cd "$PEERS" && npm install --ignore-scripts --no-audit --no-fund >&2)
fi
for shape in 1x28x28 3x32x32; do
  if [ ! -f "$WORK/test_$shape.npy" ]; then
    log "writing $WORK/test_$shape.npy"
    "$PY" "$PEERS/fashion.py" --split test --shape "${shape//x/,}" \
      --images "$WORK/test_$shape.npy" --labels "$WORK/test_labels.npy"
  fi
done

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
results=()
for m in $MODELS; do
  if [ "$m" = mnist_naive ]; then shape=1x28x28; limit=0; else shape=3x32x32; limit=$RESNET_LIMIT; fi
  onnx="$WORK/$m.onnx"
  if [ ! -f "$WORK/$m.pt" ] || [ ! -f "$onnx" ]; then
    log "training $m (limit $limit; log in $WORK/train_$m.log)"
    "$PY" "$PEERS/train_torch.py" --model "$m" --limit "$limit" --threads "$THREADS" \
      --weights "$WORK/$m.pt" --onnx "$onnx" --json "$WORK/train_$m.json" \
      >"$WORK/train_$m.log" 2>&1 || { tail -5 "$WORK/train_$m.log"; exit 1; }
  fi

  # --- mpq: calibrate once (CALIB_IMAGES training images), build four engines
  log "mpq calibrate $m ($CALIB_METHOD, $CALIB_IMAGES train images)"
  "$MPQ" calibrate --model "$onnx" --data fashion-mnist:train --method "$CALIB_METHOD" \
    --calib-images "$CALIB_IMAGES" --cache "$WORK/calib_cache_$m.json" --quiet \
    -o "$WORK/calib_$m.json" >&2
  # The mixed config in NNI's PTQ example shape: mnist_naive conv1 8, conv2 32, fc1 16, fc2 8;
  # resnet18_cifar: the first conv 32 and fc 16 bits, every other conv 8.
  if [ "$m" = mnist_naive ]; then
    cat >"$WORK/mixed_$m.json" <<'JSON'
[{"quant_types": ["input", "weight", "output"], "quant_bits": 8, "op_names": ["conv1", "fc2"]},
 {"quant_types": ["input", "weight", "output"], "quant_bits": 32, "op_names": ["conv2"]},
 {"quant_types": ["input", "weight", "output"], "quant_bits": 16, "op_names": ["fc1"]}]
JSON
  else
    cat >"$WORK/mixed_$m.json" <<'JSON'
[{"quant_types": ["input", "weight", "output"], "quant_bits": 8, "op_types": ["Conv2d"]},
 {"quant_types": ["input", "weight", "output"], "quant_bits": 32, "op_names": ["conv1"]},
 {"quant_types": ["input", "weight", "output"], "quant_bits": 16, "op_names": ["fc"]}]
JSON
  fi
  for v in fp32 bf16 int8 mixed; do
    case $v in
      fp32) args=() ;;
      bf16) args=(--default-precision bf16) ;;
      int8) args=(--calib "$WORK/calib_$m.json") ;;
      mixed) args=(--calib "$WORK/calib_$m.json" --config "$WORK/mixed_$m.json") ;;
    esac
    "$MPQ" build --model "$onnx" "${args[@]}" --batch "$BATCH" --threads "$THREADS" \
      -o "$WORK/${m}_$v.mpqe" >"$WORK/build_${m}_$v.log" 2>&1 ||
      { cat "$WORK/build_${m}_$v.log" >&2; exit 1; }
    "$MPQ" inspect "$WORK/${m}_$v.mpqe" --json >"$WORK/inspect_${m}_$v.json"
    "$MPQ" inspect "$WORK/${m}_$v.mpqe" >"$WORK/inspect_${m}_$v.txt"
    # Accuracy on the test set and the outputs (for top-1 agreement with fp32).
    "$MPQ" run --engine "$WORK/${m}_$v.mpqe" --data fashion-mnist:test --json \
      -o "$WORK/out_${m}_$v.npy" >"$WORK/acc_${m}_$v.json"
  done
  # Engine load time: 7 loads of the int8 engine (the file is in the page cache).
  for i in 1 2 3 4 5 6 7; do
    "$MPQ" inspect "$WORK/${m}_int8.mpqe" --json >"$WORK/load_${m}_$i.json"
  done

  # --- timing, side by side: mpq variants, then the peers
  for v in fp32 bf16 int8 mixed; do
    log "mpq $v $m"
    "$MPQ" bench --engine "$WORK/${m}_$v.mpqe" --batch "$BATCH" --threads "$THREADS" \
      --iters "$ITERS" --warmup "$WARMUP" --rounds "$ROUNDS" --json --name "$m" \
      --variant "mpq $v" >"$WORK/bench_${m}_$v.json"
    results+=("$WORK/bench_${m}_$v.json")
  done
  "$MPQ" bench --engine "$WORK/${m}_int8.mpqe" --batch "$BATCH" --threads "$THREADS" \
    --iters 10 --warmup 2 --profile >"$WORK/profile_${m}_int8.txt"
  "$MPQ" bench --engine "$WORK/${m}_fp32.mpqe" --batch "$BATCH" --threads "$THREADS" \
    --iters 10 --warmup 2 --profile >"$WORK/profile_${m}_fp32.txt"
  if [ "${SKIP_PEERS:-0}" != 1 ]; then
    log "PyTorch fp32 + FX int8 (onednn) for $m"
    "$PY" "$PEERS/cpu_torch.py" --model "$m" --weights "$WORK/$m.pt" --threads "$THREADS" \
      --batch "$BATCH" --iters "$ITERS" --warmup "$WARMUP" --rounds "$ROUNDS" \
      --onnx-int8 "$WORK/${m}_int8.onnx" --json "$WORK/cpu_torch_$m.json" \
      2>"$WORK/cpu_torch_$m.log" >&2
    for v in fp32 int8; do
      f="$onnx"
      [ $v = int8 ] && f="$WORK/${m}_int8.onnx"
      log "ONNX Runtime $v for $m"
      node "$PEERS/ort_bench.js" --model "$f" --name "$m" \
        --variant "ort $v$([ $v = int8 ] && echo ' qdq')" --batch "$BATCH" --threads "$THREADS" \
        --iters "$ITERS" --warmup "$WARMUP" --rounds "$ROUNDS" --images "$WORK/test_$shape.npy" \
        --labels "$WORK/test_labels.npy" --json "$WORK/ort_${v}_$m.json" >&2
    done
  fi
  results+=("$WORK/cpu_torch_$m.json" "$WORK/ort_fp32_$m.json" "$WORK/ort_int8_$m.json")
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" "$HERE/cpu_peers_table.py" --work "$WORK" --models $MODELS --load-start "$LOAD_START" \
  --load-end "$LOAD_END" --mpq "$MPQ" --threads "$THREADS" --batch "$BATCH" --iters "$ITERS" \
  --warmup "$WARMUP" --rounds "$ROUNDS" --calib "$CALIB_METHOD, $CALIB_IMAGES train images" \
  ${RESULTS:+--results "$RESULTS"} "${results[@]}"
