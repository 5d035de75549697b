// Constant: a tensor given by exactly one of the value* attributes (value, value_float(s),
// value_int(s)). String and sparse constants are rejected at import.
#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {
const char* const kValueAttrs[] = {"value",      "value_float",  "value_floats", "value_int",
                                   "value_ints", "value_string", "value_strings"};

Tensor constant_value(const Node& n) {
  int count = 0;
  for (const char* k : kValueAttrs) count += n.attrs.has(k);
  if (count != 1)
    invalid_input(str("Constant needs exactly one value attribute, got ", count))
        .key("value")
        .raise();
  const Attributes& a = n.attrs;
  if (a.has("value")) return a.tensor("value");
  if (a.has("value_float")) return Tensor::scalar(a.f("value_float"));
  if (a.has("value_floats")) {
    const auto& v = a.floats("value_floats");
    return Tensor::from<float>({static_cast<int64_t>(v.size())}, v);
  }
  if (a.has("value_int")) return Tensor::from<int64_t>({}, {a.i("value_int")});
  if (a.has("value_ints")) {
    const auto& v = a.ints("value_ints");
    return Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  unsupported("string constants are not supported")
      .key(a.has("value_string") ? "value_string" : "value_strings")
      .raise();
}
}  // namespace

OpDef def_Constant() {
  OpDef d;
  d.doc = "a constant tensor (value / value_float(s) / value_int(s))";
  d.min_inputs = d.max_inputs = 0;
  for (const auto& [k, t] : {std::pair{"value", AttrType::kTensor},
                             {"value_float", AttrType::kFloat},
                             {"value_floats", AttrType::kFloats},
                             {"value_int", AttrType::kInt},
                             {"value_ints", AttrType::kInts},
                             {"value_string", AttrType::kString},
                             {"value_strings", AttrType::kStrings}})
    d.attrs.push_back({k, t, std::nullopt, true});
  d.infer = [](const Node& n) {
    Tensor t = constant_value(n);
    return std::vector<TypeInfo>{{t.dtype(), t.shape()}};
  };
  d.forward = [](const Node& n, const std::vector<Tensor>&) {
    return std::vector<Tensor>{constant_value(n)};
  };
  d.onnx = onnx_op("Constant", 1);
  d.unsupported_reason = [](const Node& n) -> std::string {
    if (n.attrs.has("value_string") || n.attrs.has("value_strings")) return "string constants";
    return "";
  };
  return d;
}

}  // namespace mpq::ops
