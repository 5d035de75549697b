#!/usr/bin/env bash
# The README's test command: installs packages, builds, runs every test (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step prints how long it took (docs/testing.md lists the figures CI sees).
took() { echo "test.sh: $1 took $((SECONDS - $2)) s"; }
# CI's time limit (30 min) less a margin: the fuzzing at the end shares what is left of it.
export MPQ_CI_DEADLINE=${MPQ_CI_DEADLINE:-$(($(date +%s) + ${MPQ_CI_BUDGET_S:-1740}))}
start=$SECONDS
scripts/setup.sh
scripts/build.sh
took "CPU build" $start
start=$SECONDS
BUILD_DIR=${MPQ_BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"
took "tests" $start

# The CUDA backend: where nvcc is installed, a second build folder with -DMPQ_CUDA=ON
# builds the kernels for sm_80 and sm_90 and the GPU test binary (mpq_gpu), whose tests skip
# without a GPU. oneDNN stays on: every host file then compiles exactly as in the CPU build above
# and comes from ccache, so only the CUDA code compiles (docs/cuda.md, "CI"). MPQ_CUDA_CI=0 skips
# this step; MPQ_CUDA_ARCHS overrides the architectures, MPQ_NVCC the compiler looked for.
NVCC=${MPQ_NVCC:-/usr/local/cuda/bin/nvcc}
if [ "${MPQ_CUDA_CI:-1}" = 0 ]; then
  echo "test.sh: skipping CUDA build (MPQ_CUDA_CI=0)"
elif [ ! -x "$NVCC" ]; then
  echo "test.sh: skipping CUDA build ($NVCC not found)"
else
  CUDA_BUILD_DIR=${MPQ_CUDA_BUILD_DIR:-build-cuda}
  start=$SECONDS
  export CCACHE_BASEDIR="$PWD"
  cmake -S . -B "$CUDA_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMPQ_CUDA=ON -DMPQ_DNNL=ON \
    "-DMPQ_CUDA_ARCHS=${MPQ_CUDA_ARCHS:-80;90a}" >/dev/null
  cmake --build "$CUDA_BUILD_DIR" -j "${MPQ_JOBS:-$(nproc)}" --target mpq_gpu
  ctest --test-dir "$CUDA_BUILD_DIR" -L cuda --output-on-failure
  took "CUDA build and GPU tests" $start
fi

# Sanitizers (docs/testing.md): the tests under ASan + UBSan, every fuzz target for
# MPQ_FUZZ_SECONDS, the engine-threads test under TSan, in build-asan / build-tsan (clang-14).
# MPQ_SANITIZE_CI=0 skips this step.
# From an empty compiler cache its two clang builds alone take about 13 minutes on 2 cores: when
# less than MPQ_SANITIZE_MIN_S (default 720 s) of the budget is left, it is skipped, saying so.
left=$((MPQ_CI_DEADLINE - $(date +%s)))
if [ "${MPQ_SANITIZE_CI:-1}" = 0 ]; then
  echo "test.sh: skipping the sanitizer step (MPQ_SANITIZE_CI=0)"
elif ((left < ${MPQ_SANITIZE_MIN_S:-720})); then
  echo "test.sh: skipping the sanitizer step: $left s of the time budget left (run scripts/sanitize.sh)"
else
  start=$SECONDS
  scripts/sanitize.sh
  took "sanitizer step" $start
fi
