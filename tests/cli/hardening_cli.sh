#!/usr/bin/env bash
# Hostile and degenerate input, one check per class: attributes that onnx's shape inference or
# oneDNN would divide by, zero-sized weights, impossible Clip bounds, sizes that overflow, devices
# and gzip bombs given as files, subnormal calibration data. Each must exit 2 with one line naming
# the file and the node or key (or, for valid but degenerate data, succeed), never crash.
# Usage: hardening_cli.sh MPQ_BINARY WORK_DIR
set -uo pipefail
MPQ=$1
W=$2
PY=/usr/bin/python3  # Debian's python with numpy and onnx
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
source "$HERE/cli_lib.sh"
run() { "$MPQ" "$@" >out.txt 2>err.txt || fail "mpq $*: $(cat err.txt out.txt)"; }
one_line() { [ "$(wc -l <err.txt)" = 1 ] || fail "mpq $*: not one line: $(cat err.txt)"; }

mkdir -p bad && "$PY" "$HERE/make_bad_models.py" bad || fail "cannot write the bad models"

# Attributes checked before onnx's shape inference (it divides by strides: SIGFPE).
for m in conv_stride0 maxpool_stride0 averagepool_stride0; do
  node=conv; [ "$m" = conv_stride0 ] || node=pool
  expect 2 "bad/$m.onnx: node '$node': key 'strides': value 0 is out of range" - -- info bad/$m.onnx
  one_line
  expect 2 "bad/$m.onnx: node '$node': key 'strides'" e.mpqe -- build -m bad/$m.onnx --batch 2 -o e.mpqe
done
expect 2 "node 'pool': key 'strides': value 4611686018427387904 is out of range" e.mpqe -- \
  build -m bad/avgpool_stride_huge.onnx --batch 2 -o e.mpqe
expect 2 "node 'conv': key 'dilations'" - -- info bad/conv_dilation0.onnx
expect 2 "node 'pool': key 'kernel_shape'" - -- info bad/maxpool_kernel0.onnx

# Names that are not UTF-8 are refused (shown escaped) before any JSON or message would break.
expect 2 "bad/utf8_name.onnx: node name 'relu\\\\xff\\\\xfe' is not valid UTF-8" - -- info --json bad/utf8_name.onnx
one_line

# Sizes: huge pads give tensors past the element cap (or overflow the size arithmetic).
for m in avgpool_pads_huge pad_huge; do
  expect 2 "bad/$m.onnx: node '\(pool\|pad\)'.*has more than 4294967296 elements" e.mpqe -- \
    build -m bad/$m.onnx --batch 2 -o e.mpqe
done
expect 2 "node 'pad': key 'pads'.*overflow" - -- info bad/pad_overflow.onnx

# Zero-sized weights are refused before oneDNN (which divides by them).
for m in matmul_empty gemm_empty; do
  expect 2 "bad/$m.onnx: node 'fc'.*weight 'w' has a zero-sized dim \[784,0\]" e.mpqe -- \
    build -m bad/$m.onnx --batch 2 -o e.mpqe
  one_line
done

# Clip bounds, and a uint8 output the engine cannot produce.
expect 2 "bad/clip_min_above_max.onnx: node 'clip': key 'min': Clip min 3 is greater than max 1" \
  e.mpqe -- build -m bad/clip_min_above_max.onnx --batch 2 -o e.mpqe
expect 2 "bad/clip_nan.onnx: node 'clip': key 'min': Clip min ('lo') is NaN" e.mpqe -- \
  build -m bad/clip_nan.onnx --batch 2 -o e.mpqe
for p in fp32 bf16; do
  expect 2 "node 'cast': graph output 'y' is u8 with no quantization scale (a Cast to an 8-bit integer)" e.mpqe -- \
    build -m bad/cast_uint8.onnx --batch 2 --default-precision $p -o e.mpqe
done

# An output with two rows per sample builds, and `mpq run` refuses it before running.
"$PY" -c "import numpy as np; np.save('v.npy', np.ones((3, 784), np.float32))" || fail "v.npy"
expect 0 "" cat.mpqe -- build -m bad/concat_batch.onnx --batch 4 -o cat.mpqe
expect 2 "cat.mpqe: key 'y': output 'y' has 2 x batch rows along dim 0" out.npy -- \
  run --engine cat.mpqe --input v.npy -o out.npy

# Devices and special files where a file is expected: refused before reading.
run zoo mnist_naive -o m.onnx
"$PY" -c "
import numpy as np
np.save('x.npy', np.random.default_rng(0).standard_normal((8, 1, 28, 28)).astype(np.float32))
" || fail "cannot write data"
expect 2 "/dev/null: is a device or special file, not a regular file: give a model file" - -- info /dev/null
one_line
expect 2 "/dev/zero: is a device" e.mpqe -- build -m /dev/zero -o e.mpqe
expect 2 "/dev/zero: is a device" out.npy -- run -m m.onnx --input /dev/zero -o out.npy
expect 2 "/dev/zero: is a device" e.mpqe -- build -m m.onnx --calib /dev/zero -o e.mpqe
expect 2 "/dev/zero: is a device" e.mpqe -- build -m m.onnx --config /dev/zero -o e.mpqe
expect 2 "/dev/zero: .*regular file" - -- inspect /dev/zero

# Outputs are checked before the work starts.
expect 2 "nodir/e.mpqe: output directory does not exist" - -- build -m m.onnx --batch 8 -o nodir/e.mpqe
expect 2 "nodir/c.json: output directory does not exist" - -- \
  calibrate --model m.onnx --data x.npy --quiet -o nodir/c.json

# gzip: the stream's first bytes are checked before it is inflated, and the inflated size is capped.
head -c 200000000 /dev/zero | gzip -1 >bomb.npy.gz
expect 2 "bomb.npy.gz: the gzip stream does not start like a .npy or IDX file (wrong magic bytes)" out.npy -- \
  run -m m.onnx --input bomb.npy.gz -o out.npy
gzip -k x.npy
run run -m m.onnx --input x.npy.gz -o out.npy
"$PY" -c "import numpy as np; np.save('zeros.npy', np.zeros((1000, 1, 28, 28), np.float32))"
gzip zeros.npy
MPQ_MAX_INPUT_BYTES=2000000 expect 2 "zeros.npy.gz: inflates to more than 2000000 bytes" out.npy -- \
  run -m m.onnx --input zeros.npy.gz -o out.npy

# Calibration on data whose largest value is subnormal: every method succeeds and the table builds.
"$PY" -c "
import numpy as np
x = np.zeros((8, 1, 28, 28), np.float32)
x[3, 0, 5, 7] = 1e-45
np.save('sub.npy', x)
" || fail "cannot write subnormal data"
for method in minmax percentile entropy mse; do
  expect 0 "" calib_$method.json -- calibrate --model m.onnx --data sub.npy --method $method --quiet \
    -o calib_$method.json
done
expect 0 "" e.mpqe -- build -m m.onnx --calib calib_entropy.json --batch 8 -o e.mpqe

[ "$fails" = 0 ] && echo "hardening CLI: all checks passed"
exit $((fails > 0))
