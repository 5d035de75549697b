// ONNX -> ir::Graph. Reads a model (file or bytes), validates it (onnx's checker and shape
// inference, plus mpq's own structural checks with clear messages), loads external data, converts
// tensors and attributes, finds every op through the registry (find_onnx_op), applies each op's
// attribute schema, import fixup and unsupported-variant check, infers shapes and verifies the
// graph. Node names are kept (unnamed nodes get unique invented names); each node's PyTorch module
// path is derived (module_path.h).
//
// Errors name the file and the node or key: kNotFound (no such file, missing external data),
// kInvalidInput (anything wrong with the model), kUnsupported (valid ops or variants mpq does not
// handle: ONE error listing every such node with its op_type and opset).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace onnx {
class ModelProto;
}

namespace mpq {

// A node (or graph input/initializer) mpq cannot import.
struct UnsupportedNode {
  std::string name;     // node name (invented if the file has none), or the input's name
  std::string op_type;  // "input"/"initializer" for a value of an unsupported type
  std::string domain;   // "" = ai.onnx
  int64_t opset = 0;
  std::string reason;
  std::string module_path;  // derived like a supported node's (for reports)
  bool op_known = false;  // the registry has this op; the node uses an unsupported variant
};

// Facts about the file that the Graph does not keep (for `mpq info`).
struct ModelMeta {
  std::string producer_name, producer_version;
  int64_t ir_version = 0;
  std::map<std::string, int64_t> opsets;  // domain ("" = ai.onnx) -> version
  bool onnx_checked = false;  // onnx's checker and shape inference ran (skipped for newer models)
  bool complete = true;       // false: unsupported nodes were collected; do not execute the graph
};

struct ImportOptions {
  bool run_checker = true;          // onnx::checker::check_model
  bool run_shape_inference = true;  // onnx's strict shape inference
  // When set, unsupported nodes are listed here instead of failing the import. The graph then keeps
  // only what mpq knows (values produced by unknown ops keep the types onnx inferred) and must not
  // be executed: for reports such as `mpq info`.
  std::vector<UnsupportedNode>* collect_unsupported = nullptr;
  ModelMeta* meta = nullptr;  // filled when set
};

std::unique_ptr<Graph> import_onnx(const std::string& path, const ImportOptions& opts = {});
// `name` is used in messages; `base_dir` is where external data lives (empty: none allowed).
std::unique_ptr<Graph> import_onnx_bytes(const std::string& bytes, const std::string& name,
                                         const ImportOptions& opts = {},
                                         const std::string& base_dir = "");
// From a parsed model (consumed: external data is loaded into it, onnx adds value_info).
std::unique_ptr<Graph> import_onnx_model(onnx::ModelProto& model, const std::string& name,
                                         const ImportOptions& opts = {},
                                         const std::string& base_dir = "");

// "2 unsupported nodes: 'a' (Foo, opset 13): no op Foo in mpq's registry; 'b' (...): ..."
std::string format_unsupported(const std::vector<UnsupportedNode>& list);

}  // namespace mpq
