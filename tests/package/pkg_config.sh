#!/usr/bin/env bash
# `pkg-config --cflags --libs mpq` against an installed prefix: a small program compiles with
# those flags alone (as C++17: the public headers need nothing newer), links libmpq.so, runs the
# built-in mnist_naive model through a CPU engine and prints what it computed.
# Usage: pkg_config.sh PREFIX WORK_DIR
set -euo pipefail
prefix=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
pcdir=$(dirname "$(find "$prefix" -name mpq.pc | head -1)")
export PKG_CONFIG_PATH=$pcdir
flags=$(pkg-config --cflags --libs mpq)
echo "pkg-config --cflags --libs mpq: $flags"
# mpq.pc locates the prefix from its own folder, wherever the tree was installed.
[ "$(realpath "$(pkg-config --variable=includedir mpq)")" = "$(realpath "$prefix/include")" ] || {
  echo "pkg_config: includedir is not $prefix/include" >&2; exit 1; }
cat >"$work/main.cc" <<'CC'
#include <iostream>

#include "mpq/mpq.h"

int main() {
  mpq::Model model = mpq::Model::zoo("mnist_naive");
  mpq::SpeedupOptions options;
  options.batch_size = 4;
  options.default_precision = "fp32";
  mpq::ModelSpeedup speed(model, {4, 1, 28, 28}, {}, options);
  mpq::InferenceResult r = speed.inference(mpq::Tensor(mpq::DType::f32, {3, 1, 28, 28}));
  std::cout << "input " << mpq::shape_str(model.input_shape()) << " output "
            << mpq::shape_str(r.output.shape()) << " layers " << speed.manifest().layers.size()
            << "\n";
  // Bad input comes back as mpq::Error naming the problem, through the shared library.
  mpq::Result<mpq::Model> missing = mpq::capture([] { return mpq::Model::load("/nonexistent.onnx"); });
  std::cout << "load: " << mpq::code_name(missing.status().code) << "\n";
  return 0;
}
CC
# shellcheck disable=SC2086 # the flags are words
g++ -std=c++17 -o "$work/main" "$work/main.cc" $flags
out=$(LD_LIBRARY_PATH="$(pkg-config --variable=libdir mpq)" "$work/main")
echo "$out"
grep -q "^input \[?,1,28,28\] output \[3,10\] layers [1-9]" <<<"$out" || {
  echo "pkg_config: unexpected output" >&2; exit 1; }
grep -q "^load: " <<<"$out" && ! grep -q "^load: ok" <<<"$out" || {
  echo "pkg_config: loading a missing file did not fail" >&2; exit 1; }
