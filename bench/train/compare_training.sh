#!/usr/bin/env bash
# Training side by side on this machine: PyTorch 1.13 (Debian, torch.set_num_threads(2)) and mpq
# (2 OpenMP threads), same model twin, same recipe, same data (Fashion-MNIST), one after the
# other in one run. Prints each one's summary line and a Markdown row for bench/RESULTS.md.
#
#   bench/train/compare_training.sh mnist_naive                 # full epoch + test accuracy
#   bench/train/compare_training.sh resnet18_cifar 6400         # throughput on the first N images
#   MPQ_FLAGS="--optimizer adam --lr 0.001" bench/train/compare_training.sh mnist_naive
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:?model: mnist_naive or resnet18_cifar}
LIMIT=${2:-0}
MPQ=${MPQ:-build/mpq}
OUT=${OUT:-/tmp/mpq_train_bench}
mkdir -p "$OUT"
case "$MODEL" in
  mnist_naive) RECIPE="--lr 0.01 --momentum 0.5" ;;
  resnet18_cifar) RECIPE="--lr 0.1 --momentum 0.9 --weight-decay 5e-4" ;;
  *) echo "unknown model $MODEL" >&2; exit 2 ;;
esac
LIMIT_TORCH=(); LIMIT_MPQ=(); EVAL_MPQ=(--eval fashion-mnist:test); EVAL_TORCH=()
if [ "$LIMIT" != 0 ]; then
  LIMIT_TORCH=(--limit "$LIMIT" --no-eval); LIMIT_MPQ=(--limit "$LIMIT"); EVAL_MPQ=()
fi
echo "== PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
/usr/bin/python3 bench/peers/train_torch.py --model "$MODEL" --threads 2 "${LIMIT_TORCH[@]}" \
  --json "$OUT/torch_$MODEL.json" | tail -1
echo "== mpq"
OMP_NUM_THREADS=2 "$MPQ" train --model "$MODEL" --data fashion-mnist:train "${LIMIT_MPQ[@]}" \
  "${EVAL_MPQ[@]}" $RECIPE ${MPQ_FLAGS:-} --batch 64 --seed 0 -q --json -o "$OUT/mpq_$MODEL.onnx" \
  > "$OUT/mpq_$MODEL.json"
/usr/bin/python3 - "$OUT/torch_$MODEL.json" "$OUT/mpq_$MODEL.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); m = json.load(open(sys.argv[2]))
e = m["epochs"][0]
acc_t = t.get("test_accuracy"); acc_m = m.get("eval", {}).get("accuracy")
f = lambda a: "-" if a is None else f"{100 * a:.2f}%"
print(f"| {t['model']} | {e['samples']} | torch {t['images_per_s']:.0f} img/s ({t['train_seconds']:.1f} s) "
      f"| mpq {e['images_per_s']:.0f} img/s ({e['seconds']:.1f} s) "
      f"| {e['images_per_s'] / t['images_per_s']:.2f}x | torch {f(acc_t)} | mpq {f(acc_m)} |")
PY
