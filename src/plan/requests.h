// What the user asked for, read off the calibration table against the ORIGINAL graph (before
// passes): the requested precision of each layer (NNI bits -> precision, or the default) and the
// range of each tensor (the table's tensor ranges, overridden by a layer's tracked_*_input /
// tracked_*_output for that layer's input 0 / output 0).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/precision.h"
#include "core/quant_params.h"
#include "ir/graph.h"
#include "plan/plan.h"
#include "quant/calibration_table.h"

namespace mpq::plan {

struct Request {
  Precision precision = Precision::kFp32;
  int bits = 32;             // as requested (4 is recorded and runs int8 where possible)
  std::string source;        // "config", "calibration" or "default"
  bool is_explicit = false;  // named by the table (not the default)
  std::string key;           // the table's layer key
  // The table's output_bits (0: not given). 16 or 32 on an int8 layer asks for int8 compute with
  // a float output (NNI: set_output_type), dequantized in the layer's epilogue.
  int output_bits = 0;
};

struct RangeInfo {
  float min = 0.f, max = 0.f;
  std::string source;  // "tensor" (table.tensors) or "layer <key>"
  // How to quantize it (NNI's quant_dtype / quant_scheme when the table says; else u8 affine).
  std::optional<quant::TypeQuantSpec> spec;
  // The quantization itself, when the model fixed it (QDQ import): used as it is.
  std::optional<quant::FixedQuant> fixed;
};

struct Requests {
  std::map<std::string, Request> layers;    // node name -> request (named layers only)
  std::map<std::string, RangeInfo> ranges;  // value name -> range
  // Weights whose int8 scales the model fixed (QDQ import): value name -> symmetric int8
  // parameters (axis -1 for one scale). Kernels quantize these weights with exactly these scales.
  std::map<std::string, QuantParams> weight_quant;
  Request default_request;

  const Request& of(const std::string& node) const {
    auto it = layers.find(node);
    return it == layers.end() ? default_request : it->second;
  }
};

Requests read_requests(const Graph& original, const quant::CalibrationTable* table,
                       const BuildOptions& opt);

// The activation quantization of a range, with ONNX QuantizeLinear's formulas (quant_math):
//   * as the range's spec says, when the table gives one (NNI quant_dtype / quant_scheme);
//   * else u8 with zero point 0 for a range that starts at 0 (after a ReLU);
//   * else, for a signed range: u8 affine when the tensor feeds a conv/gemm (VNNI/AMX multiply
//     u8 activations by s8 weights; a src zero point is cheap), s8 symmetric otherwise (a
//     residual or an output: no dst zero point, which would cost oneDNN its fastest kernels).
//   * exactly as fixed, when the model fixed it (a QDQ model's scale and zero point).
// *widened is set when the range had to be widened to contain 0.
QuantParams activation_quant(const RangeInfo& r, bool feeds_weighted_op, DType* dtype,
                             bool* widened);

}  // namespace mpq::plan
