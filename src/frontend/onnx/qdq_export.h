// A float graph with QuantizeLinear/DequantizeLinear inserted where an engine runs int8, in
// TensorRT's explicit-quantization placement: Q -> DQ on the quantized activation inputs of each
// int8 conv/gemm (and Add, averages), DQ of an int8 constant on each int8 weight. ONNX Runtime
// runs the result as a standard QDQ model; qdq_import.h reads it back to the same quantization.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/quant_params.h"
#include "ir/graph.h"

namespace mpq {

// The quantization one node of the float graph runs with.
struct NodeQdq {
  // Activation inputs (by input index) quantized per tensor: scale, zero point, signedness.
  std::map<size_t, QuantParams> inputs;
  // The int8 weight (input 1): symmetric scales, one per output channel along `axis` (the op's
  // weight_channel_axis) or one (axis -1). `narrow`: saturate to [-127, 127] (mpq's own scales),
  // else [-128, 127] (scales a QDQ model fixed).
  std::optional<QuantParams> weight;
  bool narrow = true;
};

// A copy of `g` with the Q/DQ nodes of `nodes` (keyed by node name) inserted; one Q/DQ pair per
// (tensor, quantization), shared by its consumers. Unknown node names are kInternal.
std::unique_ptr<Graph> insert_qdq(const Graph& g, const std::map<std::string, NodeQdq>& nodes);

}  // namespace mpq
