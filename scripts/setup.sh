#!/usr/bin/env bash
# Installs every Debian package mpq builds, tests and benchmarks with. Idempotent: packages already
# present are skipped, and `apt-get update` runs once (only when something is missing).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config clang-format
  libonnx-dev libprotobuf-dev        # ONNX model import/export (protobuf messages + checker + shape inference)
  libdnnl-dev                        # oneDNN: AMX/VNNI int8, bf16, fp32 CPU kernels
  nlohmann-json3-dev                 # calibration tables, manifests, --json output
  libcli11-dev                       # the mpq command line
  zlib1g-dev                         # gzipped IDX datasets
  libgtest-dev libgmock-dev          # unit tests
  libbenchmark-dev                   # micro-benchmarks
  dataset-fashion-mnist              # built-in demo/test data
  libonnx-testdata                   # ONNX conformance node tests
  python3-torch python3-torchvision python3-onnx python3-numpy  # exporter tests and peer benchmarks (/usr/bin/python3)
  libopenblas0-openmp                # fast BLAS for torch fp32 (reference BLAS is ~100x slower)
  pybind11-dev python3-dev           # the Python package's extension module (python/, MPQ_PYTHON)
  python3-pybind11 python3-pytest    # pybind11's CMake files for pip builds; the Python tests
  python3-setuptools python3-venv python3-pip  # `pip install .` offline into a venv (docs/python.md)
  clang-14 libclang-rt-14-dev libomp-14-dev  # sanitizer builds and libFuzzer targets (scripts/sanitize.sh)
  xz-utils                           # the GPU bundle's compression (scripts/gpu_test.sh bundle)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all packages present" >&2

# ONNX Runtime (npm onnxruntime-node, CPU) for the QDQ export test (tests/qdq): the exported model
# must run in ONNX Runtime. --ignore-scripts: the CPU binaries ship in the package; its install
# script only fetches CUDA ones. Skipped cleanly without npm (the test then skips too).
QDQ_DIR="$(cd "$(dirname "$0")/.." && pwd)/tests/qdq"
if command -v npm >/dev/null; then
  if [ ! -d "$QDQ_DIR/node_modules/onnxruntime-node" ]; then
    (cd "$QDQ_DIR" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null) ||
      echo "setup: npm ci in tests/qdq failed: the ONNX Runtime QDQ test will skip" >&2
  fi
else
  echo "setup: no npm: the ONNX Runtime QDQ test will skip" >&2
fi
