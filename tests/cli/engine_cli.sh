#!/usr/bin/env bash
# mpq build / inspect / run --engine / bench end to end on zoo models: values (fp32 engine outputs
# equal the reference executor's, NNI's mixed config executes per layer with the expected average
# bits, JSON keys), and one check per class of bad input (exit code 2, a message naming the
# problem, no output file left behind).
# Usage: engine_cli.sh MPQ_BINARY WORK_DIR
set -uo pipefail
MPQ=$1
W=$2
PY=/usr/bin/python3  # Debian's python with numpy
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
source "$HERE/cli_lib.sh"
run() { "$MPQ" "$@" >out.txt 2>err.txt || fail "mpq $*: $(cat err.txt out.txt)"; }
json() { "$PY" -c "import json,sys; d=json.load(open('$1')); print($2)"; }

# Model and data: mnist_naive (seeded weights), 200 random images with labels.
run zoo mnist_naive -o m.onnx
run zoo lenet5 -o lenet.onnx
"$PY" - <<'EOF' || fail "cannot write data"
import numpy as np
rng = np.random.default_rng(0)
np.save("x.npy", rng.standard_normal((200, 1, 28, 28)).astype(np.float32))
np.save("y.npy", rng.integers(0, 10, 200).astype(np.int64))
np.save("bad_shape.npy", np.zeros((4, 1, 27, 27), np.float32))
np.save("bad_dtype.npy", np.zeros((4, 1, 28, 28), np.int64))
EOF
run calibrate --model m.onnx --data x.npy --labels y.npy --method minmax --calib-images 64 \
  --quiet -o calib.json

# fp32 engine = reference executor; int8 engine runs every quantizable layer int8.
run build --model m.onnx --batch 64 -o fp32.mpqe
grep -q "wrote fp32.mpqe" out.txt || fail "build summary: $(cat out.txt)"
run run --model m.onnx --data x.npy --labels y.npy -o ref.npy
run run --engine fp32.mpqe --data x.npy --labels y.npy -o fp32.npy --json
cp out.txt run_fp32.json
"$PY" - <<'EOF' || fail "fp32 engine outputs differ from the reference"
import json
import numpy as np
a, b = np.load("ref.npy"), np.load("fp32.npy")
assert a.shape == b.shape == (200, 10), (a.shape, b.shape)
assert np.allclose(a, b, rtol=1e-4, atol=1e-4), np.abs(a - b).max()
d = json.load(open("run_fp32.json"))
y = np.load("y.npy")
assert d["samples"] == 200 and d["batch"] == 64, d
assert abs(d["accuracy"] - (a.argmax(1) == y).mean()) < 1e-9, d["accuracy"]
for k in ("median_ms", "p10_ms", "p90_ms", "images_per_s", "seconds", "load_ms"):
    assert d[k] > 0, k
assert d["p10_ms"] <= d["median_ms"] <= d["p90_ms"]
EOF

run build --model m.onnx --calib calib.json --batch 64 -o int8.mpqe
run inspect int8.mpqe --json
cp out.txt inspect_int8.json
"$PY" - <<'EOF' || fail "int8 inspect"
import json
d = json.load(open("inspect_int8.json"))
ex = {l["module_path"]: l for l in d["layers"]}
for m in ("conv1", "conv2", "fc1", "fc2"):
    assert ex[m]["executed"] == "int8", (m, ex[m])
    assert ex[m]["requested"] == "int8" and ex[m]["kernel"], ex[m]
    for k in ("name", "op", "requested", "executed", "kernel", "reason"):
        assert k in ex[m], k
assert d["average_bits"]["mean"] == 8 and d["average_bits"]["parameter_weighted"] == 8, d["average_bits"]
assert d["load_ms"] > 0 and d["format_version"] >= 2 and d["checksum"].startswith("c64:")
assert d["options"]["max_batch"] == 64
EOF
run inspect int8.mpqe
grep -q "average weight bits over 4 quantizable layers: 8.00" out.txt || fail "inspect table: $(cat out.txt)"
grep -q "brg\|jit\|gemm" out.txt || fail "inspect shows no oneDNN kernel: $(cat out.txt)"
run run --engine int8.mpqe --data x.npy -o int8.npy
"$PY" -c "
import numpy as np
a, b = np.load('ref.npy'), np.load('int8.npy')
agree = (a.argmax(1) == b.argmax(1)).mean()
assert agree >= 0.8, agree
" || fail "int8 top-1 agreement with fp32 too low"
# Any number of rows from --input, in batches of the engine's maximum.
run run --engine int8.mpqe --input x.npy -o int8_in.npy
cmp -s int8.npy int8_in.npy || fail "--input and --data give different outputs"

# NNI's PTQ mixed config: conv1 8, conv2 32, fc1 16, fc2 8 bits.
cat >mixed.json <<'JSON'
[{"quant_types": ["input", "weight", "output"], "quant_bits": 8, "op_names": ["conv1", "fc2"]},
 {"quant_types": ["input", "weight", "output"], "quant_bits": 32, "op_names": ["conv2"]},
 {"quant_types": ["input", "weight", "output"], "quant_bits": 16, "op_names": ["fc1"]}]
JSON
run build --model m.onnx --calib calib.json --config mixed.json --batch 64 -o mixed.mpqe
run inspect mixed.mpqe --json
cp out.txt inspect_mixed.json
"$PY" - <<'EOF' || fail "mixed inspect"
import json
d = json.load(open("inspect_mixed.json"))
ex = {l["module_path"]: l["executed"] for l in d["layers"]}
assert ex["conv1"] == "int8" and ex["conv2"] == "fp32" and ex["fc1"] == "bf16" and ex["fc2"] == "int8", ex
b = d["average_bits"]
assert b["mean"] == 16, b
# (500*8 + 25000*32 + 400000*16 + 5000*8) / 430500
assert abs(b["parameter_weighted"] - 7244000 / 430500) < 1e-9, b
assert d["config_list"] == "mixed.json"
EOF

run bench --engine int8.mpqe --batch 32 --iters 5 --warmup 1 --json --name mnist_naive --variant "mpq int8"
cp out.txt bench.json
"$PY" - <<'EOF' || fail "bench json"
import json
d = json.load(open("bench.json"))
assert d["model"] == "mnist_naive" and d["variant"] == "mpq int8" and d["batch"] == 32
assert 0 < d["p10_ms"] <= d["median_ms"] <= d["p90_ms"], d
assert d["images_per_s"] > 0 and d["load_ms"] > 0
EOF
run bench --engine int8.mpqe --batch 8 --iters 2 --warmup 0 --profile
grep -q "per-step mean time" out.txt || fail "no profile: $(cat out.txt)"

# --- bad input: calibration
echo '{"conv3": {"weight_bits": 8, "output_bits": 8}}' >unknown_layer.json
expect 2 "conv3.*conv" e.mpqe -- build --model m.onnx --calib unknown_layer.json -o e.mpqe
echo '{"conv1": {"weight_bits": 5, "output_bits": 5}}' >bits5.json
expect 2 "bits5.json" e.mpqe -- build --model m.onnx --calib bits5.json -o e.mpqe
echo '{"conv1": {"weight_bits": 8, "tracked_min_input": 2.0, "tracked_max_input": -1.0}}' >minmax.json
expect 2 "minmax.json" e.mpqe -- build --model m.onnx --calib minmax.json -o e.mpqe
echo '{"conv1": {"weight_bits": 8, "tracked_min_input": NaN, "tracked_max_input": 1.0}}' >nan.json
expect 2 "nan.json" e.mpqe -- build --model m.onnx --calib nan.json -o e.mpqe
echo '{"conv1": {"weight_bits": 8, "tracked_min_input": -1e999, "tracked_max_input": 1.0}}' >inf.json
expect 2 "inf.json" e.mpqe -- build --model m.onnx --calib inf.json -o e.mpqe
echo '{"conv2": {"weight_bits": 8, "output_bits": 8}}' >norange.json
expect 2 "range of its input" e.mpqe -- build --model m.onnx --calib norange.json -o e.mpqe
# ... which --default-precision turns into a recorded fallback.
run build --model m.onnx --calib norange.json --default-precision fp32 -o fallback.mpqe
run inspect fallback.mpqe --json
json out.txt "[l for l in d['layers'] if l['module_path']=='conv2'][0]['reason']" >reason.txt
grep -q "no calibration range" reason.txt || fail "fallback not recorded: $(cat reason.txt)"
# A table computed on another model: refused unless --force.
run calibrate --model lenet.onnx --data x.npy --method minmax --calib-images 16 --quiet -o lenet_calib.json
expect 2 "another model" e.mpqe -- build --model m.onnx --calib lenet_calib.json -o e.mpqe
"$MPQ" build --model m.onnx --calib lenet_calib.json --force -o forced.mpqe >out.txt 2>err.txt ||
  fail "--force did not build: $(cat err.txt)"
grep -q "warning" err.txt || fail "--force gave no warning"
expect 2 "strict" e.mpqe -- build --model m.onnx --calib norange.json --default-precision fp32 --strict -o e.mpqe
expect 2 "unknown precision" e.mpqe -- build --model m.onnx --default-precision int4 -o e.mpqe

# --- bad input: engine files
size=$(stat -c %s int8.mpqe)
head -c $((size / 2)) int8.mpqe >trunc.mpqe
expect 2 "trunc.mpqe.*truncated" - -- inspect trunc.mpqe
expect 2 "truncated" out.npy -- run --engine trunc.mpqe --data x.npy -o out.npy
head -c 40 int8.mpqe >short.mpqe
expect 2 "short.mpqe" - -- bench --engine short.mpqe
cp int8.mpqe flip.mpqe
printf '\xff' | dd of=flip.mpqe bs=1 seek=$((size / 3)) conv=notrunc status=none
expect 2 "flip.mpqe.*corrupted" - -- inspect flip.mpqe
"$PY" - <<'EOF' || fail "cannot write future.mpqe"
import struct
b = bytearray(open("int8.mpqe", "rb").read())
b[8:12] = struct.pack("<I", 999)
open("future.mpqe", "wb").write(b)
EOF
expect 2 "newer than this mpq" - -- inspect future.mpqe
expect 2 "not an mpq engine file" out.npy -- run --engine m.onnx --data x.npy -o out.npy
expect 2 "cannot open" - -- inspect missing.mpqe

# --- bad input: inference data
expect 2 "bad_shape.npy.*expects f32\[?,1,28,28\]" out.npy -- run --engine int8.mpqe --input bad_shape.npy -o out.npy
expect 2 "bad_dtype.npy" out.npy -- run --engine int8.mpqe --input bad_dtype.npy -o out.npy
expect 2 "above the engine's maximum batch" - -- bench --engine int8.mpqe --batch 65

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "engine CLI: all checks passed"
