// What a model contains, for `mpq info`: inputs/outputs, op histogram, parameter count,
// multiply-accumulates (sum of OpDef::flops), per-node table with module paths and output types,
// and the nodes mpq cannot handle. Text and JSON renderings.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frontend/onnx/importer.h"
#include "ir/graph.h"

namespace mpq {

struct ModelSummary {
  struct Io {
    std::string name;
    DType dtype;
    Shape shape;
    bool has_type;
  };
  struct NodeRow {
    std::string name, op, module_path;
    std::vector<Io> outputs;
    int64_t macs = -1;  // -1: unknown (dynamic or unknown shapes, or the op has no count)
  };
  std::string file;
  ModelMeta meta;
  std::vector<Io> inputs, outputs;
  std::vector<std::pair<std::string, int64_t>> op_histogram;  // most frequent first
  int64_t parameters = 0;  // elements of constant tensors read by nodes (i64/bool excluded)
  int64_t parameter_bytes = 0;
  int64_t parameter_tensors = 0;
  int64_t macs = 0;                // sum over nodes with a known count
  int64_t nodes_without_macs = 0;  // nodes whose count is unknown (dynamic shapes)
  std::vector<NodeRow> nodes;
  std::vector<UnsupportedNode> unsupported;
};

ModelSummary summarize(const Graph& g, const ModelMeta& meta,
                       const std::vector<UnsupportedNode>& unsupported, const std::string& file);
// The multiply-accumulate count of one node, or -1 when its shapes are not all static.
int64_t node_macs(const Node& n);

std::string summary_text(const ModelSummary& s, bool with_nodes = true);
nlohmann::json summary_json(const ModelSummary& s);

}  // namespace mpq
