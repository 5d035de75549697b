#!/usr/bin/env bash
# QDQ ONNX import and export through the CLI. Usage: qdq_cli.sh MODE MPQ_BINARY WORK_DIR [TRAINED]
#   models  hand-built QDQ models (make_qdq_models.py): uint8 and int8 activations with zero
#           points, per-channel and per-tensor weights build int8 with source "qdq" and match the
#           reference executor running the Q/DQ nodes; each bad model exits 2 naming its node with
#           no output left; --lenient builds the unhonourable ones in float with a manifest note.
#   torch   TRAINED (an mnist_naive ONNX) quantized by PyTorch FX (fbgemm), its QDQ export built by
#           mpq: top-1 equal to PyTorch's int8 model on >= 99% of the Fashion-MNIST test set.
#   ort     TRAINED calibrated and exported by `mpq export-qdq`: ONNX Runtime (onnxruntime-node,
#           tests/qdq/node_modules from scripts/setup.sh) agrees with mpq's int8 engine on >= 99%
#           of the test set, and the export imported back builds an engine with the same outputs;
#           the same for resnet18_cifar (batch norm, residual sums) on 500 test images.
#   train   writes TRAINED: mnist_naive trained by `mpq train` (Adam, 12000 images, about 82% top-1),
#           shared by the torch and ort modes (a ctest fixture).
# Exit 77 (skip) when the mode's tools are missing (python3-torch, onnxruntime-node, the dataset).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MODE=$1
MPQ=$2
W=$3
TRAINED=${4:-}
PY=/usr/bin/python3
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
source "$HERE/../cli/cli_lib.sh"
[ -d /usr/share/datasets/fashion-mnist ] || [ "$MODE" = models ] || { echo "skip: no dataset-fashion-mnist"; exit 77; }
case "$MODE" in torch | ort) [ -s "$TRAINED" ] || { echo "skip: no trained model $TRAINED"; exit 77; } ;; esac

# top1_agreement A.npy B.npy MIN: argmax rows of two logits files (or int64 predictions) agree.
top1_agreement() {
  "$PY" - "$1" "$2" "$3" <<'PYEOF'
import sys
import numpy as np
a, b = (np.load(p) for p in sys.argv[1:3])
a, b = (x.argmax(1) if x.ndim == 2 else x for x in (a, b))
agree = float((a == b).mean())
print(f"top-1 agreement {agree:.4f} on {len(a)} images")
sys.exit(0 if agree >= float(sys.argv[3]) else 1)
PYEOF
}

models_mode() {
  "$PY" "$HERE/make_qdq_models.py" . || { echo "cannot make models"; exit 1; }
  for m in u8_pc i8_pt; do
    expect 0 "QDQ model: 2 int8 layer" $m.mpqe -- build --model $m.onnx --batch 16 -o $m.mpqe
    "$MPQ" inspect $m.mpqe --json >$m.json || fail "inspect $m"
    "$PY" - $m.json <<'PYEOF' || fail "$m: manifest"
import json, sys
rows = {r["name"]: r for r in json.load(open(sys.argv[1]))["layers"]}
for name in ("conv", "fc"):
    r = rows[name]
    assert r["executed"] == "int8" and r["source"] == "qdq", r
PYEOF
    "$MPQ" run --engine $m.mpqe --input x.npy -o $m.engine.npy >/dev/null || fail "run engine $m"
    "$MPQ" run --model $m.onnx --input x.npy -o $m.ref.npy >/dev/null || fail "run reference $m"
    "$PY" -c "import numpy as np, sys; d = np.abs(np.load('$m.engine.npy') - np.load('$m.ref.npy')).max(); print('$m: max |engine - Q/DQ reference| =', d); sys.exit(int(d > 1e-4))" ||
      fail "$m: the int8 engine differs from the Q/DQ reference"
  done
  expect 2 "node 'x_Q'.*scale 0 is not a positive" bad.mpqe -- build --model zero_scale.onnx -o bad.mpqe
  expect 2 "node 'x_Q'.*scale -0.05 is not a positive" bad.mpqe -- build --model negative_scale.onnx -o bad.mpqe
  expect 2 "node 'x_Q'.*per channel.*--lenient" bad.mpqe -- build --model act_per_channel.onnx -o bad.mpqe
  expect 2 "node 'conv.w_DQ'.*u8 weights" bad.mpqe -- build --model uint8_weights.onnx -o bad.mpqe
  expect 2 "node 'conv'.*float input" bad.mpqe -- build --model weight_only.onnx -o bad.mpqe
  for m in act_per_channel uint8_weights weight_only; do
    expect 0 "runs in float" l.mpqe -- build --model $m.onnx --lenient -o l.mpqe
    "$MPQ" inspect l.mpqe | grep -q "note: QDQ: .*runs in float" || fail "$m --lenient: no manifest note"
  done
  echo '{"conv": {"weight_bits": 8}}' >calib.json
  expect 2 "QDQ model.*without --calib" bad.mpqe -- build --model u8_pc.onnx --calib calib.json -o bad.mpqe
  expect 2 "already has QuantizeLinear" out.onnx -- export-qdq --model u8_pc.onnx --calib calib.json -o out.onnx
}

torch_mode() {
  "$PY" -c "import torch" 2>/dev/null || { echo "skip: no python3-torch"; exit 77; }
  "$PY" "$HERE/make_torch_qdq.py" --init "$TRAINED" --out . || { echo "PyTorch FX export failed"; exit 1; }
  expect 0 "QDQ model: 4 int8 layer" q.mpqe -- build --model qdq.onnx -o q.mpqe
  "$MPQ" inspect q.mpqe | grep -c "int8 (qdq)" | grep -q '^4$' || fail "not 4 layers with source qdq"
  "$MPQ" run --engine q.mpqe --data fashion-mnist:test -o q_logits.npy >run.txt 2>&1 || fail "run: $(cat run.txt)"
  top1_agreement q_logits.npy torch_pred.npy 0.99 || fail "mpq vs PyTorch FX int8 below 99%"
}

ort_mode() {
  [ -d "$HERE/node_modules/onnxruntime-node" ] && command -v node >/dev/null ||
    { echo "skip: no onnxruntime-node (scripts/setup.sh installs it with npm)"; exit 77; }
  "$MPQ" calibrate --model "$TRAINED" --data fashion-mnist:train --calib-images 500 --quiet -o calib.json \
    >/dev/null 2>err.txt || fail "calibrate: $(cat err.txt)"
  expect 0 "" int8.mpqe -- build --model "$TRAINED" --calib calib.json -o int8.mpqe
  expect 0 "" m_qdq.onnx -- export-qdq --model "$TRAINED" --calib calib.json -o m_qdq.onnx
  grep -q "4 int8 layer" out.txt || fail "export summary: $(cat out.txt)"
  "$MPQ" run --engine int8.mpqe --data fashion-mnist:test -o mpq_logits.npy >/dev/null 2>&1 || fail "run int8"
  "$PY" "$HERE/../../bench/peers/fashion.py" --images x.npy --labels y.npy || fail "test images"
  node "$HERE/ort_agreement.js" --model m_qdq.onnx --images x.npy --logits mpq_logits.npy \
    --labels y.npy --min-agreement 0.99 || fail "ONNX Runtime vs mpq int8 below 99%"
  # Round trip: the export built as a QDQ model is the same engine.
  expect 0 "QDQ model: 4 int8 layer" rt.mpqe -- build --model m_qdq.onnx -o rt.mpqe
  "$MPQ" run --engine rt.mpqe --data fashion-mnist:test -o rt_logits.npy >/dev/null 2>&1 || fail "run rt"
  cmp -s <(tail -c +129 rt_logits.npy) <(tail -c +129 mpq_logits.npy) || fail "round trip changed the outputs"
  expect 2 "cannot write\|No such\|does not exist" - -- export-qdq --model "$TRAINED" --calib calib.json -o nodir/m.onnx
  # resnet18_cifar (seeded weights): batch norm folded into the exported weights, fused residual
  # sums with their Q/DQ; the same checks on 500 test images.
  "$MPQ" zoo resnet18_cifar --batch dynamic -o r.onnx >/dev/null || fail "zoo resnet18_cifar"
  "$MPQ" calibrate --model r.onnx --data fashion-mnist:train --calib-images 100 --quiet -o rc.json \
    >/dev/null 2>err.txt || fail "calibrate resnet18_cifar: $(cat err.txt)"
  expect 0 "" r.mpqe -- build --model r.onnx --calib rc.json --batch 100 -o r.mpqe
  expect 0 "" r_qdq.onnx -- export-qdq --model r.onnx --calib rc.json -o r_qdq.onnx
  "$MPQ" run --engine r.mpqe --data fashion-mnist:test --limit 500 -o r_logits.npy >/dev/null 2>&1 || fail "run r"
  "$PY" "$HERE/../../bench/peers/fashion.py" --shape 3,32,32 --limit 500 --images rx.npy --labels ry.npy ||
    fail "resnet test images"
  node "$HERE/ort_agreement.js" --model r_qdq.onnx --images rx.npy --logits r_logits.npy --batch 100 \
    --min-agreement 0.99 || fail "resnet18_cifar: ONNX Runtime vs mpq int8 below 99%"
  expect 0 "QDQ model: 22 int8 layer" rq.mpqe -- build --model r_qdq.onnx --batch 100 -o rq.mpqe
  "$MPQ" run --engine rq.mpqe --data fashion-mnist:test --limit 500 -o rq_logits.npy >/dev/null 2>&1 || fail "run rq"
  cmp -s <(tail -c +129 rq_logits.npy) <(tail -c +129 r_logits.npy) || fail "resnet round trip changed the outputs"
}

train_mode() {
  "$MPQ" train --model mnist_naive --data fashion-mnist:train --limit 12000 --optimizer adam -q \
    -o "$TRAINED" >out.txt 2>&1 || { echo "train failed: $(cat out.txt)"; exit 1; }
}

case "$MODE" in
  train) train_mode ;;
  models) models_mode ;;
  torch) torch_mode ;;
  ort) ort_mode ;;
  *) echo "unknown mode $MODE"; exit 1 ;;
esac
[ "$fails" = 0 ] && echo "qdq $MODE: all checks passed"
exit $((fails > 0))
