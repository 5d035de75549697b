#!/usr/bin/env bash
# Every subcommand that `mpq --help` lists: `--help` exits 0 and shows -m/--model (those that
# take a model; -e/--engine for those that take an engine), -q, -v, --json and an example; a
# misspelt option is one `mpq: error: <sub>:` line with a did-you-mean and exit 2; --json with a
# missing model file prints {"error": {...}} on stdout. Then mpq's own parse errors, --json
# results, -q and -v, and zoo names where a model file is accepted.
# Usage: subcommands_cli.sh MPQ_BINARY WORK_DIR
set -uo pipefail
MPQ=$1
source "$(dirname "$0")/cli_lib.sh"
enter_workdir "$2"
PY=/usr/bin/python3  # Debian's python with numpy

# one_line CODE PATTERN -- args...: exit code CODE and exactly one stderr line matching PATTERN.
one_line() {
  local code=$1 pat=$2
  shift 3
  expect "$code" "$pat" - -- "$@"
  [ "$(wc -l <err.txt)" = 1 ] || fail "mpq $* -> stderr is not one line: $(cat err.txt)"
}
# json_error SUB args...: stdout is {"error": {...}} with code 2 and "nope" in its file or message.
json_error() {
  local sub=$1
  "$MPQ" "$@" --json >out.txt 2>err.txt
  local rc=$?
  [ "$rc" = 2 ] || fail "mpq $* --json -> exit $rc, expected 2: $(cat err.txt)"
  grep -q "^mpq: error: " err.txt || fail "mpq $* --json -> no error line on stderr: $(cat err.txt)"
  "$PY" - "$sub" <<'PYEOF' || fail "mpq $* --json -> not a JSON error object: $(cat out.txt)"
import json, sys
e = json.load(open("out.txt"))["error"]
assert set(e) >= {"code", "message", "file", "node", "key"}, e
assert e["code"] == 2, e
assert "nope" in (e["file"] or "") + e["message"], e
PYEOF
}

subs=$("$MPQ" --help | awk '/^Subcommands:/ {on = 1; next} on && !NF {exit} on {print $1}')
expected="info inspect bench build calibrate demo eval export-qdq ops qat run search sensitivity \
train zoo list-zoo"
[ "$(echo $subs | tr ' ' '\n' | sort)" = "$(echo $expected | tr ' ' '\n' | sort)" ] ||
  fail "mpq --help lists: $subs"
"$MPQ" --help | grep -q "Batch defaults: 128" || fail "mpq --help does not state the batch rule"

takes_model="info build calibrate demo eval export-qdq qat run search sensitivity train zoo"
takes_engine="inspect bench run"
for sub in $subs; do
  "$MPQ" "$sub" --help >help.txt 2>&1 || fail "mpq $sub --help exits $?"
  for flag in "-q,--quiet" "-v,--verbose" "--json" "^Example:" "^  mpq $sub "; do
    grep -q -- "$flag" help.txt || fail "mpq $sub --help lacks '$flag'"
  done
  case " $takes_model " in *" $sub "*)
    grep -q -- "-m,--model" help.txt || fail "mpq $sub --help lacks -m,--model" ;;
  esac
  case " $takes_engine " in *" $sub "*)
    grep -q -- "-e,--engine" help.txt || fail "mpq $sub --help lacks -e,--engine" ;;
  esac
  one_line 2 "^mpq: error: $sub: unknown option '--jsn' (did you mean '--json'?)$" -- "$sub" --jsn
done

# --json with a model (or engine) that does not exist, the other required flags given.
json_error info -m nope.onnx
json_error info nope.onnx
json_error build -m nope.onnx -o e.mpqe
json_error calibrate -m nope.onnx --data x.npy -o c.json
json_error eval -m nope.onnx --data x.npy
json_error export-qdq -m nope.onnx --calib c.json -o q.onnx
json_error qat -m nope.onnx -c config.json --data x.npy -o q.onnx
json_error run -m nope.onnx --data x.npy
json_error search -m nope.onnx --calib c.json --data x.npy
json_error sensitivity -m nope.onnx --calib c.json --data x.npy
json_error train -m nope.onnx --data x.npy -o t.onnx
json_error demo -m nope --out demo_out
json_error zoo -m nope -o z.onnx
json_error inspect -e nope.mpqe
json_error inspect nope.mpqe
json_error bench -e nope.mpqe
json_error run -e nope.mpqe --data x.npy
"$MPQ" build -o e.mpqe --json >out.txt 2>/dev/null
grep -q '"message": "build: --model is required"' out.txt || fail "parse error under --json: $(cat out.txt)"

# mpq's own parse errors: one line, exit 2.
one_line 2 "^mpq: error: a subcommand is required; run \`mpq --help\`$" --
one_line 2 "^mpq: error: unknown subcommand 'biuld' (did you mean 'build'?)$" -- biuld
one_line 2 "^mpq: error: unknown subcommand 'frobnicate'; run \`mpq --help\`$" -- frobnicate
one_line 2 "^mpq: error: unknown option '--verison' (did you mean '--version'?)$" -- --verison
one_line 2 "^mpq: error: bench: --batch: must be positive, got 0$" -- bench -e x.mpqe --batch 0
one_line 2 "^mpq: error: build: --model is required$" -- build -o e.mpqe
one_line 2 "^mpq: error: .*give the model with -m/--model" -- info
one_line 2 "lenet.*not a zoo model (did you mean 'lenet5'?)" -- info -m lenet
one_line 2 "^mpq: error: eval: --data is required$" -- eval -m lenet5

# Results under --json: one JSON document on stdout.
"$PY" - <<'PYEOF' || fail "cannot write the data"
import numpy as np
r = np.random.default_rng(0)
np.save("x.npy", r.standard_normal((4, 1, 28, 28)).astype(np.float32))
np.save("y.npy", np.array([0, 1, 2, 3]))
PYEOF
json_ok() {  # json_ok PYTHON_ASSERTION args...: stdout parses as JSON `j` and the assertion holds
  local check=$1
  shift
  "$MPQ" "$@" --json >out.txt 2>err.txt || fail "mpq $* --json: $(cat err.txt)"
  "$PY" -c "import json; j = json.load(open('out.txt')); assert $check, j" ||
    fail "mpq $* --json -> $check fails: $(head -c 400 out.txt)"
}
json_ok "j['name'] == 'mnist_naive' and j['nodes'] > 3 and j['parameters'] > 1000" \
  zoo mnist_naive -o m.onnx
json_ok "[m['name'] for m in j['models']][:3] == ['mnist_naive', 'lenet5', 'resnet18_cifar']" list-zoo
json_ok "len(j['ops']) > 30 and any(o['name'] == 'Conv' for o in j['ops'])" ops
json_ok "j['inputs'][0]['shape'][1:] == [1, 28, 28]" info -m m.onnx
json_ok "j['inputs'][0]['shape'][1:] == [1, 28, 28] and j['parameters'] > 10000" info -m lenet5
json_ok "j['engine'] == 'e.mpqe' and j['layers']['fp32'] > 0 and j['file_bytes'] > 0" \
  build -m m.onnx --batch 4 -o e.mpqe
json_ok "j['options']['max_batch'] == 4 and len(j['layers']) > 0" inspect e.mpqe
json_ok "j['samples'] == 4 and j['outputs'][0]['shape'] == [4, 10]" run -e e.mpqe -i x.npy
json_ok "j['samples'] == 4 and j['batch'] == 128 and j['outputs'][0]['shape'] == [4, 10]" \
  run -m m.onnx --data x.npy
json_ok "len(j['outputs'][0]['values']) == 40" run -m m.onnx -i x.npy
json_ok "j['batch'] == 4 and j['median_ms'] > 0" bench -e e.mpqe --batch 4 --iters 2 --warmup 0
json_ok "j['output'] == 'c.json' and j['tensors'] > 0" calibrate -m m.onnx --data x.npy -o c.json
json_ok "j['output'] == 'q.onnx'" export-qdq -m m.onnx --calib c.json -o q.onnx
json_ok "len(j['epochs']) == 1 and j['batch'] == 64 and j['output'] == 't.onnx'" \
  train -m m.onnx --data x.npy --labels y.npy --max-steps 1 -o t.onnx
json_ok "j['samples'] == 4 and 0 <= j['correct'] <= 4" eval -m t.onnx --data x.npy --labels y.npy

# Zoo names wherever a model file is accepted.
json_ok "j['tensors'] > 0" calibrate -m lenet5 --data x.npy -o lc.json
json_ok "j['layers']['int8'] > 0" build -m lenet5 --calib lc.json --batch 4 -o l.mpqe
json_ok "j['int8_layers'] > 0" export-qdq -m lenet5 --calib lc.json -o lq.onnx

# -q: nothing on stderr; -v: the time taken; neither changes stdout.
"$MPQ" build -m m.onnx --batch 4 -o e.mpqe -q >q_out.txt 2>q_err.txt || fail "build -q"
[ ! -s q_err.txt ] || fail "build -q printed on stderr: $(cat q_err.txt)"
"$MPQ" build -m m.onnx --batch 4 -o e.mpqe -v >v_out.txt 2>v_err.txt || fail "build -v"
grep -q "^mpq: build finished in [0-9.]* s (exit 0)$" v_err.txt || fail "build -v: $(cat v_err.txt)"
grep -q "Conv" v_out.txt || fail "build -v does not print the manifest: $(cat v_out.txt)"
"$MPQ" info -m lenet5 -v >/dev/null 2>v_err.txt || fail "info -m lenet5 -v"
grep -q "zoo model" v_err.txt || fail "info -v does not say the model is the zoo's: $(cat v_err.txt)"

[ $fails = 0 ] && echo "subcommands_cli: all checks passed"
exit $((fails > 0))
