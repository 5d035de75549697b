#!/usr/bin/env bash
# A consumer's build: examples/ configured on its own with find_package(mpq) against an installed
# prefix. Every example it offers is built against libmpq.so (so none uses a header that is not
# installed), qat_speedup also against libmpq.a (whose dependencies the package must supply), and
# qat_speedup runs from both on a little Fashion-MNIST.
# Usage: find_package_example.sh PREFIX EXAMPLES_SOURCE_DIR WORK_DIR
set -euo pipefail
prefix=$1 src=$2 work=$3
rm -rf "$work" "$work-static"
for static in OFF ON; do
  dir=$work; [ $static = ON ] && dir=$work-static
  cmake -S "$src" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
    -DMPQ_EXAMPLES_STATIC=$static >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log" >&2; exit 1; }
  if [ $static = ON ]; then cmake --build "$dir" --target qat_speedup; else cmake --build "$dir"; fi
done
[ -x "$work/ptq_speedup" ] || { echo "find_package_example: ptq_speedup was not built" >&2; exit 1; }
# The example links the installed shared library, not anything from mpq's build tree.
ldd "$work/qat_speedup" | grep "$prefix/.*libmpq.so" >/dev/null || {  # not -q: with pipefail, ldd would die of SIGPIPE
  echo "find_package_example: qat_speedup does not link $prefix's libmpq.so:" >&2
  ldd "$work/qat_speedup" >&2
  exit 1
}
if ldd "$work-static/qat_speedup" | grep libmpq.so >/dev/null; then
  echo "find_package_example: the static build links libmpq.so" >&2; exit 1
fi
for exe in "$work/qat_speedup" "$work-static/qat_speedup"; do
  OMP_WAIT_POLICY=passive "$exe" --limit 2000 --test-limit 500 --min-accuracy 0.4 --out "$work/out"
done
