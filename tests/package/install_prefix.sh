#!/usr/bin/env bash
# `cmake --install` into a fresh prefix, then checks what a user gets there: the CLI, both
# libraries, the CMake package, mpq.pc, and public headers that include only each other and
# compile on their own.
# Usage: install_prefix.sh BUILD_DIR PREFIX
set -euo pipefail
build=$1 prefix=$2
rm -rf "$prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null

fail() { echo "install_prefix: $*" >&2; exit 1; }
libdir=$(cd "$prefix" && ls -d lib*/cmake/mpq | head -1)
[ -n "$libdir" ] || fail "no lib*/cmake/mpq under $prefix"
libdir=${libdir%/cmake/mpq}
for f in bin/mpq "$libdir/libmpq.a" "$libdir/libmpq.so" "$libdir/cmake/mpq/mpqConfig.cmake" \
         "$libdir/cmake/mpq/mpqTargets.cmake" "$libdir/pkgconfig/mpq.pc" include/mpq/mpq.h; do
  [ -e "$prefix/$f" ] || fail "missing $f"
done
# Only the public API is installed: include/mpq/ and nothing else under include/.
extra=$(cd "$prefix/include" && find . -type f ! -path './mpq/*')
[ -z "$extra" ] || fail "headers outside include/mpq: $extra"
# A public header includes standard headers and other public headers, never the internals.
bad=$(grep -h '^#include "' "$prefix"/include/mpq/*.h | grep -v '^#include "mpq/' || true)
[ -z "$bad" ] || fail "public headers include internal headers: $bad"
# Each public header compiles on its own, as C++17, with the prefix as the only include path.
check_header() {
  printf '#include "mpq/%s"\n' "$2" | g++ -std=c++17 -fsyntax-only -Wall -Werror -I"$1/include" \
    -x c++ - || { echo "install_prefix: include/mpq/$2 does not compile on its own" >&2; return 1; }
}
export -f check_header
(cd "$prefix/include/mpq" && ls -- *.h) | xargs -P "$(nproc)" -I{} bash -c 'check_header "$@"' _ "$prefix" {} ||
  fail "a public header does not compile on its own"
"$prefix/bin/mpq" --help >/dev/null || fail "the installed mpq does not run"
echo "installed into $prefix ($(find "$prefix" -type f | wc -l) files)"
