#include "ir/printer.h"

#include <sstream>

#include "ir/op_def.h"

namespace mpq {

namespace {
std::string type_of(const Value& v) {
  return v.has_type ? std::string(dtype_name(v.dtype)) + shape_str(v.shape) : "?";
}
}  // namespace

std::string print_graph(const Graph& g, bool with_attrs) {
  std::ostringstream os;
  os << "graph " << g.name << " (opset " << g.opset << ")\n";
  for (const Value* v : g.inputs()) os << "  input %" << v->name << ": " << type_of(*v) << "\n";
  for (const auto& n : g.nodes()) {
    os << "  ";
    for (size_t i = 0; i < n->outputs.size(); ++i)
      os << (i ? ", " : "") << "%" << n->outputs[i]->name << ": " << type_of(*n->outputs[i]);
    os << " = " << n->op_name() << "(";
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      os << (i ? ", " : "");
      if (!n->inputs[i])
        os << "_";
      else if (n->inputs[i]->is_constant())
        os << "$" << n->inputs[i]->name;
      else
        os << "%" << n->inputs[i]->name;
    }
    os << ")";
    if (with_attrs && !n->attrs.all().empty()) {
      os << " {";
      bool first = true;
      for (const auto& [k, v] : n->attrs.all()) {
        os << (first ? "" : ", ") << k << "=" << attr_value_str(v);
        first = false;
      }
      os << "}";
    }
    os << "  # " << n->name;
    if (!n->module_path.empty()) os << " (" << n->module_path << ")";
    os << "\n";
  }
  for (const Value* v : g.outputs()) os << "  output %" << v->name << ": " << type_of(*v) << "\n";
  return os.str();
}

}  // namespace mpq
