#!/usr/bin/env bash
# NNI parity through the CLI: NNI's own config_list snippet, verbatim, through `mpq qat` then
# `mpq build` gives an int8 conv1 (the input range is tracked for weight-quantized layers).
# Small random data, no dataset needed.
# Usage: nni_cli.sh MPQ_BINARY WORK_DIR
set -uo pipefail
MPQ=$1
W=$2
PY=/usr/bin/python3  # Debian's python with numpy
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
export OMP_NUM_THREADS=1
source "$HERE/cli_lib.sh"

"$MPQ" zoo mnist_naive -o m.onnx >/dev/null || fail "mpq zoo"
"$PY" - <<'PYEOF' || fail "cannot write data"
import numpy as np
r = np.random.default_rng(0)
np.save("x.npy", r.standard_normal((32, 1, 28, 28)).astype(np.float32))
np.save("y.npy", r.integers(0, 10, 32).astype(np.int64))
PYEOF
# executed PRECISION MODULE ENGINE: the manifest says the layer of that module ran at PRECISION.
executed() {
  "$MPQ" inspect --json "$3" >inspect.json || { fail "mpq inspect $3"; return; }
  "$PY" - "$1" "$2" <<'PYEOF' || fail "$3: $2 did not execute $1: $(cat inspect.json)"
import json, sys
want, module = sys.argv[1], sys.argv[2]
layers = [l for l in json.load(open("inspect.json"))["layers"] if l["module_path"] == module
          and l["op"] != "Reorder"]
sys.exit(0 if layers and all(l["executed"] == want for l in layers) else 1)
PYEOF
}

# The seed's snippet, character for character.
cat >seed.json <<'JSON'
[{"quant_types": ["weight", "output"], "quant_bits": {"weight": 8, "output": 8}, "op_names": ["conv1"]}, {"quant_types": ["output"], "quant_bits": {"output": 8}, "op_names": ["relu1"]}]
JSON
expect 0 "" q.onnx -- qat --model m.onnx --config seed.json --data x.npy --labels y.npy \
  --batch 16 -q --threads 1 -o q.onnx --calib qc.json
grep -q "conv1: input range tracked" err.txt || fail "qat should say conv1's input is tracked: $(cat err.txt)"
"$PY" -c "
import json; c = json.load(open('qc.json'))
l = c['layers']['conv1']
assert l['tracked_min_input'] < 0 < l['tracked_max_input'] and 'input_bits' not in l, l
assert c['tensors']['input']['min'] == l['tracked_min_input'], c['tensors']" ||
  fail "qc.json lacks conv1's tracked input range"
expect 0 "" e.mpqe -- build --model q.onnx --calib qc.json --batch 16 -o e.mpqe
executed int8 conv1 e.mpqe

if [ "$fails" != 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "nni_cli: all passed"
