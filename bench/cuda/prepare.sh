#!/usr/bin/env bash
# Makes what scripts/gpu_test.sh bundles, in bench/work (git-ignored), on this machine:
#   <model>.onnx                 trained 1 epoch on Fashion-MNIST by bench/peers/train_torch.py
#                                (Debian's PyTorch), unless already there
#   test_<shape>.npy, labels     the prepared test set (bench/peers/fashion.py)
#   <model>_calib.json           minmax ranges of every tensor over 512 test images (mpq_gpu bench
#                                --calibrate-out, reference executor)
#   <model>_cpu_int8_top1.npy    top-1 of the CPU int8 engine (oneDNN) built from that table, for
#                                the GPU/CPU agreement check: `mpq build --backend cpu
#                                --default-precision int8` + `mpq run -o logits.npy` of a build
#                                with oneDNN (CPU_MPQ, default build/mpq)
set -euo pipefail
cd "$(dirname "$0")/../.."
W=bench/work
mkdir -p $W
GPU_BIN=${GPU_BIN:-build-gpu/src/backends/cuda/mpq_gpu}
CPU_MPQ=${CPU_MPQ:-build/mpq}
for m in mnist_naive resnet18_cifar; do
  shape=1,28,28; tag=1x28x28
  [ $m = resnet18_cifar ] && shape=3,32,32 && tag=3x32x32
  [ -f $W/$m.onnx ] || /usr/bin/python3 bench/peers/train_torch.py --model $m --onnx $W/$m.onnx --json $W/train_$m.json
  [ -f $W/test_$tag.npy ] || /usr/bin/python3 bench/peers/fashion.py --shape $shape --images $W/test_$tag.npy --labels $W/test_labels.npy
  [ -f $W/${m}_calib.json ] || $GPU_BIN bench --model $W/$m.onnx --data $W/test_$tag.npy --calibrate-out $W/${m}_calib.json --calib-n 512
  # Remade whenever the CPU mpq is newer than the predictions: a top-1 file from an older CPU
  # engine (other weight rounding, other algorithms) is no reference for the GPU's bytes.
  if [ -x "$CPU_MPQ" ] && { [ ! -f $W/${m}_cpu_int8_top1.npy ] || [ "$CPU_MPQ" -nt $W/${m}_cpu_int8_top1.npy ]; }; then
    $CPU_MPQ build --model $W/$m.onnx --calib $W/${m}_calib.json --default-precision int8 \
      --backend cpu --batch 128 -o $W/${m}_cpu_int8.mpqe
    $CPU_MPQ run --engine $W/${m}_cpu_int8.mpqe --data $W/test_$tag.npy -o $W/${m}_cpu_int8_logits.npy
    /usr/bin/python3 -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1]).argmax(1).astype(np.int64))" \
      $W/${m}_cpu_int8_logits.npy $W/${m}_cpu_int8_top1.npy
  fi
done
ls -la $W
