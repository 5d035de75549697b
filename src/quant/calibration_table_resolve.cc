// Matching a calibration table to a graph: layer keys -> nodes, and "was this table computed on
// this model" (hash) checks.
#include <algorithm>
#include <set>
#include <unordered_map>

#include "quant/calibration_table.h"
#include "quant/config_list.h"
#include "quant/model_hash.h"
#include "quant/name_match.h"

namespace mpq::quant {

std::string layer_key(const Graph& g, const Node& n) {
  if (n.module_path.empty()) return n.name;
  const auto consts = constant_nodes(g);
  int users = 0;
  for (const auto& m : g.nodes())
    users += m->module_path == n.module_path && !consts.count(m.get());
  return users == 1 ? n.module_path : n.name;
}

std::vector<ResolvedLayer> resolve_layers(const CalibrationTable& t, const Graph& g,
                                          const std::string& file) {
  std::unordered_map<std::string, std::vector<const Node*>> by_path;
  std::unordered_map<std::string, const Node*> by_name, by_output;
  std::vector<std::string> candidates;
  const auto consts = constant_nodes(g);
  for (const auto& n : g.nodes()) {
    // A module path names the module's computing nodes, not the constants it holds.
    if (!n->module_path.empty() && !consts.count(n.get()))
      by_path[n->module_path].push_back(n.get());
    by_name[n->name] = n.get();
    for (const Value* o : n->outputs) by_output[o->name] = n.get();
    candidates.push_back(n->label());
  }
  std::unordered_map<const Node*, std::string> claimed;  // node -> key that named it
  std::vector<ResolvedLayer> out;
  for (const auto& [key, layer] : t.layers) {
    std::vector<const Node*> nodes;
    std::string how;
    if (auto it = by_path.find(key); it != by_path.end()) {
      nodes = it->second, how = "module_path";
    } else if (auto it2 = by_name.find(key); it2 != by_name.end()) {
      nodes = {it2->second}, how = "node_name";
    } else if (auto it3 = by_output.find(key); it3 != by_output.end()) {
      nodes = {it3->second}, how = "output_name";
    } else {
      std::vector<std::string> all = candidates;
      for (const auto& [name, _] : by_name) all.push_back(name);
      auto near = near_matches(key, all);
      not_found(str("layer '", key, "' is not in the model",
                    near.empty()
                        ? std::string(" (layer keys are PyTorch module paths, ONNX node names or "
                                      "output tensor names)")
                        : str("; near matches: ", quoted_list(near))))
          .file(file)
          .key(key)
          .raise();
    }
    for (const Node* n : nodes) {
      auto [it, fresh] = claimed.emplace(n, key);
      if (!fresh)
        invalid_input(str("layers '", it->second, "' and '", key, "' both name node '", n->name,
                          "': keep one of them"))
            .file(file)
            .key(key)
            .raise();
      out.push_back({key, n, &layer, how});
    }
  }
  // Graph order, so that consumers see layers as the model runs them.
  std::unordered_map<const Node*, size_t> pos;
  for (size_t i = 0; i < g.nodes().size(); ++i) pos[g.nodes()[i].get()] = i;
  std::sort(out.begin(), out.end(), [&](const ResolvedLayer& a, const ResolvedLayer& b) {
    return pos[a.node] < pos[b.node];
  });
  return out;
}

std::vector<std::string> check_table_matches(const CalibrationTable& t, const Graph& g, bool force,
                                             const std::string& file) {
  std::vector<std::string> warnings;
  auto problem = [&](const std::string& msg, const std::string& key) {
    if (!force)
      invalid_input(msg + ": recalibrate on this model, or pass --force to use it anyway")
          .file(file)
          .key(key)
          .raise();
    warnings.push_back(str(file.empty() ? "" : file + ": ", msg, " (used anyway: --force)"));
  };
  if (!t.header.model_hash.empty()) {
    const std::string h = model_hash(g);
    if (h != t.header.model_hash)
      problem(str("the calibration table was computed for another model (its model hash is ",
                  t.header.model_hash, ", this model's is ", h, ")"),
              "model_hash");
  }
  for (const auto& [name, _] : t.tensors)
    if (!g.find_value(name)) {
      problem(str("the table's tensor '", name, "' is not in the model"), "tensors." + name);
      break;
    }
  for (const auto& [name, _] : t.weights)
    if (!g.find_value(name)) {
      problem(str("the table's weight '", name, "' is not in the model"), "weights." + name);
      break;
    }
  return warnings;
}

}  // namespace mpq::quant
