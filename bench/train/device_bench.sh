#!/usr/bin/env bash
# Training throughput and accuracy on 2 quiet cores, side by side with PyTorch.
#
# The developers' machine is a 2-vCPU VM shared by many builds (load ~8-15), where 2-thread
# timings measure the scheduler. Like the CPU engine figures (bench/RESULTS.md), these runs use
# the device host's CPU, pinned to 2 cores; its PyTorch is 2.11 (a stronger peer than the
# target's Debian 1.13, which cannot be carried).
#
#   bench/train/device_bench.sh bundle   here: mpq binary, its shared libraries (xz), Fashion-MNIST,
#                                        the mnist_naive initial weights as .npz -> train_bundle/
#   bench/train/device_bench.sh run      there (device tool, carry ["train_bundle"]): runs
#                                        everything, logs and JSON under $OUT
# The device tool copies the session's main checkout (not a helper's worktree): bundle from
# there, with train_bundle/ git-ignored (it is, in .gitignore).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=train_bundle

bundle() {
  rm -rf "$B" && mkdir -p "$B"/{bin,lib,data}
  cp build/mpq "$B/bin/" && strip "$B/bin/mpq"
  ldd build/mpq | awk '/=> \//{print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|ld-linux*|libstdc++.so*|libgcc_s.so*|libz.so*) ;;
      *) xz -T2 -6 -c "$(readlink -f "$lib")" > "$B/lib/$(basename "$lib").xz" ;;
    esac
  done
  cp /usr/share/datasets/fashion-mnist/*.gz "$B/data/"
  build/mpq zoo mnist_naive -o /tmp/mpq_mnist_init.onnx >/dev/null
  /usr/bin/python3 bench/train/torch_train.py --model mnist_naive --init /tmp/mpq_mnist_init.onnx \
    --save-npz "$B/mnist_naive_init.npz"
  du -sh "$B"
}

run() {
  OUT=${OUT:-$PWD/train_out}
  mkdir -p "$OUT" /tmp/mpqlib
  for f in "$B"/lib/*.xz; do xz -dc "$f" > "/tmp/mpqlib/$(basename "$f" .xz)"; done
  export LD_LIBRARY_PATH=/tmp/mpqlib MPQ_FASHION_MNIST_DIR=$PWD/$B/data FASHION_MNIST_DIR=$PWD/$B/data
  export OMP_NUM_THREADS=2 OMP_PROC_BIND=close OMP_PLACES=cores
  PIN="taskset -c 0,1"
  MPQ="$PWD/$B/bin/mpq"
  lscpu | grep -E "Model name|^CPU\(s\)|Flags" | sed 's/Flags:.*\(avx512f\).*/Flags: ... avx512f .../' | tee "$OUT/machine.txt"
  python3 -c 'import torch; print("torch", torch.__version__, torch.backends.mkldnn.is_available())' | tee -a "$OUT/machine.txt"
  run_one() {  # name, command...
    local name=$1; shift
    echo "== $name"
    "$@" > "$OUT/$name.json" 2> "$OUT/$name.log" || { tail -5 "$OUT/$name.log"; return 0; }
    tail -c 600 "$OUT/$name.json"; echo
  }
  for rep in 1 2; do
    run_one "mpq_mnist_sgd_$rep" $PIN "$MPQ" train --model mnist_naive --data fashion-mnist:train \
      --eval fashion-mnist:test -q --json -o /tmp/mn_trained.onnx
    run_one "torch_mnist_sgd_$rep" $PIN python3 bench/train/torch_train.py --model mnist_naive \
      --init "$B/mnist_naive_init.npz" --threads 2
  done
  run_one mpq_mnist_qat $PIN "$MPQ" qat --model /tmp/mn_trained.onnx \
    --config bench/train/nni_mnist_qat_config.json --data fashion-mnist:train \
    --eval fashion-mnist:test -q --json -o /tmp/mn_qat.onnx --calib /tmp/mn_calib.json
  run_one mpq_mnist_adam $PIN "$MPQ" train --model mnist_naive --data fashion-mnist:train \
    --eval fashion-mnist:test --optimizer adam -q --json -o /tmp/mn_adam.onnx
  for rep in 1 2; do
    run_one "mpq_resnet_$rep" $PIN "$MPQ" train --model resnet18_cifar --data fashion-mnist:train \
      --limit 6400 --lr 0.1 --momentum 0.9 --weight-decay 5e-4 -q --json --profile -o /tmp/r18.onnx
    run_one "torch_resnet_$rep" $PIN python3 bench/train/torch_train.py --model resnet18_cifar \
      --lr 0.1 --momentum 0.9 --wd 5e-4 --threads 2 --limit 6400 --no-eval
  done
  cp "$OUT"/mpq_resnet_1.log "$OUT"/profile_resnet.txt 2>/dev/null || true
}

"${1:?bundle or run}"
