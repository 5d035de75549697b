// Per-layer precision on the command line, trtexec's habit (--layerPrecisions):
//   mpq build --layer-precision 'conv1:int8,fc*:fp16'
// Each entry is PATTERN:PRECISION; PATTERN is a node name or PyTorch module path, or a glob of
// either (*, ?, [..]); PRECISION is int8, fp16, bf16 (both 16-bit float: fp16 on CUDA, bf16 on
// the CPU) or fp32. Entries apply in order over the calibration config and config_list, the last
// match winning. A pattern that matches no layer is an error listing near matches.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/calibration_table.h"

namespace mpq::api {

struct LayerPrecisionRule {
  std::string pattern;
  std::string precision;  // as written
  int bits = 32;          // 8, 16 or 32
};

// kInvalidInput naming `key` and the entry for a malformed spec.
std::vector<LayerPrecisionRule> parse_layer_precisions(const std::string& spec,
                                                       const std::string& key);

// Sets the bits of every layer each rule matches in `t` (weight bits for a layer with a weight,
// else output bits; ranges are kept). kInvalidInput naming `key` for a pattern matching nothing.
void apply_layer_precisions(quant::CalibrationTable& t, const Graph& g,
                            const std::vector<LayerPrecisionRule>& rules, const std::string& key);

}  // namespace mpq::api
