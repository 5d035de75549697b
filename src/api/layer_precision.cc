#include "api/layer_precision.h"

#include <unordered_map>

#include "quant/config_list.h"
#include "quant/name_match.h"

namespace mpq::api {

namespace {

int bits_of(const std::string& precision) {
  if (precision == "int8") return 8;
  if (precision == "fp16" || precision == "bf16") return 16;
  if (precision == "fp32") return 32;
  return 0;
}

bool matches(const std::string& pattern, const Node& n) {
  if (n.name == pattern || (!n.module_path.empty() && n.module_path == pattern)) return true;
  return quant::is_glob(pattern) &&
         (quant::glob_match(pattern, n.name) ||
          (!n.module_path.empty() && quant::glob_match(pattern, n.module_path)));
}

}  // namespace

std::vector<LayerPrecisionRule> parse_layer_precisions(const std::string& spec,
                                                       const std::string& key) {
  std::vector<LayerPrecisionRule> rules;
  size_t begin = 0;
  while (begin <= spec.size()) {
    size_t end = spec.find(',', begin);
    if (end == std::string::npos) end = spec.size();
    const std::string entry = spec.substr(begin, end - begin);
    const size_t colon = entry.rfind(':');
    if (colon == std::string::npos || colon == 0)
      invalid_input(
          str("entry '", entry, "' is not PATTERN:PRECISION (e.g. 'conv1:int8,fc*:fp16')"))
          .key(key)
          .raise();
    LayerPrecisionRule r{entry.substr(0, colon), entry.substr(colon + 1), 0};
    r.bits = bits_of(r.precision);
    if (!r.bits)
      invalid_input(str("entry '", entry, "': unknown precision '", r.precision,
                        "' (expected int8, fp16, bf16 or fp32)"))
          .key(key)
          .raise();
    rules.push_back(r);
    begin = end + 1;
  }
  return rules;
}

void apply_layer_precisions(quant::CalibrationTable& t, const Graph& g,
                            const std::vector<LayerPrecisionRule>& rules, const std::string& key) {
  // A node keeps the key the table already uses for it (two keys naming one node are an error).
  std::unordered_map<const Node*, std::string> key_of;
  for (const quant::ResolvedLayer& rl : quant::resolve_layers(t, g)) key_of[rl.node] = rl.key;
  const auto consts = quant::constant_nodes(g);
  std::vector<std::string> names;
  for (const auto& n : g.nodes()) {
    if (consts.count(n.get())) continue;
    names.push_back(n->name);
    if (!n->module_path.empty()) names.push_back(n->module_path);
  }
  for (const LayerPrecisionRule& r : rules) {
    int matched = 0;
    for (const auto& n : g.nodes()) {
      if (consts.count(n.get()) || !matches(r.pattern, *n)) continue;
      ++matched;
      auto it = key_of.find(n.get());
      const std::string k = it != key_of.end() ? it->second : quant::layer_key(g, *n);
      key_of[n.get()] = k;
      quant::LayerPrecision& l = t.layers[k];
      const bool weighted = quant::node_has_weight(*n);
      l.weight_bits = weighted ? r.bits : 0;
      l.output_bits = weighted ? 0 : r.bits;
      l.input_bits = 0;
      l.source = "layer-precision";
    }
    if (!matched) {
      auto near = quant::near_matches(r.pattern, names);
      invalid_input(
          str("'", r.pattern, ":", r.precision, "': '", r.pattern,
              "' matches no layer of the model",
              near.empty() ? std::string() : str(" (near matches: ", quant::quoted_list(near), ")"),
              "; `mpq info` lists the layers"))
          .key(key)
          .raise();
    }
  }
}

}  // namespace mpq::api
