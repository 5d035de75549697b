#!/usr/bin/env bash
# mpq sensitivity through the CLI: a report (table, verdict, JSON with every layer, SVG) on
# mnist_naive, and bad input refused before any engine is built: a missing output folder, the
# accuracy metric without labels, data that does not fit the model, a table of another model.
# Usage: sensitivity_cli.sh MPQ_BINARY WORK_DIR
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
PYEOF
"$MPQ" calibrate --model m.onnx --data x.npy --method minmax --quiet -o c.json >/dev/null ||
  fail "mpq calibrate"

expect 0 "" s.json -- sensitivity --model m.onnx --calib c.json --data x.npy -o s.json --svg s.svg -q
grep -q "^mpq: most sensitive (sqnr with only that layer int8): " out.txt || fail "no verdict: $(cat out.txt)"
[ "$(grep -c "^[1-4] " out.txt)" = 4 ] || fail "table rows: $(cat out.txt)"
"$PY" - <<'PYEOF' || fail "report content"
import json
r = json.load(open("s.json"))
assert r["metric"] == "sqnr" and r["samples"] == 32, r
names = {l["module_path"] for l in r["layers"]}
assert names == {"conv1", "conv2", "fc1", "fc2"}, names
sq = [l["alone"]["sqnr_db"] for l in r["layers"]]
assert sq == sorted(sq) and all(v > 20 for v in sq), sq
assert [l["rank"] for l in r["layers"]] == [1, 2, 3, 4]
svg = open("s.svg").read()
assert svg.startswith("<svg") and svg.count("<rect") == 8, svg[:200]
PYEOF

expect 2 "nodir.*does not exist" - -- sensitivity --model m.onnx --calib c.json --data x.npy -o nodir/s.json -q
expect 2 "the accuracy metric needs labels" - -- sensitivity --model m.onnx --calib c.json --data x.npy --metric accuracy -q
expect 2 "x27.npy.*cannot feed the model input" - -- sensitivity --model m.onnx --calib c.json --data x27.npy -q
"$PY" -c "
import json; t = json.load(open('c.json')); t['model_hash'] = 'fnv1a64:0000000000000000'
json.dump(t, open('other.json', 'w'))" || fail "cannot write other.json"
expect 2 "other.json" - -- sensitivity --model m.onnx --calib other.json --data x.npy -q

[ "$fails" = 0 ] && echo "sensitivity_cli: all passed"
exit $((fails > 0))
