#!/usr/bin/env bash
# NNI parity through the CLI: NNI's own config_list snippet, verbatim, through `mpq qat` then
# `mpq build` gives an int8 conv1 (the input range is tracked for weight-quantized layers);
# unconfigured layers at the faster float; --layer-precision; NNI's post-training path (PTQ dict
# + calibration data, within 1 point of fp32 on mnist_naive trained on 2000 images);
# config_list validation as NNI's schema (errors naming the entry and key, --lenient warnings);
# NNI's torch.save'd calibration configs through tools/nni_to_mpq.py.
# Small random data, and a little of Fashion-MNIST (Debian's package).
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

# Unconfigured layers at the faster float, timed at build (NNI's TensorRT behaviour).
expect 0 "" e6.mpqe -- build --model q.onnx --calib qc.json --unconfigured fastest --batch 16 -o e6.mpqe
"$MPQ" inspect --json e6.mpqe >inspect.json || fail "mpq inspect e6.mpqe"
"$PY" - <<'PYEOF' || fail "--unconfigured fastest: $(cat inspect.json)"
import json, re
d = json.load(open("inspect.json"))
note = [n for n in d["notes"] if n.startswith("unconfigured: fastest float: ")]
assert len(note) == 1, d["notes"]
m = re.match(r"unconfigured: fastest float: (\S+) for \d+ unconfigured layer\(s\) \((\S+) (\S+) ms, fp32 (\S+) ms", note[0])
chosen, half, t16, t32 = m.group(1), m.group(2), float(m.group(3)), float(m.group(4))
assert chosen == (half if t16 < t32 else "fp32"), note
ex = {l["module_path"]: l["executed"] for l in d["layers"] if l["op"] != "Reorder"}
assert ex["conv1"] == "int8" and ex["conv2"] == chosen and ex["fc2"] == chosen, ex
PYEOF
expect 2 "pass one" x.mpqe -- build --model q.onnx --calib qc.json --unconfigured fastest \
  --default-precision fp32 -o x.mpqe

# Per-layer precision on the command line (trtexec's habit), globs included.
expect 0 "" e7.mpqe -- build --model q.onnx --calib qc.json --layer-precision 'conv1:int8,fc*:fp16' \
  --batch 16 -o e7.mpqe
executed int8 conv1 e7.mpqe
executed bf16 fc1 e7.mpqe
executed bf16 fc2 e7.mpqe
executed fp32 conv2 e7.mpqe
expect 2 "key '--layer-precision': 'fc_\*:fp16': 'fc_\*' matches no layer of the model (near matches: 'fc1', 'fc2')" \
  x.mpqe -- build --model q.onnx --calib qc.json --layer-precision 'conv1:int8,fc_*:fp16' -o x.mpqe
expect 2 "unknown precision 'int4'" x.mpqe -- build --model q.onnx --layer-precision 'conv1:int4' -o x.mpqe

# NNI's post-training path: the PTQ dict of NNI's example (conv1 8, conv2 32, fc1 16, fc2 8 as
# weight_bits/output_bits) with calibration data, on mnist_naive trained on 2000 images: the
# engine's accuracy is within 1 point of the fp32 engine's; the cache is reused on the next build.
expect 0 "" t.onnx -- train --model mnist_naive --data fashion-mnist:train --limit 2000 -q -o t.onnx
echo '{"conv1": {"weight_bits": 8, "output_bits": 8}, "conv2": {"weight_bits": 32, "output_bits": 32},
       "fc1": {"weight_bits": 16, "output_bits": 16}, "fc2": {"weight_bits": 8, "output_bits": 8}}' >ptq.json
expect 0 "" f.mpqe -- build --model t.onnx --batch 100 -o f.mpqe
expect 0 "^mpq: calibrated on 500 images of fashion-mnist:train.*calibration cache cache.json not used: it does not exist yet" \
  p.mpqe -- build --model t.onnx --config ptq.json --calib-data fashion-mnist:train --calib-images 500 \
  --calibration-cache cache.json --batch 100 -o p.mpqe
executed int8 conv1 p.mpqe
executed fp32 conv2 p.mpqe
executed bf16 fc1 p.mpqe
for e in f p; do
  "$MPQ" run --engine $e.mpqe --data fashion-mnist:test --limit 1000 --json >$e.json 2>err.txt ||
    fail "mpq run $e.mpqe: $(cat err.txt)"
done
"$PY" - <<'PYEOF' || fail "PTQ accuracy not within 1 point of fp32"
import json
f, p = (json.load(open(n + ".json"))["accuracy"] for n in "fp")
print(f"fp32 {f:.3f}, NNI PTQ dict {p:.3f}")
assert f > 0.5 and abs(f - p) <= 0.01, (f, p)
PYEOF
expect 0 "^mpq: calibration cache cache.json matches this model, data and options: reused it" \
  p2.mpqe -- build --model t.onnx --config ptq.json --calib-data fashion-mnist:train \
  --calib-images 500 --calibration-cache cache.json --batch 100 -o p2.mpqe
expect 0 "cache.json not used: .*options" p3.mpqe -- build --model t.onnx --config ptq.json \
  --calib-data fashion-mnist:train --calib-images 500 --calibrate-type minmax \
  --calibration-cache cache.json --batch 100 -o p3.mpqe
echo '{"conv_1": {"weight_bits": 8, "output_bits": 8}}' >ptq_bad.json
expect 2 "ptq_bad.json: key 'conv_1': layer 'conv_1' is not in the model; near matches: 'conv1'" \
  x.mpqe -- build --model t.onnx --config ptq_bad.json --calib-data fashion-mnist:train -o x.mpqe
grep -q "calibrated" err.txt && fail "a bad PTQ dict should be refused before calibrating"
"$PY" -c "import numpy as np; np.save('x27.npy', np.zeros((8, 1, 27, 27), np.float32))"
expect 2 "x27.npy: samples of shape \[1,27,27\] cannot feed the model input" x.mpqe -- build \
  --model t.onnx --config ptq.json --calib-data x27.npy -o x.mpqe
expect 2 "pass one" x.mpqe -- build --model t.onnx --config ptq.json --calib ptq.json \
  --calib-data fashion-mnist:train -o x.mpqe

# config_list validation as NNI's schema: exit 2, one line naming the file, the entry and the
# key; --lenient makes them warnings.
Q=(qat --model m.onnx --data x.npy --labels y.npy --max-steps 1 -q --threads 1 -o q2.onnx)
echo '[{"quant_types": ["weight"], "quant_bits": 8, "op_types": ["default"]}]' >default.json
echo '[{"quant_types": ["weight"], "quant_bits": 32, "op_names": ["conv1"]}]' >bits32.json
echo '[{"quant_types": ["weight"], "quant_bits": 8, "op_names": ["conv1"]},
       {"quant_types": ["output"], "quant_bits": 8, "op_names": ["relu_1"]}]' >nomatch.json
echo '[{"quant_types": ["output"], "quant_bits": 8, "op_names": ["relu1"], "quant_sheme": "x"}]' >badkey.json
expect 2 "default.json: key '\[0\].op_types': config_list entry 0: op_types 'default' is not a QAT op type" \
  q2.onnx -- "${Q[@]}" --config default.json
[ "$(wc -l <err.txt)" = 1 ] || fail "default.json: more than one line: $(cat err.txt)"
expect 2 "bits32.json: key '\[0\].quant_bits': .*weight bits must be in 1..31 for QAT, got 32" \
  q2.onnx -- "${Q[@]}" --config bits32.json
expect 0 "^mpq: warning: default.json: config_list entry 0: op_types 'default'" q2.onnx -- \
  "${Q[@]}" --config default.json --lenient
expect 2 "nomatch.json: key '\[1\].op_names': .*op_names 'relu_1' matches no layer of the model (near matches: 'relu1'" \
  e2.mpqe -- build --model q.onnx --calib qc.json --config nomatch.json -o e2.mpqe
expect 0 "^mpq: warning: nomatch.json: config_list entry 1: op_names 'relu_1' matches no layer" \
  e2.mpqe -- build --model q.onnx --calib qc.json --config nomatch.json --lenient -o e2.mpqe
expect 2 "badkey.json: key '\[0\].quant_sheme': .*unknown key 'quant_sheme' (did you mean 'quant_scheme'?)" \
  c2.json -- calibrate --model m.onnx --data x.npy --config badkey.json -o c2.json --quiet
expect 0 "^mpq: warning: badkey.json: config_list entry 0: unknown key 'quant_sheme' is ignored" \
  c2.json -- calibrate --model m.onnx --data x.npy --config badkey.json -o c2.json --quiet --lenient

# NNI's torch.save'd calibration_config, in the exact shape NNI writes it (v2.10 QAT: tensors on
# the module's device for the weight scale and zero point, Python floats for ranges; a
# per-channel scale [C,1,1,1]; ObserverQuantizer v2.4 names), through tools/nni_to_mpq.py and
# `mpq build`. Skipped without Debian's PyTorch.
if "$PY" -c "import torch" 2>/dev/null; then
  TOOL=(env "$PY" "$HERE/../../tools/nni_to_mpq.py")
  "$PY" - <<'PYEOF' || fail "cannot write the .pth files"
import torch
qat = {"conv1": {"weight_bits": 8, "weight_scale": torch.tensor([0.0029]),
                 "weight_zero_point": torch.tensor([97.]), "input_bits": 8,
                 "tracked_min_input": -0.4242, "tracked_max_input": 2.8215},
       "relu1": {"output_bits": 8, "tracked_min_output": 0.0, "tracked_max_output": 5.8974},
       "conv2": {"weight_bits": 8, "weight_scale": torch.linspace(0.001, 0.05, 50).reshape(50, 1, 1, 1),
                 "weight_zero_point": torch.zeros(50, 1, 1, 1), "input_bits": 8,
                 "tracked_min_input": 0.0, "tracked_max_input": 5.8974}}
torch.save(qat, "qat_v210.pth")
obs = {"conv1": {"weight_bit": 8, "tracked_max_weight": 0.25, "tracked_min_weight": -0.25,
                 "tracked_weight_qmin": -127, "tracked_weight_qmax": 127, "input_bit": 8,
                 "tracked_min_input": -0.4242, "tracked_max_input": 2.8215,
                 "tracked_input_qmin": 0, "tracked_input_qmax": 127, "activation_bit": 8,
                 "tracked_min_activation": -2.0, "tracked_max_activation": 4.0,
                 "tracked_activation_qmin": 0, "tracked_activation_qmax": 127}}
torch.save(obs, "observer_v24.pth")
torch.save({"conv1.weight": torch.zeros(20, 1, 5, 5)}, "state_dict.pth")
torch.save({"conv1": {"weight_bits": 8, "tracked_min_inpt": 0.0}}, "badkey.pth")
PYEOF
  for f in qat_v210 observer_v24; do
    rm -f "$f.json"
    "${TOOL[@]}" "$f.pth" -o "$f.json" >out.txt 2>err.txt || fail "nni_to_mpq $f.pth: $(cat err.txt)"
  done
  # Every value back exactly (float32), tensors as flat lists.
  "$PY" - <<'PYEOF' || fail "converted values differ from the .pth"
import json, torch
for f in ["qat_v210", "observer_v24"]:
    src, out = torch.load(f + ".pth"), json.load(open(f + ".json"))
    assert src.keys() == out.keys(), (src.keys(), out.keys())
    for layer, keys in src.items():
        assert keys.keys() == out[layer].keys(), (layer, keys.keys(), out[layer].keys())
        for k, v in keys.items():
            want = v.reshape(-1).tolist() if isinstance(v, torch.Tensor) else v
            assert out[layer][k] == want, (f, layer, k, out[layer][k], want)
PYEOF
  expect 0 "" e4.mpqe -- build --model m.onnx --calib qat_v210.json --batch 16 -o e4.mpqe
  executed int8 conv1 e4.mpqe
  executed int8 conv2 e4.mpqe
  # The model input is quantized with conv1's tracked range: u8, scale (max-min)/255.
  "$PY" - <<'PYEOF' || fail "the input's quantization is not conv1's tracked range: $(cat inspect.json)"
import json, re
first = json.load(open("inspect.json"))["layers"][0]
m = re.search(r"-> u8\S* nhwc s=(\S+) z=(\d+)", first["reason"])
scale = (2.8215 + 0.4242) / 255
assert m and abs(float(m.group(1)) / scale - 1) < 1e-5 and int(m.group(2)) == round(0.4242 / scale), first
PYEOF
  expect 0 "" e5.mpqe -- build --model m.onnx --calib observer_v24.json --batch 16 -o e5.mpqe
  executed int8 conv1 e5.mpqe
  # Bad input: exit 2, one line saying what the file holds, no output left behind.
  for bad in "state_dict:looks like a model state_dict" "badkey:key 'conv1.tracked_min_inpt': unknown key" \
      "missing:no such file"; do
    f=${bad%%:*}
    rm -f "$f.json"
    "${TOOL[@]}" "$f.pth" -o "$f.json" >out.txt 2>err.txt
    rc=$?
    [ "$rc" = 2 ] || fail "nni_to_mpq $f.pth -> exit $rc, expected 2"
    grep -q "^nni_to_mpq: error: $f.pth: .*${bad#*:}" err.txt || fail "nni_to_mpq $f.pth: $(cat err.txt)"
    [ -e "$f.json" ] && fail "nni_to_mpq $f.pth left $f.json behind"
  done
else
  echo "nni_cli: PyTorch not found under $PY: the nni_to_mpq.py checks are skipped"
fi

if [ "$fails" != 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "nni_cli: all passed"
