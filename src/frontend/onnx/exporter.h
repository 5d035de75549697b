// ir::Graph -> ONNX ModelProto. Writes the graph's opset (raised to the lowest opset at which
// every node's canonical form, which follows the newer opsets, is valid ONNX), node names, module paths (in each node's
// doc_string, which the importer reads back), initializers (every constant value), value_info for
// every typed intermediate value. The result is checked with onnx's checker. Files are written to a
// temporary name and renamed, so a failed export never leaves a partial file.
#pragma once

#include <string>

#include "ir/graph.h"

namespace onnx {
class ModelProto;
}

namespace mpq {

void graph_to_model(const Graph& g, onnx::ModelProto* out);
std::string export_onnx_bytes(const Graph& g);
void export_onnx(const Graph& g, const std::string& path);

// Writes bytes to `path` through a temporary file in the same folder and a rename.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace mpq
