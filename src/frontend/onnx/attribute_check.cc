#include "frontend/onnx/attribute_check.h"

#include "frontend/onnx/attributes.h"
#include "ir/op_def.h"

namespace mpq::onnx_io {

void check_node_attributes(const onnx::GraphProto& g, const std::map<std::string, int64_t>& opsets,
                           const std::string& file) {
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
  }
}

}  // namespace mpq::onnx_io
