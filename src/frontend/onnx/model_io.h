// Reading an ONNX model file safely: parse, model-level checks (IR version, opsets), external
// data loaded into the model, onnx's checker and shape inference with their failures turned into
// one-line mpq errors naming the file (and the node, when onnx says which).
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <string>

namespace mpq::onnx_io {

// Opsets of the default domain mpq knows at all; individual ops narrow this through their
// registry binding. libonnx 1.12 knows up to 17: newer models skip its checker/inference.
constexpr int kMinOpset = 1;
constexpr int kMaxOpset = 18;
constexpr int kLibOnnxMaxOpset = 17;

// Reads and parses `path`. Throws kNotFound if it does not exist, kInvalidInput if it is not a
// parseable ModelProto.
onnx::ModelProto read_model_file(const std::string& path);
// Parses bytes; `name` is used in messages.
onnx::ModelProto parse_model_bytes(const std::string& bytes, const std::string& name);

// Domain ("" for ai.onnx) -> opset version, validated (unknown default opset, duplicates).
std::map<std::string, int64_t> model_opsets(const onnx::ModelProto& m, const std::string& file);

// Replaces every external-data tensor (initializers and tensor attributes) by its bytes, read from
// `base_dir` (the model's folder). Locations must stay inside that folder. An empty base_dir means
// the model came as bytes: external data is then an error.
void load_external_data(onnx::ModelProto* m, const std::string& base_dir, const std::string& file);

// Structural checks with mpq's messages (run before onnx's checker, whose messages are less
// clear): a graph with nodes and outputs, no dangling value, no value produced twice, no cycle.
void precheck_graph(const onnx::GraphProto& g, const std::string& file);

// onnx::checker::check_model and onnx::shape_inference::InferShapes (strict). Both are skipped for
// models newer than libonnx knows (returns false then).
bool run_onnx_checks(onnx::ModelProto* m, bool checker, bool shape_inference,
                     const std::string& file);

}  // namespace mpq::onnx_io
