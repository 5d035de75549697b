// CalibrationTable (include/mpq/calibration_table.h) against a graph: which node each layer key
// names, whether a table was computed on this model, and the layer key mpq writes for a node.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "mpq/calibration_table.h"
#include "core/quant_math.h"

namespace mpq::quant {

// The double that prints as the float's shortest decimal form and reads back as the same float
// (0.1f -> 0.1, not 0.10000000149011612). Use it for floats stored in double fields (stats).
double json_float(float f);

// --- Matching a table to a graph (calibration_table_resolve.cc)

// One layer key resolved to a node.
struct ResolvedLayer {
  std::string key;
  const Node* node = nullptr;
  const LayerPrecision* layer = nullptr;
  std::string matched_by;  // "module_path", "node_name" or "output_name"
};
// Maps every layer key to the nodes it names: a PyTorch module path (all nodes of a module that
// is called several times), an ONNX node name, or the name of a node's output tensor. A key that
// matches nothing is an error listing near matches; two keys naming one node is an error.
// `file` names the table in messages. Result in graph order.
std::vector<ResolvedLayer> resolve_layers(const CalibrationTable& t, const Graph& g,
                                          const std::string& file = "");
// Checks that `t` was computed on `g`: a table with a model hash must match model_hash(g) and
// name only tensors of g. Mismatch: kInvalidInput ("recalibrate, or pass --force") unless
// `force`, in which case a warning is returned. Tables without a model hash (NNI configs) pass.
std::vector<std::string> check_table_matches(const CalibrationTable& t, const Graph& g, bool force,
                                             const std::string& file = "");

// The layer key mpq writes for a node: its module path when no other node shares it, else the
// node name (a PyTorch module called twice, e.g. a reused ReLU, gives one node per call).
std::string layer_key(const Graph& g, const Node& n);

}  // namespace mpq::quant
