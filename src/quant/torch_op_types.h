// PyTorch module type names (as NNI's config_list op_types uses them) mapped onto mpq ops: the
// one table that says which graph nodes a "Conv2d" or "ReLU6" entry selects. Everything else
// about an op is read from its OpDef.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"

namespace mpq::quant {

struct TorchOpType {
  std::string torch_name;            // "Conv2d"
  std::vector<std::string> mpq_ops;  // OpDef names it lowers to ("Conv")
  bool weighted = false;             // part of NNI's `default` (default_layers.weighted_modules)
  std::string note;                  // extra condition, for docs ("Clip with min 0, max 6")
  bool (*matches)(const Node&) = nullptr;  // extra condition on the node (nullptr: none)
};

// The table (Conv1d/2d/3d, ConvTranspose*, Linear, ReLU, ReLU6, MaxPool*, AvgPool*, BatchNorm*,
// ...).
const std::vector<TorchOpType>& torch_op_types();
const TorchOpType* find_torch_op_type(std::string_view name);
// True if `node` is an instance of the PyTorch module type `t`.
bool node_is_torch_type(const Node& node, const TorchOpType& t);
// True if `node` is one of NNI's `default` (weighted) module types.
bool node_is_weighted_default(const Node& node);

}  // namespace mpq::quant
