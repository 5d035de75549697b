#!/usr/bin/env bash
# Compiles and links every ```cpp block of README.md as written against an installed prefix: its
# #include lines at file scope, the rest as the body of main(). So the README's C++ cannot drift
# from the public API without this test failing.
# Usage: readme_snippets.sh PREFIX README WORK_DIR
set -euo pipefail
prefix=$1 readme=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
libdir=$(dirname "$(find "$prefix" -name libmpq.so | head -1)")
n=$(awk -v dir="$work" '
  /^```cpp[[:space:]]*$/ { inblock = 1; n++; inc = dir "/snippet" n ".inc"; body = dir "/snippet" n ".body";
                            printf "" > inc; printf "" > body; next }
  inblock && /^```/ { inblock = 0; next }
  inblock && /^#include/ { print > inc; next }
  inblock { print > body }
  END { print n + 0 }' "$readme")
[ "$n" -gt 0 ] || { echo "readme_snippets: no \`\`\`cpp block in $readme" >&2; exit 1; }
for i in $(seq 1 "$n"); do
  src=$work/snippet$i.cc
  { cat "$work/snippet$i.inc"; echo "int main() {"; cat "$work/snippet$i.body"; echo "  return 0;"; echo "}"; } >"$src"
  g++ -std=c++20 -I"$prefix/include" -o "$work/snippet$i" "$src" -L"$libdir" -lmpq || {
    echo "readme_snippets: README.md's C++ block $i does not compile as written ($src)" >&2
    exit 1
  }
  echo "README.md C++ block $i: compiles and links"
done
