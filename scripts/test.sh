#!/usr/bin/env bash
# The README's test command: installs packages, builds, runs every test (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
BUILD_DIR=${MPQ_BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"

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
    "-DMPQ_CUDA_ARCHS=${MPQ_CUDA_ARCHS:-80;90}" >/dev/null
  cmake --build "$CUDA_BUILD_DIR" -j "${MPQ_JOBS:-$(nproc)}" --target mpq_gpu
  ctest --test-dir "$CUDA_BUILD_DIR" -L cuda --output-on-failure
  echo "test.sh: CUDA build and GPU tests took $((SECONDS - start)) s"
fi
