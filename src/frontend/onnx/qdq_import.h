// QDQ models — QuantizeLinear/DequantizeLinear pairs as PyTorch FX int8 exports, ONNX Runtime's
// quantize_static and TensorRT's explicit quantization write them — into what mpq builds from: a
// float graph and a calibration table that fixes the quantization the file chose.
//
//   * x -> QuantizeLinear(s, z) [-> Cast to the same type] -> DequantizeLinear(s, z): the pair
//     goes, x keeps its consumers, and the table fixes x's quantization to exactly (s, z, int8 or
//     uint8) (TensorRange::fixed).
//   * DequantizeLinear(int8 constant), or QuantizeLinear -> DequantizeLinear of a float constant:
//     the float weight the model computes, and when it is a conv/gemm weight its scales are fixed
//     (WeightRange::scale), so the engine's int8 weights are the file's.
//   * A conv/gemm with a quantized input and quantized weights runs int8 (layer source "qdq"); so
//     does an Add/average whose inputs and output are all quantized.
//
// What the engine cannot run exactly is refused naming the node (kUnsupported): per-channel
// activations, asymmetric or uint8 weights, weight scales along a non-output axis, a quantized
// weight with a float input or the reverse, a Q without its DQ. With `lenient` such a pattern
// falls back to float instead, and a note says which node and why. Bad values (a scale that is
// not positive and finite, a zero point outside its type's range, parameters that are not
// constants) are always kInvalidInput.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "mpq/calibration_table.h"

namespace mpq {

struct QdqImportOptions {
  bool lenient = false;  // fall back to float (with a note) where a pattern cannot be honoured
  std::string file;      // the model file, named in messages
};

struct QdqImport {
  std::unique_ptr<Graph> graph;  // float graph without QuantizeLinear/DequantizeLinear
  quant::CalibrationTable table;
  std::vector<std::string> notes;  // lenient fallbacks, one line each
};

// Whether g has any QuantizeLinear or DequantizeLinear node.
bool has_qdq(const Graph& g);

QdqImport strip_qdq(const Graph& g, const QdqImportOptions& opt = {});

}  // namespace mpq
