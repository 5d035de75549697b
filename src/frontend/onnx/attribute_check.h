// Attribute values checked on the file's own nodes before ONNX's checker and shape inference run:
// onnx's inference divides by strides and sizes it does not validate (a zero stride is a SIGFPE),
// so every node of an op mpq knows goes through its OpDef::check_attrs first, with the input ranks
// the file declares (graph inputs, initializers, value_info).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "frontend/onnx/model_io.h"

namespace mpq::onnx_io {

// Throws kInvalidInput naming the file, the node and the attribute on the first bad value.
// Nodes of ops mpq does not know, and attributes it cannot represent, are left to the importer,
// which reports them as unsupported. Returns false if some node's values could not all be checked
// for want of a declared input rank (OpDef::needs_declared_ranks): onnx's shape inference must not
// run then.
bool check_node_attributes(const onnx::GraphProto& g, const std::map<std::string, int64_t>& opsets,
                           const std::string& file);

// Whether every node's op is one mpq knows at the model's opset. onnx's shape inference runs only
// then: its functions for other ops trust their inputs' ranks unchecked (STFT on a rank-1 signal
// crashes it), and such a model is refused as unsupported anyway.
bool all_ops_known(const onnx::GraphProto& g, const std::map<std::string, int64_t>& opsets);

}  // namespace mpq::onnx_io
