// The precision of unconfigured layers (those no calibration config or config_list names), as
// NNI's ModelSpeedupTensorRT leaves it: with a config, TensorRT may run them at FP32 or FP16 and
// keeps what is faster. "fastest" builds the engine both ways (unconfigured layers at fp32, then
// at 16-bit float: fp16 on CUDA, bf16 on the CPU), times each at the maximum batch and keeps the
// faster; the manifest says "unconfigured: fastest float" with both times. "fp32" keeps them at
// fp32. Without any config NNI's `extra_layer_bits` (8, 16, 32) sets every layer instead.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "core/precision.h"
#include "ir/graph.h"
#include "plan/plan.h"
#include "quant/calibration_table.h"
#include "runtime/engine.h"

namespace mpq::api {

// "fp32" or "fastest"; kInvalidInput naming `key` for anything else.
void check_unconfigured(const std::string& unconfigured, const std::string& key);

// NNI's extra_layer_bits as a precision: 8 -> int8, 16 -> 16-bit float, 32 -> fp32 (0: unset).
// kInvalidInput naming `key` for any other value.
std::optional<Precision> extra_layer_precision(int bits, const std::string& key);

// Builds with the unconfigured layers at fp32 and at 16-bit float and returns the faster engine,
// its manifest noting the choice. `opt.default_precision` must be unset. When no layer is
// unconfigured, builds once.
std::shared_ptr<const runtime::Engine> build_fastest_float(const Graph& g,
                                                           const quant::CalibrationTable* table,
                                                           plan::BuildOptions opt);

}  // namespace mpq::api
