#!/usr/bin/env bash
# mpq train / qat / eval: bad input through the CLI. Errors exit 2 with a message naming the
# file, key or entry and leave no output behind; config_list problems (unknown keys, op_names
# matching nothing) are errors unless --lenient, which warns and names the file once. Small random
# data, no dataset needed.
# Usage: train_cli.sh MPQ_BINARY WORK_DIR
set -uo pipefail
MPQ=$1
W=$2
PY=/usr/bin/python3  # Debian's python with numpy
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
export OMP_NUM_THREADS=1
source "$HERE/cli_lib.sh"

"$MPQ" zoo mnist_naive -o m.onnx >/dev/null || fail "mpq zoo"
"$PY" - <<'EOF' || fail "cannot write data"
import numpy as np
r = np.random.default_rng(0)
x = r.standard_normal((64, 1, 28, 28)).astype(np.float32)
y = r.integers(0, 10, 64).astype(np.int64)
np.save("x.npy", x)
np.save("y.npy", y)
y_bad = y.copy(); y_bad[37] = 10
np.save("y_bad.npy", y_bad)
np.save("x_shape.npy", np.zeros((64, 1, 27, 27), np.float32))
x_nan = x.copy(); x_nan[5, 0, 3, 3] = np.nan
np.save("x_nan.npy", x_nan)
EOF
cfg() { echo "$2" >"$1.json"; }
cfg notlist '{"quant_types": ["weight"], "quant_bits": 8, "op_names": ["conv1"]}'
cfg wrongtype '[{"quant_types": ["weight"], "quant_bits": "8", "op_names": ["conv1"]}]'
cfg typeslist '[{"quant_types": "weight", "quant_bits": 8, "op_names": ["conv1"]}]'
cfg unknown '[{"quant_types": ["weight"], "quant_bits": 8, "op_names": ["conv1"], "quant_bitz": 4}]'
cfg bits33 '[{"quant_types": ["weight"], "quant_bits": 33, "op_names": ["conv1"]}]'
cfg bits0 '[{"quant_types": ["weight"], "quant_bits": 0, "op_names": ["conv1"]}]'
cfg dictmiss '[{"quant_types": ["weight", "input"], "quant_bits": {"weight": 8}, "op_names": ["conv1"]}]'
cfg nomatch '[{"quant_types": ["weight"], "quant_bits": 8, "op_names": ["conv_1", "conv1"]}]'
cfg second '[{"quant_types": ["weight"], "quant_bits": 8, "op_names": ["conv1"]},
             {"quant_types": ["output"], "quant_bits": 8, "op_types": ["ReLU"], "quant_dtype": "uint8"}]'
Q=(qat --model m.onnx --data x.npy --labels y.npy --max-steps 1 -q --threads 1)

# config_list: errors name the file, the entry index and the key.
expect 2 "notlist.json: config_list must be a JSON list of entries, got object" q.onnx -- \
  "${Q[@]}" --config notlist.json -o q.onnx --calib c.json
[ -e c.json ] && fail "a failed qat left c.json"
expect 2 "wrongtype.json: key '\[0\].quant_bits': config_list entry 0: bits must be an integer" \
  q.onnx -- "${Q[@]}" --config wrongtype.json -o q.onnx
expect 2 "typeslist.json: key '\[0\].quant_types'" q.onnx -- "${Q[@]}" --config typeslist.json -o q.onnx
expect 2 "key '\[1\].quant_dtype'" q.onnx -- "${Q[@]}" --config second.json -o q.onnx
expect 2 "bits33.json: key '\[0\].quant_bits': .*bits must be in 1..32, got 33" q.onnx -- \
  "${Q[@]}" --config bits33.json -o q.onnx
expect 2 "bits must be in 1..32, got 0" q.onnx -- "${Q[@]}" --config bits0.json -o q.onnx
expect 2 "dictmiss.json: key '\[0\].quant_bits': .*does not give bits for 'input'" q.onnx -- \
  "${Q[@]}" --config dictmiss.json -o q.onnx
# NNI's schema refuses unknown keys; an op_names entry matching nothing is an error too (NNI
# warns). --lenient makes both warnings: training goes on; the file is named once.
expect 2 "unknown.json: key '\[0\].quant_bitz': config_list entry 0: unknown key 'quant_bitz' (did you mean 'quant_bits'?)" \
  q.onnx -- "${Q[@]}" --config unknown.json -o q.onnx
expect 2 "nomatch.json: key '\[0\].op_names': config_list entry 0: op_names 'conv_1' matches no layer of the model (near matches: 'conv1'" \
  q.onnx -- "${Q[@]}" --config nomatch.json -o q.onnx
expect 0 "^mpq: warning: unknown.json: config_list entry 0: unknown key 'quant_bitz' is ignored (did you mean 'quant_bits'?)" \
  q.onnx -- "${Q[@]}" --config unknown.json -o q.onnx --lenient
expect 0 "^mpq: warning: nomatch.json: config_list entry 0: op_names 'conv_1' matches no layer of the model (near matches: 'conv1'" \
  q.onnx -- "${Q[@]}" --config nomatch.json -o q.onnx --lenient
grep -q "conv1: weight 8-bit" err.txt || fail "nomatch.json: conv1 should still be quantized: $(cat err.txt)"

# Data: labels out of range (named by dataset index), shapes that do not fit, NaN inputs.
expect 2 "label 10 of sample 37 of x.npy (.*labels y_bad.npy) is out of range: the model has 10 classes (0..9) (at step 1)" \
  t.onnx -- train --model m.onnx --data x.npy --labels y_bad.npy --batch 64 -q -o t.onnx
expect 2 "label 10 of sample 37 of " q.onnx -- qat --model m.onnx --config unknown.json \
  --lenient --data x.npy --labels y_bad.npy -q -o q.onnx
expect 2 "x_shape.npy: samples of shape \[1,27,27\] cannot feed the model input \[?,1,28,28\]" \
  t.onnx -- train --model m.onnx --data x_shape.npy --labels y.npy -q -o t.onnx
expect 2 "x_shape.npy: samples of shape \[1,27,27\]" - -- eval --model m.onnx --data x_shape.npy \
  --labels y.npy -q
expect 2 "sample 5 of .*x_nan.npy.* holds a non-finite value (nan at element 87)" t.onnx -- \
  train --model m.onnx --data x_nan.npy --labels y.npy --batch 64 -q -o t.onnx
expect 2 "label 10 of sample 37 of x.npy (.*labels y_bad.npy) is out of range" - -- eval \
  --model m.onnx --data x.npy --labels y_bad.npy --batch 16 -q
expect 2 "sample 5 of x_nan.npy .* holds a non-finite value" - -- eval --model m.onnx \
  --data x_nan.npy --labels y.npy -q
# A diverging run stops at the step whose loss is not finite, naming it and the batch.
expect 2 "the loss is .* at step [0-9]*: training diverged .*\[epoch 1, batch [0-9]* of 8\]" t.onnx -- \
  train --model m.onnx --data x.npy --labels y.npy --batch 8 --lr 1e38 --momentum 0.9 -q -o t.onnx
# Bad flags name the flag; a negative value is an error, not "use the default".
expect 2 "lr.*SGD lr must be > 0, got -1" t.onnx -- train --model m.onnx --data x.npy --labels y.npy \
  --lr=-1 -q -o t.onnx
expect 2 "Adam lr must be > 0, got -0.5" t.onnx -- train --model m.onnx --data x.npy \
  --labels y.npy --optimizer adam --lr=-0.5 -q -o t.onnx
expect 2 "weight_decay must be >= 0" t.onnx -- train --model m.onnx --data x.npy --labels y.npy \
  --weight-decay=-1 -q -o t.onnx
expect 2 "momentum" t.onnx -- train --model m.onnx --data x.npy --labels y.npy --momentum 1.5 \
  -q -o t.onnx
expect 2 "predictions" q.onnx -- "${Q[@]}" --config unknown.json -o q.onnx --predictions p.npy

# Outputs are checked before training: a missing folder fails at once, and nothing is written.
expect 2 "missing_dir/c.json: output directory does not exist" q.onnx -- \
  "${Q[@]}" --config unknown.json --lenient -o q.onnx --calib missing_dir/c.json
grep -q "qat epoch\|fake-quantizers" err.txt out.txt && fail "qat trained before checking its outputs"
expect 2 "missing_dir/t.onnx: output directory does not exist" - -- \
  train --model m.onnx --data x.npy --labels y.npy --max-steps 1 -o missing_dir/t.onnx
grep -q "epoch" out.txt err.txt && fail "train trained before checking its output"

# The happy path of the same commands, for contrast: outputs written, --predictions one row each.
expect 0 "" t.onnx -- train --model m.onnx --data x.npy --labels y.npy --batch 16 -q -o t.onnx
expect 0 "" q.onnx -- qat --model t.onnx --config unknown.json --lenient --data x.npy --labels y.npy \
  --eval x.npy --batch 16 -q -o q.onnx --calib c.json --predictions p.npy
"$PY" -c "import numpy as np; p = np.load('p.npy'); assert p.shape == (64, 10), p.shape" ||
  fail "p.npy has the wrong shape"

[ "$fails" = 0 ] && echo "train_cli: all checks passed" || echo "train_cli: $fails failure(s)"
[ "$fails" = 0 ]
