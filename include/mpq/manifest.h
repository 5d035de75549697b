// The per-layer report of an engine: what each layer asked for, what it ran at, on which kernel,
// and why the two differ. ModelSpeedup::manifest() returns it; `mpq inspect` prints it.
#pragma once

#include <string>
#include <vector>

#include "mpq/precision.h"

namespace mpq::plan {

// One row of the manifest: an original layer (node of the imported graph) or a boundary step.
struct LayerReport {
  std::string name;         // node name in the optimized graph (the host for fused nodes)
  std::string module_path;  // PyTorch module path, if known
  std::string op;           // executed op (FusedConv, Conv, Reorder, ...)
  Precision requested = Precision::kFp32;
  std::string source;  // "config", "calibration", "default", "inherited", "boundary"
  Precision executed = Precision::kFp32;
  std::string backend;             // "cpu", "reference"
  std::string kernel;              // registry name, e.g. "cpu.FusedConv.int8"
  std::string impl;                // implementation, e.g. "brgconv:avx512_core_amx_int8"
  std::vector<std::string> fused;  // original nodes folded/fused into this step
  std::string input_dtype, output_dtype;
  std::string reason;  // why executed != requested, fallbacks, widened ranges
};

struct Manifest {
  std::vector<LayerReport> layers;
  std::vector<std::string> notes;  // build-wide remarks (passes run, widened ranges, ...)
  // Average executed bits over weighted layers (Conv/Gemm/MatMul), weighted by parameter count.
  double average_bits = 0.0;
  std::string to_table() const;  // human-readable, one row per step
  std::string to_json() const;   // keys: name, op, requested, executed, kernel, reason, ...
};

}  // namespace mpq::plan
