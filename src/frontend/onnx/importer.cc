#include "frontend/onnx/importer.h"

#include <filesystem>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "frontend/onnx/attribute_check.h"
#include "frontend/onnx/attributes.h"
#include "frontend/onnx/model_io.h"
#include "frontend/onnx/module_path.h"
#include "frontend/onnx/tensor_proto.h"
#include "frontend/onnx/utf8_names.h"
#include "ir/op_def.h"
#include "ir/sample_batch.h"
#include "ir/verifier.h"

namespace mpq {

using namespace onnx_io;

namespace {

std::string op_label(const std::string& domain, const std::string& op_type) {
  return domain.empty() ? op_type : domain + "::" + op_type;
}

// Why find_onnx_op found nothing: the op exists for other opsets, or not at all.
std::string why_no_op(const onnx::ModelProto& m, const std::string& dom, const std::string& op,
                      int64_t opset) {
  for (const auto& f : m.functions())
    if (f.name() == op && f.domain() == dom)
      return "model-local function (mpq does not inline ONNX functions)";
  std::string ranges;
  for (const OpDef* d : all_op_defs())
    if (d->onnx.op_type == op && d->onnx.domain == dom)
      ranges += str(ranges.empty() ? "" : ", ", d->onnx.min_opset, "..", d->onnx.max_opset);
  if (!ranges.empty()) return str("mpq supports ", op, " only in opsets ", ranges);
  return str("no op ", op_label(dom, op), " in mpq's registry");
}

class Converter {
 public:
  Converter(const onnx::ModelProto& m, std::string file, std::map<std::string, int64_t> opsets,
            const ImportOptions& opts)
      : m_(m), gp_(m.graph()), file_(std::move(file)), opsets_(std::move(opsets)), opts_(opts) {}

  std::unique_ptr<Graph> run() {
    g_ = std::make_unique<Graph>();
    g_->name = gp_.name();
    g_->opset = opsets_.at("");
    for (const auto& v : gp_.value_info()) onnx_types_[v.name()] = &v.type();
    for (const auto& v : gp_.output()) onnx_types_[v.name()] = &v.type();
    add_initializers_and_inputs();
    add_nodes();
    connect();
    g_->sort();
    check_nodes();
    assign_module_paths();
    if (!unsupported_.empty() && !opts_.collect_unsupported)
      unsupported(format_unsupported(unsupported_)).raise();
    if (opts_.collect_unsupported) *opts_.collect_unsupported = unsupported_;
    if (unsupported_.empty()) {
      infer_shapes(*g_);
      verify(*g_);
      check_declared_outputs();
    }
    return std::move(g_);
  }

 private:
  struct NodeInfo {
    int index;  // in the GraphProto
    int64_t opset;
    std::string domain;
    std::vector<std::string> inputs;
    std::string problem;  // an attribute mpq cannot represent
  };

  // A value of unknown origin (output of an unsupported node, input of an unsupported type): typed
  // from onnx's shape inference where it knows.
  Value* add_opaque(const std::string& name) {
    Value* v = g_->add_value(name);
    opaque_.insert(v);
    auto it = onnx_types_.find(name);
    std::string why;
    if (it != onnx_types_.end() && type_from_proto(*it->second, &v->dtype, &v->shape, &why))
      v->has_type = true;
    return v;
  }

  void add_initializers_and_inputs() {
    for (const auto& t : gp_.initializer()) {
      init_names_.insert(t.name());
      try {
        g_->add_constant(t.name(), tensor_from_proto(t));
      } catch (const Error& e) {
        if (e.status().code != Code::kUnsupported) throw;
        unsupported_.push_back(
            {t.name(), "initializer", "", g_->opset, e.status().message, "", true});
        add_opaque(t.name());
      }
    }
    if (gp_.sparse_initializer_size())
      unsupported_.push_back({gp_.sparse_initializer(0).values().name(), "initializer", "",
                              g_->opset, "sparse initializers are not supported", "", true});
    for (const auto& in : gp_.input()) {
      if (init_names_.count(in.name())) continue;  // an initializer with a default: a constant
      DType dt;
      Shape shape;
      std::string why;
      if (type_from_proto(in.type(), &dt, &shape, &why)) {
        g_->add_input(in.name(), dt, shape);
      } else {
        unsupported_.push_back({in.name(), "input", "", g_->opset, "graph input " + why, "", true});
        add_opaque(in.name());
      }
    }
  }

  // Node names: kept as written; unnamed nodes get "<op_type>_<index>", unique among all names.
  std::vector<std::string> node_names() {
    std::unordered_set<std::string> taken;
    for (const auto& n : gp_.node())
      if (!n.name().empty()) taken.insert(n.name());
    std::vector<std::string> names;
    for (int i = 0; i < gp_.node_size(); ++i) {
      std::string name = gp_.node(i).name();
      if (name.empty()) {
        name = str(gp_.node(i).op_type(), "_", i);
        for (int k = 1; taken.count(name); ++k) name = str(gp_.node(i).op_type(), "_", i, "_", k);
        taken.insert(name);
      }
      names.push_back(name);
    }
    return names;
  }

  void add_nodes() {
    std::vector<std::string> names = node_names();
    for (int i = 0; i < gp_.node_size(); ++i) {
      const onnx::NodeProto& np = gp_.node(i);
      const std::string& name = names[i];
      try {
        add_node(np, i, name);
      } catch (const Error& e) {
        throw e.with_node(name);
      }
    }
  }

  void add_node(const onnx::NodeProto& np, int index, const std::string& name) {
    std::string dom = np.domain() == "ai.onnx" ? "" : np.domain();
    auto oit = opsets_.find(dom);
    if (oit == opsets_.end())
      invalid_input(
          str("node uses domain '", dom, "', which the model's opset_import does not list"))
          .key("domain")
          .raise();
    const int64_t opset = oit->second;
    std::vector<std::string> outs(np.output().begin(), np.output().end());
    while (!outs.empty() && outs.back().empty()) outs.pop_back();
    for (size_t k = 0; k < outs.size(); ++k)
      if (outs[k].empty()) outs[k] = g_->unique_value_name(str(name, ":unused", k));
    const OpDef* def = find_onnx_op(dom, np.op_type(), static_cast<int>(opset));
    if (!def) {
      unsupported_.push_back(
          {name, np.op_type(), dom, opset, why_no_op(m_, dom, np.op_type(), opset), "", false});
      unknown_nodes_.emplace_back(index, unsupported_.size() - 1);
      for (const auto& o : outs) add_opaque(o);
      return;
    }
    NodeInfo info{index, opset, dom, {np.input().begin(), np.input().end()}, ""};
    while (!info.inputs.empty() && info.inputs.back().empty()) info.inputs.pop_back();
    Attributes attrs;
    for (const auto& a : np.attribute()) {
      try {
        attrs.set(a.name(), attr_from_proto(a));
      } catch (const Error& e) {
        if (e.status().code != Code::kUnsupported) throw;
        info.problem = str("attribute '", a.name(), "': ", e.status().message);
      }
    }
    Node* n = g_->add_node(def->kind, name, std::vector<Value*>(info.inputs.size(), nullptr), outs,
                           std::move(attrs));
    info_.emplace_back(n, std::move(info));
    info_index_[n] = info_.size() - 1;
  }

  void connect() {
    for (auto& [n, info] : info_)
      for (size_t k = 0; k < info.inputs.size(); ++k) {
        if (info.inputs[k].empty()) continue;
        Value* v = g_->find_value(info.inputs[k]);
        if (!v)
          invalid_input(str("input '", info.inputs[k], "' is never defined (dangling value)"))
              .node(n->name)
              .raise();
        g_->set_input(n, k, v);
      }
    for (const auto& o : gp_.output()) {
      Value* v = g_->find_value(o.name());
      if (!v) invalid_input("graph output is never produced").key(o.name()).raise();
      g_->add_output(v);
    }
  }

  // Per node in topological order: attribute schema, import fixup, unsupported-variant check, and
  // shape inference where the inputs' types are known (so that unsupported_reason can read them).
  void check_nodes() {
    std::vector<Node*> order;
    for (const auto& n : g_->nodes()) order.push_back(n.get());
    // Values produced by (or downstream of) unsupported nodes.
    std::unordered_set<const Value*> untrusted(opaque_.begin(), opaque_.end());
    std::unique_ptr<Graph> sample;  // the graph at a sample batch, for targets of computed length
    for (Node* n : order) {
      auto it = info_index_.find(n);
      if (it == info_index_.end()) continue;  // added by another node's fixup
      const NodeInfo& info = info_[it->second].second;
      std::string reason = info.problem;
      try {
        if (reason.empty()) {
          apply_attr_schema(*n);
          const OpDef& d = n->def();
          if (d.onnx.import_fixup) d.onnx.import_fixup(*g_, *n, static_cast<int>(info.opset));
          if (d.unsupported_reason) reason = d.unsupported_reason(*n);
        }
      } catch (const Error& e) {
        if (e.status().code != Code::kUnsupported) throw e.with_node(n->name);
        const Status& s = e.status();
        reason = s.key.empty() ? s.message : str("attribute '", s.key, "': ", s.message);
      }
      const std::string& op_type = gp_.node(info.index).op_type();
      if (!reason.empty()) {
        unsupported_.push_back({n->name, op_type, info.domain, info.opset, reason, "", true});
        type_from_onnx(n, untrusted);
        continue;
      }
      bool ready = true;
      for (Value* in : n->inputs)
        if (in && (!in->has_type || (untrusted.count(in) && !opts_.collect_unsupported)))
          ready = false;
      if (!ready) {
        type_from_onnx(n, untrusted);
        continue;
      }
      infer_node_in(*g_, *n, sample);
    }
  }

  // Outputs of a node mpq cannot infer (unsupported, or downstream of one) keep the types onnx
  // inferred or the file declares, for reports.
  void type_from_onnx(Node* n, std::unordered_set<const Value*>& untrusted) {
    for (Value* o : n->outputs) {
      untrusted.insert(o);
      auto t = onnx_types_.find(o->name);
      std::string why;
      if (t != onnx_types_.end())
        o->has_type = type_from_proto(*t->second, &o->dtype, &o->shape, &why);
    }
  }

  // Derived over every node of the file (unsupported ones too, for reports).
  void assign_module_paths() {
    std::vector<NodeNaming> naming;
    for (const auto& np : gp_.node()) {
      NodeNaming nn{np.name(), np.doc_string(), {}};
      for (const auto& in : np.input())
        if (init_names_.count(in)) nn.params.push_back(in);
      naming.push_back(std::move(nn));
    }
    std::vector<std::string> paths = derive_module_paths(naming);
    for (auto& [n, info] : info_) n->module_path = paths[info.index];
    for (auto [index, entry] : unknown_nodes_) unsupported_[entry].module_path = paths[index];
    for (auto& u : unsupported_)
      if (const Node* n = g_->find_node(u.name); n && u.op_known) u.module_path = n->module_path;
  }

  // The file's declared output types must agree with what the ops compute.
  void check_declared_outputs() {
    for (const auto& o : gp_.output()) {
      DType dt;
      Shape s;
      std::string why;
      if (!type_from_proto(o.type(), &dt, &s, &why)) continue;
      const Value* v = g_->find_value(o.name());
      bool ok = v->dtype == dt && (s.empty() || v->shape.size() == s.size());
      for (size_t d = 0; ok && d < s.size() && d < v->shape.size(); ++d)
        ok = s[d] < 0 || v->shape[d] < 0 || s[d] == v->shape[d];
      if (!ok)
        invalid_input(str("the model declares this output as ", dtype_name(dt), shape_str(s),
                          " but its ops compute ", dtype_name(v->dtype), shape_str(v->shape)))
            .key(o.name())
            .raise();
    }
  }

  const onnx::ModelProto& m_;
  const onnx::GraphProto& gp_;
  std::string file_;
  std::map<std::string, int64_t> opsets_;
  const ImportOptions& opts_;
  std::unique_ptr<Graph> g_;
  std::unordered_map<std::string, const onnx::TypeProto*> onnx_types_;
  std::unordered_set<std::string> init_names_;
  std::vector<std::pair<Node*, NodeInfo>> info_;  // in file order
  std::unordered_map<const Node*, size_t> info_index_;
  std::unordered_set<const Value*> opaque_;
  std::vector<std::pair<int, size_t>> unknown_nodes_;  // (node index, entry in unsupported_)
  std::vector<UnsupportedNode> unsupported_;
};

}  // namespace

// Nodes of one op that fail for one reason are listed once, with their count and the first node
// (a model with 300 nodes of a missing op gets one line for it, not 300).
std::string format_unsupported(const std::vector<UnsupportedNode>& list) {
  struct Group {
    const UnsupportedNode* first;
    size_t count;
  };
  std::vector<Group> groups;
  std::map<std::string, size_t> index;
  for (const auto& u : list) {
    const bool value = u.op_type == "input" || u.op_type == "initializer";
    const std::string key =
        value ? "\n" + u.name : str(op_label(u.domain, u.op_type), "\n", u.opset, "\n", u.reason);
    auto [it, fresh] = index.emplace(key, groups.size());
    if (fresh)
      groups.push_back({&u, 1});
    else
      ++groups[it->second].count;
  }
  std::string out = str(list.size(), " unsupported node", list.size() == 1 ? "" : "s");
  if (groups.size() < list.size()) out += str(" (", groups.size(), " distinct)");
  out += ": ";
  for (size_t i = 0; i < groups.size(); ++i) {
    const auto& u = *groups[i].first;
    const bool value = u.op_type == "input" || u.op_type == "initializer";
    out += i ? "; " : "";
    if (groups[i].count > 1)
      out += str(op_label(u.domain, u.op_type), " x", groups[i].count, " (opset ", u.opset,
                 ", first node '", u.name, "'): ", u.reason);
    else
      out += str(
          "'", u.name, "' (",
          value ? "graph " + u.op_type : str(op_label(u.domain, u.op_type), ", opset ", u.opset),
          "): ", u.reason);
  }
  return out;
}

std::unique_ptr<Graph> import_onnx_model(onnx::ModelProto& model, const std::string& name,
                                         const ImportOptions& opts, const std::string& base_dir) {
  try {
    auto opsets = model_opsets(model, name);
    load_external_data(&model, base_dir, name);
    check_utf8_names(model.graph(), name);
    precheck_graph(model.graph(), name);
    const bool attrs_checked = check_node_attributes(model.graph(), opsets, name);
    const bool infer =
        opts.run_shape_inference && attrs_checked && all_ops_known(model.graph(), opsets);
    bool checked = run_onnx_checks(&model, opts.run_checker, infer, name);
    std::vector<UnsupportedNode> collected;
    ImportOptions o = opts;
    if (opts.collect_unsupported) o.collect_unsupported = &collected;
    auto g = Converter(model, name, opsets, o).run();
    if (opts.collect_unsupported) *opts.collect_unsupported = collected;
    if (opts.meta) {
      *opts.meta = ModelMeta{
          model.producer_name(), model.producer_version(), model.ir_version(), opsets, checked,
          collected.empty()};
    }
    return g;
  } catch (const Error& e) {
    throw e.with_file(name);
  }
}

std::unique_ptr<Graph> import_onnx_bytes(const std::string& bytes, const std::string& name,
                                         const ImportOptions& opts, const std::string& base_dir) {
  onnx::ModelProto m = parse_model_bytes(bytes, name);
  return import_onnx_model(m, name, opts, base_dir);
}

std::unique_ptr<Graph> import_onnx(const std::string& path, const ImportOptions& opts) {
  onnx::ModelProto m = read_model_file(path);
  std::string dir = std::filesystem::path(path).parent_path().string();
  return import_onnx_model(m, path, opts, dir.empty() ? "." : dir);
}

}  // namespace mpq
