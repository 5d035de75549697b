#!/usr/bin/env bash
# Outputs under interruption: `mpq build` killed while it writes its engine (SIGTERM, SIGINT,
# SIGKILL) leaves the engine file that was there before intact and, for the signals it can
# catch, no temp file; SIGINT (Ctrl-C) prints `mpq: interrupted` and exits 130. The temp a
# SIGKILL leaves is removed by the next build of that file (a live process's temp is not).
# Output paths are checked before the work starts.
# Usage: outputs_cli.sh MPQ_BINARY WORK_DIR
set -uo pipefail
MPQ=$1
W=$2
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
source "$HERE/cli_lib.sh"
run() { "$MPQ" "$@" >out.txt 2>err.txt || fail "mpq $*: $(cat err.txt out.txt)"; }
temps() { ls | grep '\.tmp\.' || true; }

# A 45 MB fp32 engine (resnet18_cifar) takes long enough to write to be caught mid-write.
run zoo resnet18_cifar -o big.onnx
run zoo mnist_naive -o small.onnx
run build -m small.onnx --batch 1 -o out.mpqe
before=$(sha256sum <out.mpqe)

# Starts `mpq build`, waits until its temp file exists, sends the signal; prints the exit status.
kill_mid_write() {
  /usr/bin/python3 - "$MPQ" "$1" <<'PY'
import os, signal, subprocess, sys, time
mpq, sig = sys.argv[1], getattr(signal, "SIG" + sys.argv[2])
p = subprocess.Popen([mpq, "build", "-m", "big.onnx", "--batch", "1", "-o", "out.mpqe"],
                     stdout=subprocess.DEVNULL, stderr=open("kill_err.txt", "w"))
tmp, deadline = "out.mpqe.tmp.%d" % p.pid, time.time() + 120
while p.poll() is None and not os.path.exists(tmp) and time.time() < deadline:
    pass
caught = p.poll() is None and os.path.exists(tmp)
if caught:
    p.send_signal(sig)
print("caught" if caught else "missed", p.wait())
PY
}

for sig in TERM INT KILL; do
  for attempt in 1 2 3 4 5; do  # the write takes milliseconds: retry if it ended before the kill
    res=$(kill_mid_write $sig)
    [ "${res%% *}" = caught ] && break
    run build -m small.onnx --batch 1 -o out.mpqe  # a missed kill replaced it: restore
    before=$(sha256sum <out.mpqe)
  done
  [ "${res%% *}" = caught ] || fail "SIG$sig: never caught mpq build mid-write ($res)"
  if [ $sig = INT ]; then
    [ "${res#* }" = 130 ] || fail "SIGINT: mpq build did not exit 130: $res"
    [ "$(tail -n 1 kill_err.txt)" = "mpq: interrupted" ] || fail "SIGINT: stderr: $(cat kill_err.txt)"
  else
    num=$(kill -l $sig)
    [ "${res#* }" = "-$num" ] || fail "SIG$sig: mpq build did not die of the signal: $res"
  fi
  [ "$(sha256sum <out.mpqe)" = "$before" ] || fail "SIG$sig: the existing out.mpqe changed"
  if [ $sig != KILL ]; then
    [ -z "$(temps)" ] || fail "SIG$sig left a temp file: $(temps)"
  fi
done

# SIGKILL cannot be caught: its temp stays until the next write of out.mpqe removes it; the temp
# of a process that still runs (this shell) is left alone.
[ -n "$(temps)" ] || fail "SIGKILL left no temp file (was the kill mid-write?)"
echo partial >"out.mpqe.tmp.$$"
run build -m small.onnx --batch 1 -o out.mpqe
[ "$(temps)" = "out.mpqe.tmp.$$" ] || fail "stale temps not removed, or a live one was: $(temps)"
rm -f "out.mpqe.tmp.$$"
"$MPQ" inspect out.mpqe >/dev/null 2>&1 || fail "the engine written after the cleanup does not load"

# Output paths are checked before any work.
expect 2 "nodir/y.npy: output directory does not exist" - -- \
  run -m small.onnx --data fashion-mnist:test --limit 10 -o nodir/y.npy
expect 2 "nodir/m.onnx: output directory does not exist" - -- zoo mnist_naive -o nodir/m.onnx
expect 2 "nodir/e.mpqe" - -- build -m small.onnx --batch 1 -o nodir/e.mpqe

[ $fails = 0 ] && echo "outputs_cli: all checks passed"
exit $((fails > 0))
