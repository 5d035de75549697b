#include "quant/config_list.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/input_file.h"
#include "ir/op_def.h"
#include "quant/name_match.h"
#include "quant/torch_op_types.h"

namespace mpq::quant {

using nlohmann::json;

const char* quant_type_name(QuantType t) {
  switch (t) {
    case QuantType::kWeight:
      return "weight";
    case QuantType::kInput:
      return "input";
    case QuantType::kOutput:
      return "output";
  }
  return "?";
}

namespace {

const std::vector<std::string> kKnownKeys = {"quant_types",  "quant_bits",      "quant_dtype",
                                             "quant_scheme", "op_types",        "op_names",
                                             "exclude",      "quant_start_step"};

bool parse_quant_type(const std::string& s, QuantType* t) {
  for (int i = 0; i < kNumQuantTypes; ++i)
    if (s == quant_type_name(static_cast<QuantType>(i)))
      return *t = static_cast<QuantType>(i), true;
  return false;
}

const char* json_type(const json& v) {
  return v.type_name();
}

class EntryParser {
 public:
  EntryParser(const std::string& source, int index, bool lenient,
              std::vector<std::string>* warnings)
      : source_(source), index_(index), lenient_(lenient), warnings_(warnings) {}

  [[noreturn]] void fail(const std::string& key, const std::string& msg) const {
    invalid_input(str("config_list entry ", index_, ": ", msg))
        .file(source_)
        .key(key.empty() ? str("[", index_, "]") : str("[", index_, "].", key))
        .raise();
  }
  void warn(const std::string& msg) const {
    warnings_->push_back(str(source_, ": config_list entry ", index_, ": ", msg));
  }

  std::vector<std::string> string_list(const json& v, const std::string& key) const {
    if (!v.is_array()) fail(key, str("expected a list of strings, got ", json_type(v)));
    std::vector<std::string> out;
    for (const auto& s : v) {
      if (!s.is_string()) fail(key, str("expected a list of strings, found a ", json_type(s)));
      out.push_back(s.get<std::string>());
    }
    return out;
  }

  int bits_value(const json& v, const std::string& key) const {
    if (!v.is_number_integer()) fail(key, str("bits must be an integer, got ", json_type(v)));
    const int64_t b = v.get<int64_t>();
    if (b < 1 || b > 32) fail(key, str("bits must be in 1..32, got ", b));
    return static_cast<int>(b);
  }

  // A value given either once for all types or as {type: value}; calls set(type, value, key).
  template <typename F>
  void per_type(const json& v, const std::string& key, bool must_cover_enabled,
                const ConfigEntry& e, F set) const {
    if (!v.is_object()) {
      for (int t = 0; t < kNumQuantTypes; ++t) set(t, v, key);
      return;
    }
    for (const auto& [k, val] : v.items()) {
      QuantType t;
      if (!parse_quant_type(k, &t))
        fail(key + "." + k, "unknown quant type (expected weight, input or output)");
      set(static_cast<int>(t), val, key + "." + k);
    }
    if (must_cover_enabled)
      for (int t = 0; t < kNumQuantTypes; ++t)
        if (e.types[t].enabled && !v.contains(quant_type_name(static_cast<QuantType>(t))))
          fail(key, str("the dict does not give bits for '",
                        quant_type_name(static_cast<QuantType>(t)), "', which quant_types lists"));
  }

  ConfigEntry parse(const json& j) const {
    if (!j.is_object()) fail("", str("expected an object, got ", json_type(j)));
    ConfigEntry e;
    e.index = index_;
    for (const auto& [k, v] : j.items()) {
      bool known = false;
      for (const auto& kk : kKnownKeys) known |= k == kk;
      if (!known) {
        auto near = near_matches(k, kKnownKeys, 1);
        const std::string hint =
            near.empty() ? std::string() : str(" (did you mean '", near[0], "'?)");
        if (lenient_)
          warn(str("unknown key '", k, "' is ignored", hint));
        else
          fail(k,
               str("unknown key '", k, "'", hint,
                   "; NNI's schema refuses unknown keys (--lenient ignores them with a warning)"));
      }
    }
    if (j.contains("op_types"))
      e.has_op_types = true, e.op_types = string_list(j["op_types"], "op_types");
    if (j.contains("op_names"))
      e.has_op_names = true, e.op_names = string_list(j["op_names"], "op_names");
    if (!e.has_op_types && !e.has_op_names)
      fail("", "an entry needs op_types or op_names to say which layers it applies to");
    if (j.contains("exclude")) {
      e.exclude = true;
      if (!j["exclude"].is_boolean())
        fail("exclude", str("expected true or false, got ", json_type(j["exclude"])));
      if (!j["exclude"].get<bool>())
        warn(
            "'exclude': false still excludes the matched layers (NNI checks only that the key is "
            "present)");
    }
    const bool has_types = j.contains("quant_types"), has_bits = j.contains("quant_bits");
    if (!e.exclude && (!has_types || !has_bits))
      fail(has_types ? "quant_bits" : "quant_types",
           "an entry needs quant_types and quant_bits (or exclude)");
    if (has_types) {
      for (const auto& s : string_list(j["quant_types"], "quant_types")) {
        QuantType t;
        if (!parse_quant_type(s, &t))
          fail("quant_types",
               str("unknown quant type '", s, "' (expected weight, input or output)"));
        e.types[static_cast<int>(t)].enabled = true;
      }
    }
    if (has_bits)
      per_type(j["quant_bits"], "quant_bits", true, e,
               [&](int t, const json& v, const std::string& key) {
                 e.types[t].bits = bits_value(v, key);
               });
    if (j.contains("quant_dtype"))
      per_type(j["quant_dtype"], "quant_dtype", false, e,
               [&](int t, const json& v, const std::string& key) {
                 if (!v.is_string() || !parse_quant_dtype(v.get<std::string>(), &e.types[t].dtype))
                   fail(key, str("expected \"int\" or \"uint\", got ", v.dump()));
               });
    if (j.contains("quant_scheme"))
      per_type(
          j["quant_scheme"], "quant_scheme", false, e,
          [&](int t, const json& v, const std::string& key) {
            if (!v.is_string() || !parse_quant_scheme(v.get<std::string>(), &e.types[t].scheme))
              fail(key,
                   str("expected per_tensor_affine, per_tensor_symmetric, per_channel_affine or "
                       "per_channel_symmetric, got ",
                       v.dump()));
          });
    for (int t = 0; t < kNumQuantTypes; ++t) {
      TypeSetting& s = e.types[t];
      s.axis = is_per_channel(s.scheme) ? (t == 0 ? 0 : 1) : -1;
      if (!s.enabled) s.bits = 0;
    }
    if (j.contains("quant_start_step")) {
      const json& v = j["quant_start_step"];
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
        fail("quant_start_step", str("expected an integer >= 0, got ", v.dump()));
      e.quant_start_step = static_cast<int>(v.get<int64_t>());
    }
    return e;
  }

 private:
  const std::string& source_;
  int index_;
  bool lenient_;
  std::vector<std::string>* warnings_;
};

bool op_type_matches(const Node& n, const std::string& type) {
  if (type == "default") return node_is_weighted_default(n);
  if (const TorchOpType* t = find_torch_op_type(type)) return node_is_torch_type(n, *t);
  const OpDef& d = n.def();
  return d.name == type || (!d.onnx.op_type.empty() && d.onnx.op_type == type);
}

bool op_name_matches(const Node& n, const std::string& pattern) {
  if (n.name == pattern || (!n.module_path.empty() && n.module_path == pattern)) return true;
  if (!is_glob(pattern)) return false;
  return glob_match(pattern, n.name) ||
         (!n.module_path.empty() && glob_match(pattern, n.module_path));
}

bool entry_matches(const ConfigEntry& e, const Node& n) {
  if (e.has_op_types) {
    bool any = false;
    for (const auto& t : e.op_types) any |= op_type_matches(n, t);
    if (!any) return false;
  }
  if (e.has_op_names) {
    bool any = false;
    for (const auto& p : e.op_names) any |= op_name_matches(n, p);
    if (!any) return false;
  }
  return true;
}

}  // namespace

ConfigList ConfigList::parse_string(const std::string& text, const std::string& source,
                                    ConfigListOptions options) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // syntax errors and numbers out of range
    invalid_input(str("config_list is not valid JSON: ", e.what())).file(source).raise();
  }
  if (!j.is_array())
    invalid_input(str("config_list must be a JSON list of entries, got ", j.type_name()))
        .file(source)
        .raise();
  ConfigList c;
  c.source_ = source;
  c.options_ = options;
  for (size_t i = 0; i < j.size(); ++i)
    c.entries_.push_back(
        EntryParser(source, static_cast<int>(i), options.lenient, &c.warnings_).parse(j[i]));
  return c;
}

ConfigList ConfigList::parse_file(const std::string& path, ConfigListOptions options) {
  return parse_string(read_input_file(path, "config_list file (JSON)"), path, options);
}

std::vector<std::string> ConfigList::check_qat() const {
  std::vector<std::string> warnings;
  auto issue = [&](const ConfigEntry& e, const std::string& key, const std::string& msg) {
    if (options_.lenient)
      return warnings.push_back(str(source_, ": config_list entry ", e.index, ": ", msg));
    invalid_input(str("config_list entry ", e.index, ": ", msg,
                      " (NNI's QAT_Quantizer refuses it; --lenient makes this a warning)"))
        .file(source_)
        .key(str("[", e.index, "].", key))
        .raise();
  };
  for (const ConfigEntry& e : entries_) {
    for (const auto& t : e.op_types)
      if (t == "default")
        issue(e, "op_types",
              "op_types 'default' is not a QAT op type: name the types (Conv2d, Linear, ...)");
    for (int t = 0; t < kNumQuantTypes; ++t)
      if (e.types[t].enabled && e.types[t].bits > 31)
        issue(e, "quant_bits",
              str(quant_type_name(static_cast<QuantType>(t)),
                  " bits must be in 1..31 for QAT, got ", e.types[t].bits));
  }
  return warnings;
}

std::unordered_set<const Node*> constant_nodes(const Graph& g) {
  std::unordered_set<const Node*> out;
  for (const auto& n : g.nodes()) {  // topological order: producers come first
    bool all = true;
    for (const Value* in : n->inputs)
      if (in && !in->is_constant() && !(in->producer && out.count(in->producer))) all = false;
    if (all) out.insert(n.get());
  }
  return out;
}

ResolvedConfig ConfigList::resolve(const Graph& g) const {
  ResolvedConfig r;
  const auto consts = constant_nodes(g);
  for (const auto& np : g.nodes()) {
    const Node& n = *np;
    if (consts.count(&n)) continue;
    const ConfigEntry* win = nullptr;
    for (const auto& e : entries_)
      if (entry_matches(e, n)) win = &e;  // the last match wins
    if (!win || win->exclude) continue;
    NodeQuantSetting s;
    s.node = &n;
    s.entry = win->index;
    s.types = win->types;
    s.quant_start_step = win->quant_start_step;
    r.nodes.push_back(s);
  }
  // Names and types that select nothing (NNI warns; so do we, with near matches).
  std::vector<std::string> names;
  std::set<std::string> op_names_in_graph;
  for (const auto& n : g.nodes()) {
    names.push_back(n->name);
    if (!n->module_path.empty()) names.push_back(n->module_path);
    op_names_in_graph.insert(n->def().name);
  }
  for (const auto& e : entries_) {
    for (const auto& p : e.op_names) {
      bool any = false;
      for (const auto& n : g.nodes()) any |= op_name_matches(*n, p);
      if (any) continue;
      auto near = near_matches(p, names);
      const std::string msg =
          str("op_names '", p, "' matches no layer of the model",
              near.empty() ? std::string() : str(" (near matches: ", quoted_list(near), ")"));
      if (!options_.lenient)
        invalid_input(str("config_list entry ", e.index, ": ", msg,
                          "; name a module path or ONNX node name (`mpq info` lists them), or "
                          "pass --lenient to make this a warning"))
            .file(source_)
            .key(str("[", e.index, "].op_names"))
            .raise();
      r.warnings.push_back(str(source_, ": config_list entry ", e.index, ": ", msg));
    }
    for (const auto& t : e.op_types) {
      const bool known = t == "default" || find_torch_op_type(t) || find_op_def(t) || [&] {
        for (const OpDef* d : all_op_defs())
          if (d->onnx.op_type == t) return true;
        return false;
      }();
      bool any = false;
      for (const auto& n : g.nodes()) any |= op_type_matches(*n, t);
      if (any) continue;
      if (!known) {
        std::vector<std::string> types(op_names_in_graph.begin(), op_names_in_graph.end());
        for (const auto& tt : torch_op_types()) types.push_back(tt.torch_name);
        auto near = near_matches(t, types);
        r.warnings.push_back(
            str(source_, ": config_list entry ", e.index, ": unknown op_types '", t, "'",
                near.empty() ? std::string() : str(" (near matches: ", quoted_list(near), ")")));
      } else {
        r.warnings.push_back(str(source_, ": config_list entry ", e.index, ": op_types '", t,
                                 "' matches no layer of the model"));
      }
    }
  }
  return r;
}

const NodeQuantSetting* ResolvedConfig::find(const Node* n) const {
  for (const auto& s : nodes)
    if (s.node == n) return &s;
  return nullptr;
}

const NodeQuantSetting* ResolvedConfig::find(const std::string& name) const {
  for (const auto& s : nodes)
    if (s.node->name == name) return &s;
  return nullptr;
}

bool node_has_weight(const Node& n) {
  return has_constant_weight(n) && n.inputs[1]->constant->rank() >= 2;
}

ResolvedConfig default_8bit_config(const Graph& g) {
  ResolvedConfig r;
  const auto consts = constant_nodes(g);
  for (const auto& n : g.nodes()) {
    if (n->def().quant != QuantRule::kRequant || consts.count(n.get())) continue;
    NodeQuantSetting s;
    s.node = n.get();
    if (node_has_weight(*n))
      s.types[0] = {true, 8, QuantDtype::kInt, QuantScheme::kPerChannelSymmetric, 0};
    s.types[1] = {true, 8, QuantDtype::kUint, QuantScheme::kPerTensorAffine, -1};
    s.types[2] = {true, 8, QuantDtype::kUint, QuantScheme::kPerTensorAffine, -1};
    r.nodes.push_back(s);
  }
  return r;
}

}  // namespace mpq::quant
