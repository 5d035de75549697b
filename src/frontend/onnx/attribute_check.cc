#include "frontend/onnx/attribute_check.h"

#include "frontend/onnx/attributes.h"
#include "ir/op_def.h"

namespace mpq::onnx_io {

namespace {

Value declared(const std::string& name, const onnx::TypeProto& t) {
  Value v;
  v.name = name;
  if (!t.has_tensor_type() || !t.tensor_type().has_shape()) return v;
  for (const auto& d : t.tensor_type().shape().dim())
    v.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
  v.has_type = true;
  return v;
}

// Adds a declared value; one name declared with two ranks is refused (onnx's shape inference
// would use either, and trusts each).
void declare(std::map<std::string, Value>& m, Value v, const std::string& file) {
  auto [it, fresh] = m.emplace(v.name, v);
  if (fresh || !v.has_type || !it->second.has_type || v.shape.size() == it->second.shape.size())
    return;
  invalid_input(str("value is declared with rank ", it->second.shape.size(), " and with rank ",
                    v.shape.size(), "; give it one type"))
      .file(file)
      .key(v.name)
      .raise();
}

// The shapes the file declares (initializers, graph inputs, value_info, graph outputs): the ranks
// onnx's shape inference trusts.
std::map<std::string, Value> declared_values(const onnx::GraphProto& g, const std::string& file) {
  std::map<std::string, Value> m;
  for (const auto& t : g.initializer()) {
    Value v;
    v.name = t.name();
    v.shape.assign(t.dims().begin(), t.dims().end());
    v.has_type = true;
    declare(m, std::move(v), file);
  }
  for (const auto* list : {&g.input(), &g.value_info(), &g.output()})
    for (const auto& vi : *list) declare(m, declared(vi.name(), vi.type()), file);
  return m;
}

}  // namespace

bool check_node_attributes(const onnx::GraphProto& g, const std::map<std::string, int64_t>& opsets,
                           const std::string& file) {
  std::map<std::string, Value> values = declared_values(g, file);
  bool complete = true;
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& np = g.node(i);
    const std::string dom = np.domain() == "ai.onnx" ? "" : np.domain();
    auto opset = opsets.find(dom);
    if (opset == opsets.end()) continue;  // the importer names the missing opset_import
    const OpDef* def = find_onnx_op(dom, np.op_type(), static_cast<int>(opset->second));
    if (!def || !def->check_attrs) continue;
    Node n;
    n.name = np.name().empty() ? str(np.op_type(), "_", i) : np.name();
    n.op = def->kind;
    for (const std::string& in : np.input()) {  // unknown values get an untyped Value
      Value& v = values[in];
      v.name = in;
      n.inputs.push_back(in.empty() ? nullptr : &v);
    }
    for (const std::string& out : np.output())  // their count matters, not their types
      n.outputs.push_back(out.empty() ? nullptr : &values[out]);
    try {
      for (const auto& a : np.attribute()) {
        try {
          n.attrs.set(a.name(), attr_from_proto(a));
        } catch (const Error& e) {
          if (e.status().code != Code::kUnsupported) throw;
        }
      }
      def->check_attrs(n);
    } catch (const Error& e) {
      throw e.with_node(n.name).with_file(file);
    }
    if (def->needs_declared_ranks && def->needs_declared_ranks(n)) complete = false;
  }
  return complete;
}

bool all_ops_known(const onnx::GraphProto& g, const std::map<std::string, int64_t>& opsets) {
  for (const auto& np : g.node()) {
    const std::string dom = np.domain() == "ai.onnx" ? "" : np.domain();
    auto opset = opsets.find(dom);
    if (opset == opsets.end() || !find_onnx_op(dom, np.op_type(), static_cast<int>(opset->second)))
      return false;
  }
  return true;
}

}  // namespace mpq::onnx_io
