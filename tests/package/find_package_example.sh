#!/usr/bin/env bash
# A consumer's build: examples/ configured on its own with find_package(mpq) against an installed
# prefix, one example built (against libmpq.so) and run on a little Fashion-MNIST.
# Usage: find_package_example.sh PREFIX EXAMPLES_SOURCE_DIR WORK_DIR
set -euo pipefail
prefix=$1 src=$2 work=$3
rm -rf "$work"
cmake -S "$src" -B "$work" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  >"$work.configure.log" 2>&1 || { cat "$work.configure.log" >&2; exit 1; }
cmake --build "$work" --target qat_speedup
# The example links the installed shared library, not anything from mpq's build tree.
ldd "$work/qat_speedup" | grep -q "$prefix/.*libmpq.so" || {
  echo "find_package_example: qat_speedup does not link $prefix's libmpq.so:" >&2
  ldd "$work/qat_speedup" >&2
  exit 1
}
OMP_WAIT_POLICY=passive "$work/qat_speedup" --limit 2000 --test-limit 500 --min-accuracy 0.4 \
  --out "$work/out"
