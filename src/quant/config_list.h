// NNI's config_list (v2.10 semantics, nni.md §1), the one parser shared by calibration, QAT and
// the engine builder.
//
//   [{"quant_types": ["input", "weight"], "quant_bits": {"input": 8, "weight": 8},
//     "op_types": ["Conv2d"]},
//    {"quant_types": ["output"], "quant_bits": 8, "op_names": ["relu1", "layer*.relu"]},
//    {"exclude": true, "op_names": ["fc2"]}]
//
// Matching (Compressor.select_config): every entry is tried in order; an entry matches a node when
// its op_types (if present) contain the node's type and its op_names (if present) contain the
// node's name; the LAST matching entry wins, with no merging; if the winner merely contains
// `exclude` the node is not quantized.
//   * op_types: PyTorch module names (Conv2d, Linear, ReLU, ReLU6, MaxPool2d, BatchNorm2d, ... see
//     torch_op_types.h), `default` (NNI's weighted modules), or ONNX/mpq op types (Conv, Gemm).
//   * op_names: Node::module_path (PyTorch module path) or the ONNX node name; beyond NNI, glob
//     patterns (*, ?, [..]).
//   * quant_bits: int or {type: int}, 1..32; quant_dtype: int|uint (default uint);
//     quant_scheme: per_tensor_affine (default) | per_tensor_symmetric | per_channel_affine |
//     per_channel_symmetric; both also as {type: value}. Per-channel axis: 0 for weights, 1 for
//     activations.
//   * quant_start_step: int >= 0 (QAT).
// Validation follows NNI's schema (utils/config_validation.py): wrong value types, out-of-range
// values and unknown keys are errors naming the file, the entry index and the key (key
// "[2].quant_bits"); so is an op_names entry that matches no layer (NNI only warns there), with
// near matches. QAT adds NNI QAT_Quantizer's refusals (check_qat). ConfigListOptions::lenient
// turns the schema errors (unknown keys, unmatched op_names, QAT's refusals) into warnings; wrong
// types and bits outside 1..32 stay errors.
#pragma once

#include <array>
#include <string>
#include <unordered_set>
#include <vector>

#include "ir/graph.h"
#include "quant/quant_math.h"

namespace mpq::quant {

enum class QuantType { kWeight = 0, kInput = 1, kOutput = 2 };
constexpr int kNumQuantTypes = 3;
const char* quant_type_name(QuantType t);  // "weight", "input", "output"

struct TypeSetting {
  bool enabled = false;
  int bits = 0;
  QuantDtype dtype = QuantDtype::kUint;
  QuantScheme scheme = QuantScheme::kPerTensorAffine;
  // Per-channel axis NNI uses for this type: 0 for weights, 1 for activations; -1 per tensor.
  int axis = -1;
};

struct ConfigEntry {
  int index = 0;  // position in the list
  bool has_op_types = false, has_op_names = false;
  std::vector<std::string> op_types, op_names;
  bool exclude = false;  // the key is present (its value is not checked, as in NNI)
  std::array<TypeSetting, kNumQuantTypes> types;
  int quant_start_step = 0;
};

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

struct ConfigListOptions {
  // NNI's schema errors that mpq can do without become warnings: unknown keys (ignored), op_names
  // entries that match no layer, and QAT's refusals (check_qat).
  bool lenient = false;
};

class ConfigList {
 public:
  // Throws kInvalidInput naming `file` (and the entry and key) on malformed input.
  static ConfigList parse_file(const std::string& path, ConfigListOptions options = {});
  static ConfigList parse_string(const std::string& json_text,
                                 const std::string& source = "<config_list>",
                                 ConfigListOptions options = {});

  // Per-node settings for `g`. Nodes that no entry matches are not quantized. An op_names entry
  // that matches no node is kInvalidInput (a warning in `warnings` when lenient); op_types that
  // match nothing are warnings, as in NNI.
  ResolvedConfig resolve(const Graph& g) const;
  // NNI QAT_Quantizer's schema on top of the common one: quant_bits in 1..31 (32 is mpq's "run
  // fp32" for calibration and builds, meaningless for fake-quantization) and no op_types
  // "default". Throws kInvalidInput naming the entry and key; lenient: returns them as warnings.
  std::vector<std::string> check_qat() const;
  bool lenient() const { return options_.lenient; }

  const std::vector<ConfigEntry>& entries() const { return entries_; }
  const std::vector<std::string>& warnings() const { return warnings_; }  // unknown keys etc.
  const std::string& source() const { return source_; }

 private:
  std::vector<ConfigEntry> entries_;
  std::vector<std::string> warnings_;
  std::string source_;
  ConfigListOptions options_;
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
