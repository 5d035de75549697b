// ConfigList (include/mpq/config_list.h) resolved against a graph: the settings of each node, and
// mpq's default when no config_list is given.
#pragma once

#include <array>
#include <string>
#include <unordered_set>
#include <vector>

#include "ir/graph.h"
#include "mpq/config_list.h"
#include "core/quant_math.h"

namespace mpq::quant {

// The settings of one node after matching.
struct NodeQuantSetting {
  const Node* node = nullptr;
  int entry = -1;  // index of the winning entry; -1 for mpq's default (no config_list)
  std::array<TypeSetting, kNumQuantTypes> types;
  int quant_start_step = 0;

  const TypeSetting& weight() const { return types[0]; }
  const TypeSetting& input() const { return types[1]; }
  const TypeSetting& output() const { return types[2]; }
  const TypeSetting& get(QuantType t) const { return types[static_cast<int>(t)]; }
};

struct ResolvedConfig {
  std::vector<NodeQuantSetting> nodes;  // quantized nodes, in graph order (excluded ones omitted)
  std::vector<std::string> warnings;    // op_names/op_types that match nothing, with near matches
  const NodeQuantSetting* find(const Node* n) const;
  const NodeQuantSetting* find(const std::string& node_name) const;
};

// mpq's default when no config_list is given: every quantizable node (OpDef::quant == kRequant)
// gets 8 bits on its weight (if it has a constant weight; int per-channel symmetric, axis 0), its
// input and its output (uint per-tensor affine).
ResolvedConfig default_8bit_config(const Graph& g);

// True if `node` has a constant weight operand NNI would quantize (input 1 of a weighted op).
bool node_has_weight(const Node& node);

// Nodes whose outputs are constant: Constant ops and nodes whose every input is a constant or
// comes from such a node (e.g. the Constant nodes holding ReLU6's 0 and 6 in PyTorch exports).
// They are not layers: config_list matching, layer keys and calibration skip them.
std::unordered_set<const Node*> constant_nodes(const Graph& g);

}  // namespace mpq::quant
