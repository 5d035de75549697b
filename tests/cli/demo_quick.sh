#!/usr/bin/env bash
# `mpq demo --quick` end to end (the CI form of scripts/demo.sh): every row has numbers, the output
# files exist and parse, the int8 engines are faster than fp32, accuracies are above chance; and
# the demo's bad options exit 2 without output.
# Usage: demo_quick.sh MPQ_BINARY WORK_DIR
set -euo pipefail
MPQ=$1
WORK=$2
rm -rf "$WORK"
mkdir -p "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }

# Bad options: exit 2, one clear line, nothing written.
set +e
"$MPQ" demo --model nope --out "$WORK/bad" 2>"$WORK/err1"; rc1=$?
"$MPQ" demo --backend cuda --out "$WORK/bad" 2>"$WORK/err2"; rc2=$?
"$MPQ" demo --batch 0 --out "$WORK/bad" 2>"$WORK/err3"; rc3=$?
set -e
[ "$rc1" -eq 2 ] && grep -q "mnist_naive" "$WORK/err1" || fail "unknown model: rc $rc1: $(cat "$WORK/err1")"
[ "$rc2" -eq 2 ] && grep -q "cuda backend is not compiled" "$WORK/err2" \
  || fail "--backend cuda: rc $rc2: $(cat "$WORK/err2")"
[ "$rc3" -eq 2 ] && grep -q -- "--batch" "$WORK/err3" || fail "--batch 0: rc $rc3: $(cat "$WORK/err3")"
[ ! -e "$WORK/bad" ] || fail "a failed option check left $WORK/bad behind"

# The quick demo.
start=$(date +%s)
"$MPQ" demo --quick --out "$WORK/demo" >"$WORK/stdout" 2>"$WORK/stderr" \
  || { cat "$WORK/stdout" "$WORK/stderr"; fail "mpq demo --quick failed"; }
echo "mpq demo --quick took $(( $(date +%s) - start )) s"
cat "$WORK/stdout"
for f in results.md results.json latency_accuracy.svg model_fp32.onnx qat_mixed.config.json \
         qat_mixed.calib.json qat_mixed.onnx ptq.calib.json; do
  [ -s "$WORK/demo/$f" ] || fail "missing output $f"
done
grep -q "all in 8bit" "$WORK/stdout" || fail "the terminal table lacks the int8 rows"
grep -q "| all in 32bit | float | fp32 |" "$WORK/demo/results.md" || fail "results.md lacks the fp32 row"

/usr/bin/python3 - "$WORK/demo" <<'PY'
import json, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
r = json.load(open(f"{d}/results.json"))
rows = {x["id"]: x for x in r["rows"]}
assert r["quick"] is True and r["test"]["samples"] == 2000, r["test"]
for k in ("fp32", "qat_mixed", "qat_int8", "ptq_mixed", "ptq_int8"):
    assert k in rows, f"row {k} missing"
for x in r["rows"]:
    assert x["ok"], f"{x['id']}: {x.get('error')}"
    assert x["accuracy"] > 0.2, f"{x['id']}: accuracy {x['accuracy']} not above chance (0.1)"
    assert x["median_ms"] > 0 and x["runs"] == 10, x
fp32 = rows["fp32"]
assert fp32["mean_bits"] == 32 and abs(fp32["speedup"] - 1) < 1e-9, fp32
for k in ("qat_int8", "ptq_int8"):
    assert rows[k]["mean_bits"] == 8, f"{k}: mean bits {rows[k]['mean_bits']}"
    assert rows[k]["median_ms"] < fp32["median_ms"], \
        f"{k}: {rows[k]['median_ms']} ms is not below fp32 {fp32['median_ms']} ms"
# NNI's QAT example: conv1, conv2 at 8 bits, fc1, fc2 at 32 -> mean 20, parameter-weighted ~30.6.
m = rows["qat_mixed"]
assert m["mean_bits"] == 20, m["precisions"]
assert 30 < m["weighted_bits"] < 31, m["weighted_bits"]
assert rows["qat_mixed"]["simulated_accuracy"] is not None
svg = ET.parse(f"{d}/latency_accuracy.svg").getroot()
circles = [c for c in svg.iter("{http://www.w3.org/2000/svg}circle")]
assert len(circles) == len(r["rows"]) + 3, len(circles)  # one per row + 3 legend marks
print("demo outputs OK:", {k: (round(v["accuracy"], 4), round(v["median_ms"], 3)) for k, v in rows.items()})
PY
