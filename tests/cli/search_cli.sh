#!/usr/bin/env bash
# mpq search through the CLI on mnist_naive: a chosen config_list that `mpq build --config`
# accepts, a JSON report whose frontier points were re-measured, an SVG plot, the same plans for
# the same seed (estimated latency), and bad input refused with one line and exit code 2: a
# missing output folder, data that does not fit, a table of another model, a malformed budget,
# a budget too short for the uniform plans (the partial report is kept).
# Usage: search_cli.sh MPQ_BINARY WORK_DIR
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
np.save("x27.npy", r.standard_normal((8, 1, 27, 27)).astype(np.float32))
np.save("y.npy", r.integers(0, 10, 32))
PYEOF
"$MPQ" calibrate --model m.onnx --data x.npy --method minmax --quiet -o c.json >/dev/null ||
  fail "mpq calibrate"

expect 0 "" chosen.json -- search --model m.onnx --calib c.json --data x.npy --metric sqnr \
  --min-sqnr 20 --batch 16 --timing-runs 3 --time-budget 2m -o chosen.json --report r.json \
  --svg f.svg -q
grep -q "^mpq: chosen: " out.txt || fail "no verdict: $(cat out.txt)"
grep -q "^wrote chosen.json: mpq build" out.txt || fail "no build hint: $(cat out.txt)"
"$PY" - <<'PYEOF' || fail "report content"
import json
r = json.load(open("r.json"))
assert r["metric"] == "sqnr" and r["samples"] == 32 and r["batch"] == 16, r
assert [p["origin"] for p in r["points"][:3]] == ["all-fp32", "all-16", "all-int8"]
assert len(r["points"]) >= 3 + 4, len(r["points"])
front = [r["points"][i] for i in r["frontier"]]
assert front and all(p["remeasured"] and p["frontier"] for p in front)
lat = [p["latency_ms"] for p in front]
assert lat == sorted(lat), lat
c = r["points"][r["chosen"]]
assert c["frontier"] and c["fidelity"]["sqnr_db"] is None or c["fidelity"]["sqnr_db"] >= 20, c
chosen = json.load(open("chosen.json"))
bits = {n: 32 for n in c["bits"]}  # a layer no entry names runs fp32
bits.update({n: e["quant_bits"] for e in chosen for n in e["op_names"]})
assert bits == c["bits"], (bits, c["bits"])
svg = open("f.svg").read()
assert svg.startswith("<svg") and "all-int8" in svg and "all-fp32" in svg, svg[:300]
PYEOF
expect 0 "" e.mpqe -- build --model m.onnx --calib c.json --config chosen.json -o e.mpqe
expect 0 "" q.onnx -- qat --model m.onnx --config chosen.json --data x.npy --labels y.npy \
  --max-steps 2 -o q.onnx -q

# Estimated latency: the whole search is deterministic for a seed.
for k in 1 2; do
  "$MPQ" search --model m.onnx --calib c.json --data x.npy --latency estimated --seed 3 \
    --batch 16 --report d$k.json -q >/dev/null 2>&1 || fail "estimated search $k"
done
"$PY" - <<'PYEOF' || fail "same seed, different plans"
import json
a, b = (json.load(open(f)) for f in ("d1.json", "d2.json"))
for j in (a, b):
  j.pop("seconds")
assert a == b
PYEOF

expect 2 "nodir.*does not exist" - -- search --model m.onnx --calib c.json --data x.npy -o nodir/c.json -q
expect 2 "x27.npy.*cannot feed the model input" - -- search --model m.onnx --calib c.json --data x27.npy -q
expect 2 "time budget 'soon'" - -- search --model m.onnx --calib c.json --data x.npy --time-budget soon -q
"$PY" -c "
import json; t = json.load(open('c.json')); t['model_hash'] = 'fnv1a64:0000000000000000'
json.dump(t, open('other.json', 'w'))" || fail "cannot write other.json"
expect 2 "other.json" - -- search --model m.onnx --calib other.json --data x.npy -q
expect 2 "ran out after 1 of the 3 uniform plans" - -- search --model m.onnx --calib c.json --data x.npy \
  --time-budget 0.000001 --report partial.json -o never.json -q
[ -s partial.json ] || fail "no partial report"
[ -e never.json ] && fail "a config_list was written although no plan was chosen"

[ "$fails" = 0 ] && echo "search_cli: all passed"
exit $((fails > 0))
