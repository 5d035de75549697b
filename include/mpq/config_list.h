// NNI's config_list (v2.10 semantics, docs/nni.md §1), the one parser shared by calibration, QAT
// and the engine builder.
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
//     docs/nni.md), `default` (NNI's weighted modules), or ONNX/mpq op types (Conv, Gemm).
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
#include <vector>

#include "mpq/quant_types.h"

namespace mpq {
class Graph;
}

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

// Per-node settings of a config_list resolved against a graph (library-internal).
struct ResolvedConfig;

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

}  // namespace mpq::quant
