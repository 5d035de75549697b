#!/usr/bin/env bash
# The CUDA backend's test and benchmark flow.
#
#   scripts/gpu_test.sh bundle   (here, no GPU needed) builds mpq_gpu without oneDNN for sm_90 into
#                                build-gpu/ and collects everything the GPU machine needs into the
#                                git-ignored gpu_bundle/: the binary, the shared libraries it needs
#                                that a plain Ubuntu with CUDA lacks (libonnx, libprotobuf, ...),
#                                the zoo models, calibration tables, the CPU int8 engine's top-1
#                                and the Fashion-MNIST test set.
#   scripts/gpu_test.sh run      (on the GPU machine, through the device tool with
#                                carry: ["gpu_bundle"]) runs the CUDA tests, the engine benchmark
#                                and the PyTorch peers (bench/peers/gpu_peers.py) in one go, logs
#                                under $OUT (default ./gpu_out), and prints the table last.
# STEPS (default "tests,engine,bench,peers"; "zoo" adds bench/zoo on ZOO_MODELS at ZOO_BATCH and
# the per-step profiles of PROFILE_MODELS) picks
# what `run` does (engine: build a cuda engine
# file with `mpq_gpu mpq build`, `mpq_gpu mpq inspect` it); MODELS (default
# "mnist_naive,resnet18_cifar") which models; ITERS the timed samples; BATCH (default 128) the
# batch of the engine benchmark and the PyTorch peers.
# Models and tables come from bench/work (bench/cuda/prepare.sh makes them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# The bundle: MPQ_BUNDLE_DIR, else gpu_bundle/ beside the sources (git-ignored); the bundle holds a copy of this script and the bench scripts under
# repo/, and run from there it finds the bundle one level up.
if compgen -G "$ROOT/../bin/mpq_gpu*" >/dev/null; then
  BUNDLE=$(cd "$ROOT/.." && pwd)
else
  BUNDLE=${MPQ_BUNDLE_DIR:-$ROOT/gpu_bundle}
fi

bundle() {
  export CCACHE_BASEDIR=$ROOT
  # oneDNN is in by default (MPQ_GPU_DNNL=0 leaves it out): bench/zoo calibrates on the host's
  # CPU engine before it builds the CUDA engines, and its library travels compressed (~11 MB).
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DMPQ_CUDA=ON \
    "-DMPQ_DNNL=$([ "${MPQ_GPU_DNNL:-1}" = 0 ] && echo OFF || echo ON)" -DMPQ_CUDA_ARCHS=90a >/dev/null
  cmake --build build-gpu -j "${MPQ_JOBS:-2}" --target mpq_gpu
  rm -rf "$BUNDLE"
  mkdir -p "$BUNDLE"/{bin,lib,models,data}
  cp build-gpu/src/backends/cuda/mpq_gpu "$BUNDLE/bin/"
  strip "$BUNDLE/bin/mpq_gpu"
  # Shared libraries outside the C/C++ runtime and CUDA driver: those a GPU machine lacks.
  ldd build-gpu/src/backends/cuda/mpq_gpu | awk '/=> \//{print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|ld-linux*|libstdc++.so*|libgcc_s.so*|libz.so*|libcuda.so*) ;;
      *) cp -L "$lib" "$BUNDLE/lib/" ;;
    esac
  done
  cp /usr/share/datasets/fashion-mnist/t10k-*.gz "$BUNDLE/data/"
  for m in mnist_naive resnet18_cifar; do
    for f in "$m.onnx" "${m}_calib.json" "${m}_cpu_int8_top1.npy"; do
      [ -f "bench/work/$f" ] && cp "bench/work/$f" "$BUNDLE/models/"
    done
  done
  mkdir -p "$BUNDLE"/repo/{scripts,bench/peers,bench/cuda,bench/zoo}
  # The device call carries at most 64 MiB with the checkout: compress the binary and the
  # libraries with xz (oneDNN: 6.9 MB against gzip's 11.4) and the models with gzip (trained
  # weights hardly compress either way); run() unpacks them, xz through Python's lzma, which the
  # GPU machine has without xz. data/ holds the dataset's own .gz files.
  xz -9 -T "${MPQ_JOBS:-2}" "$BUNDLE"/bin/* "$BUNDLE"/lib/*
  if compgen -G "$BUNDLE/models/*.onnx" >/dev/null; then gzip -6 "$BUNDLE"/models/*.onnx; fi
  cp scripts/gpu_test.sh "$BUNDLE/repo/scripts/"
  cp bench/peers/*.py "$BUNDLE/repo/bench/peers/"
  cp bench/cuda/table.py bench/cuda/profile_summary.py "$BUNDLE/repo/bench/cuda/"
  cp bench/zoo/*.py "$BUNDLE/repo/bench/zoo/"
  du -sh "$BUNDLE"/*
  du -sb "$BUNDLE"
}

run() {
  OUT=${OUT:-$ROOT/gpu_out}
  mkdir -p "$OUT"
  STEPS=${STEPS:-tests,engine,bench,peers}
  MODELS=${MODELS:-mnist_naive,resnet18_cifar}
  ZOO_MODELS=${ZOO_MODELS:-resnet18,resnet50,resnext50_32x4d,mobilenet_v2,mobilenet_v3_small,mobilenet_v3_large,efficientnet_b0,regnet_x_400mf,regnet_y_400mf,mnasnet0_5,shufflenet_v2_x1_0,squeezenet1_1,densenet121,googlenet,inception_v3,vgg11_bn,alexnet,convnext_tiny,vit_b_16}
  ITERS=${ITERS:-200}
  find "$BUNDLE/bin" "$BUNDLE/lib" "$BUNDLE/models" -name '*.gz' -exec gunzip -f {} +
  find "$BUNDLE/bin" "$BUNDLE/lib" -name '*.xz' -exec python3 -c '
import lzma, os, shutil, sys
for f in sys.argv[1:]:
    with lzma.open(f) as src, open(f[:-3], "wb") as dst: shutil.copyfileobj(src, dst)
    shutil.copymode(f, f[:-3]); os.remove(f)' {} +
  export LD_LIBRARY_PATH=$BUNDLE/lib:${LD_LIBRARY_PATH:-}
  local bin=$BUNDLE/bin/mpq_gpu
  # At most 8 files come back from $OUT: tests.log bench.log bench.jsonl manifests.txt peers.json
  # peers.log table.md inspect.txt.
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv | tee "$OUT/bench.log"
  ldd "$bin" | grep "not found" && { echo "gpu_test: missing libraries"; exit 1; }
  local status=0
  if [[ $STEPS == *tests* ]]; then
    "$bin" test --gtest_color=no >"$OUT/tests.log" 2>&1 || status=1
    grep -E "^\[  (PASSED|FAILED|SKIPPED) |^\[  FAILED|Failure|error|Expected|Which is|got " "$OUT/tests.log" | head -60 || true
  fi
  if [[ $STEPS == *engine* ]]; then
    # A cuda engine file: `mpq build` saves it, `mpq inspect` loads it (the tile choices come from
    # the file) and shows the CUDA kernel of every layer. `mpq_gpu mpq` is the mpq command line.
    local m=resnet18_cifar
    {
      "$bin" mpq build --model "$BUNDLE/models/$m.onnx" --calib "$BUNDLE/models/${m}_calib.json" \
        --default-precision int8 --backend cuda --batch 128 -o /tmp/$m.mpqe &&
        "$bin" mpq inspect /tmp/$m.mpqe &&
        "$bin" mpq inspect --json /tmp/$m.mpqe | grep -c '"kernel": "cuda\.' ||
        echo "gpu_test: engine file step failed"
    } >"$OUT/inspect.txt" 2>&1 || status=1
    grep -q "engine file step failed" "$OUT/inspect.txt" && status=1
    head -12 "$OUT/inspect.txt"
  fi
  if [[ $STEPS == *bench* || $STEPS == *peers* ]]; then
    mkdir -p /tmp/fm
    FASHION_MNIST_DIR=$BUNDLE/data python3 bench/peers/fashion.py --shape 1,28,28 --images /tmp/fm/test_1x28x28.npy --labels /tmp/fm/test_labels.npy
    FASHION_MNIST_DIR=$BUNDLE/data python3 bench/peers/fashion.py --shape 3,32,32 --images /tmp/fm/test_3x32x32.npy --labels /tmp/fm/test_labels.npy
  fi
  if [[ $STEPS == *bench* ]]; then
    rm -rf "$OUT/bench.jsonl" /tmp/manifests
    mkdir -p /tmp/manifests
    # SM clock every 100 ms while the benchmark runs (an idle GPU sits at a low clock).
    nvidia-smi --query-gpu=clocks.sm --format=csv,noheader,nounits -lms 100 >/tmp/clk.log 2>/dev/null &
    local clk_pid=$!
    for m in ${MODELS//,/ }; do
      local shape=1x28x28
      [ "$m" = resnet18_cifar ] && shape=3x32x32
      local extra=()
      [ -f "$BUNDLE/models/${m}_calib.json" ] && extra+=(--calib "$BUNDLE/models/${m}_calib.json")
      [ -f "$BUNDLE/models/${m}_cpu_int8_top1.npy" ] && extra+=(--cpu-top1 "$BUNDLE/models/${m}_cpu_int8_top1.npy")
      local prec=${PRECISIONS:-fp32,fp16,int8}
      [ -f "$BUNDLE/models/${m}_calib.json" ] || prec=${prec//,int8/}
      "$bin" bench --model "$BUNDLE/models/$m.onnx" --data /tmp/fm/test_$shape.npy \
        --labels /tmp/fm/test_labels.npy "${extra[@]}" --precisions "$prec" --iters "$ITERS" \
        --batch "${BATCH:-128}" \
        --manifest-dir /tmp/manifests --json "$OUT/bench.jsonl" 2>&1 | tee -a "$OUT/bench.log" || status=1
    done
    for f in /tmp/manifests/*.txt; do echo "== $(basename "$f" .txt)"; cat "$f"; done >"$OUT/manifests.txt"
    kill "$clk_pid" 2>/dev/null || true
    sort -n /tmp/clk.log | awk '{a[NR]=$1} END {if (NR) printf "SM clock during the benchmark (MHz): min %d, median %d, max %d (%d samples)\n", a[1], a[int((NR+1)/2)], a[NR], NR}' | tee -a "$OUT/bench.log"
  fi
  if [[ $STEPS == *peers* ]]; then
    PYTHONUNBUFFERED=1 python3 bench/peers/gpu_peers.py --models "$MODELS" --data-dir /tmp/fm \
      --batch "${BATCH:-128}" \
      --variants "${PEER_VARIANTS:-fp32,fp32_graph,tf32_graph,fp16_cl,fp16_cl_graph,compile_fp16}" \
      --json "$OUT/peers.json" >"$OUT/peers.log" 2>&1 || status=1
    grep -v "^{" "$OUT/peers.log" | tail -20 || true
  fi
  if [[ $STEPS == *zoo* ]]; then
    # bench/zoo on the GPU: torchvision models exported here (torch 2.x, opset 13), PyTorch fp32
    # and fp16 channels_last under a CUDA graph, then mpq's calibration (host CPU engine) and
    # its fp32, fp16 and int8 CUDA engines, kernel-only times, at batch ZOO_BATCH (default 32).
    local w=/tmp/zoo zb=${ZOO_BATCH:-32}
    mkdir -p $w
    python3 bench/zoo/prepare.py --out $w --models "$ZOO_MODELS" --gpu-peers --batch "$zb" --threads 16 \
      >"$OUT/zoo_prepare.log" 2>&1 || status=1
    tail -n 5 "$OUT/zoo_prepare.log"
    python3 bench/zoo/run.py --work $w --models "$ZOO_MODELS" --mpq "$bin mpq" --backend cuda \
      --batch "$zb" --jsonl "$OUT/zoo_gpu.jsonl" --log "$OUT/zoo_gpu.log" >/dev/null || status=1
    python3 bench/zoo/table.py --gpu "$OUT/zoo_gpu.jsonl" | tee "$OUT/zoo_table.md"
    # PROFILE_MODELS (default none): the per-step profile of those models' int8 engines
    # (MPQ_DEBUG=cuda-profile), whole in profile.log, summarized by op and kernel family.
    local pm=${PROFILE_MODELS:-}
    for m in ${pm//,/ }; do
      echo "== $m"
      MPQ_DEBUG=cuda-profile "$bin" mpq bench --engine "$w/${m}_cuda_int8.mpqe" --batch "$zb" \
        --iters 20 --rounds 1 2>&1 >/dev/null || true
    done >"$OUT/profile.log"
    if [ -s "$OUT/profile.log" ]; then python3 bench/cuda/profile_summary.py "$OUT/profile.log"; fi
  fi
  if [[ -f $OUT/bench.jsonl ]]; then
    python3 bench/cuda/table.py "$OUT/bench.jsonl" "$OUT/peers.json" | tee "$OUT/table.md"
  fi
  exit $status
}

case "${1:-}" in
  bundle) bundle ;;
  run) run ;;
  *) echo "usage: $0 bundle|run" >&2; exit 2 ;;
esac
