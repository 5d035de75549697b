#!/usr/bin/env bash
# mpq calibrate end to end: table contents, determinism across thread counts, --cache, and one
# check per class of bad input (exit code 2, a message naming the problem, no output file).
# Usage: calibrate_cli.sh MPQ_BINARY WORK_DIR
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MPQ=$1
W=$2
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
/usr/bin/python3 "$HERE/make_calib_inputs.py" "$W" || { echo "cannot make inputs"; exit 1; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect_error CODE PATTERN -- args...: exit code, stderr pattern, and no output file
expect_error() {
  local code=$1 pat=$2; shift 3
  rm -f err.json
  "$MPQ" calibrate "$@" -o err.json --quiet >out.txt 2>err.txt
  local rc=$?
  [ "$rc" = "$code" ] || fail "$* -> exit $rc, expected $code: $(cat err.txt)"
  grep -q -- "$pat" err.txt || fail "$* -> stderr lacks '$pat': $(cat err.txt)"
  [ ! -e err.json ] || fail "$* left an output file"
}

"$MPQ" calibrate --model model.onnx --data data.npy --method entropy --calib-images 40 --seed 3 \
  --batch 8 --quiet -o a.json >out.txt 2>err.txt || fail "calibrate: $(cat err.txt)"
grep -q '"format": "mpq-calibration"' a.json || fail "no table header"
for k in weight_bits input_bits output_bits tracked_min_input tracked_max_output weight_scale; do
  grep -q "\"$k\"" a.json || fail "no $k in the NNI section"
done
grep -q '"conv1": {' a.json || fail "layer keyed by module path conv1 missing"
grep -q '"conv1.weight": {' a.json || fail "per-channel weight range missing"
grep -q '"num_samples": 40' a.json || fail "num_samples"
grep -q 'calibrated' out.txt || fail "no summary line"

# Same bytes with another thread count.
"$MPQ" calibrate --model model.onnx --data data.npy --method entropy --calib-images 40 --seed 3 \
  --batch 8 --threads 4 --quiet -o b.json >/dev/null 2>&1 || fail "threads 4"
cmp -s a.json b.json || fail "tables differ between --threads 1 and 4"
# ... and with other engine threads (the CPU fp32 engine is the default executor).
OMP_NUM_THREADS=1 "$MPQ" calibrate --model model.onnx --data data.npy --method entropy --calib-images 40 --seed 3 \
  --batch 8 --threads 1 --quiet -o b1.json >/dev/null 2>&1 || fail "engine threads 1"
OMP_NUM_THREADS=3 "$MPQ" calibrate --model model.onnx --data data.npy --method entropy --calib-images 40 --seed 3 \
  --batch 8 --threads 3 --quiet -o b3.json >/dev/null 2>&1 || fail "engine threads 3"
cmp -s b1.json b3.json || fail "tables differ between 1 and 3 engine threads"

# The CPU fp32 engine as the executor (the default) observes the tensors the engine materializes:
# a subset of the reference executor's (values fused inside a step are not written), with the
# same ranges to float precision, and enough for an int8 engine.
"$MPQ" calibrate --model model.onnx --data data.npy --method minmax --calib-images 40 --seed 3 \
  --batch 8 --executor cpu --quiet -o e_cpu.json >/dev/null 2>err.txt || fail "executor cpu: $(cat err.txt)"
"$MPQ" calibrate --model model.onnx --data data.npy --method minmax --calib-images 40 --seed 3 \
  --batch 8 --executor reference --quiet -o e_ref.json >/dev/null 2>&1 || fail "executor reference"
/usr/bin/python3 - e_ref.json e_cpu.json <<'PY' || fail "cpu and reference executors disagree"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert set(b["tensors"]) < set(a["tensors"]), (a["tensors"].keys(), b["tensors"].keys())
assert len(b["tensors"]) >= 3, b["tensors"].keys()
for k in b["tensors"]:
    for m in ("min", "max"):
        x, y = a["tensors"][k][m], b["tensors"][k][m]
        assert abs(x - y) <= 1e-4 * max(1.0, abs(x)), (k, m, x, y)
assert b["options"]["executor"] == "cpu", b["options"]
PY
"$MPQ" build --model model.onnx --calib e_cpu.json --strict -o e_cpu.mpqe >/dev/null 2>err.txt ||
  fail "int8 build from the engine-collected table: $(cat err.txt)"
expect_error 2 "unknown executor" -- --model model.onnx --data data.npy --executor gpu

# A config_list: only conv1's input+weight and relu1's output, at NNI's example bits.
cat >cfg.json <<'JSON'
[{"quant_types": ["input", "weight"], "quant_bits": {"input": 8, "weight": 8}, "op_names": ["conv1"]},
 {"quant_types": ["output"], "quant_bits": 8, "op_types": ["ReLU"]}]
JSON
"$MPQ" calibrate --model model.onnx --data data.npy --config cfg.json --method minmax --quiet \
  -o c.json >/dev/null 2>err.txt || fail "config: $(cat err.txt)"
grep -q '"relu1": {' c.json || fail "relu1 layer missing with the config"
grep -q '"fc": {' c.json && fail "fc should not be configured"

# --cache: written, then reused, then refused for other data.
"$MPQ" calibrate --model model.onnx --data data.npy --method mse --calib-images 16 --cache cache.json \
  --quiet -o d1.json >/dev/null 2>err.txt || fail "cache 1"
grep -q "does not exist yet" err.txt || fail "cache miss not reported: $(cat err.txt)"
"$MPQ" calibrate --model model.onnx --data data.npy --method mse --calib-images 16 --cache cache.json \
  --quiet -o d2.json >/dev/null 2>err.txt || fail "cache 2"
grep -q "reused" err.txt || fail "cache hit not reported: $(cat err.txt)"
cmp -s d1.json d2.json || fail "cached table differs"
"$MPQ" calibrate --model model.onnx --data data.npy --method mse --calib-images 16 --seed 9 \
  --cache cache.json --quiet -o d3.json >/dev/null 2>err.txt || fail "cache 3"
grep -q "data hash differs" err.txt || fail "data change not reported: $(cat err.txt)"

# Bad input.
expect_error 2 "unknown calibration method 'kl'" -- --model model.onnx --data data.npy --method kl
expect_error 2 "empty" -- --model model.onnx --data empty.npy
expect_error 2 "\[8,1,5,5\]\|\[1,5,5\]" -- --model model.onnx --data wrong.npy
expect_error 2 "NaN.*dataset index 9" -- --model model.onnx --data nan.npy --calib-images 0
echo '{"quant_types": ["output"]}' >bad_cfg.json
expect_error 2 "bad_cfg.json" -- --model model.onnx --data data.npy --config bad_cfg.json
echo '[{"quant_types": ["output"], "quant_bits": 6, "op_types": ["ReLU"]}]' >six.json
expect_error 2 "4 (weights only), 8, 16 or 32" -- --model model.onnx --data data.npy --config six.json
expect_error 2 "percentile" -- --model model.onnx --data data.npy --method percentile --percentile 0
expect_error 2 "no_such.onnx" -- --model no_such.onnx --data data.npy

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "calibrate CLI: all checks passed"
