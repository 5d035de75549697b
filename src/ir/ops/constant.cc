// Constant: a tensor given by exactly one of the value* attributes (value, value_float(s),
// value_int(s)). String and sparse constants are rejected at import. ConstantOfShape: a tensor of a
// given shape filled with one value.
#include <cstring>

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

namespace mpq::ops {

namespace {
// ConstantOfShape's fill value: a one-element tensor (float 0 when absent).
Tensor fill_value(const Node& n) {
  if (!n.attrs.has("value")) return Tensor::scalar(0.f);
  Tensor v = n.attrs.tensor("value");
  if (v.numel() != 1)
    invalid_input(str("value must hold exactly one element, got ", v.numel())).key("value").raise();
  return v;
}
}  // namespace

OpDef def_ConstantOfShape() {
  OpDef d;
  d.doc = "a tensor of the shape given by input 0, filled with `value` (default float 0)";
  d.attrs = {{"value", AttrType::kTensor, std::nullopt, true}};
  d.infer = [](const Node& n) {
    expect_index_dtype(n, 0);
    const Shape& ss = in(n, 0).shape;
    if (ss.size() != 1) invalid_input(str("input must be 1-D, got ", shape_str(ss))).raise();
    const DType t = fill_value(n).dtype();
    if (auto dims = constant_ints(n, 0)) {
      for (int64_t v : *dims)
        if (v < 0) invalid_input(str("dims must be >= 0, got ", v)).raise();
      return std::vector<TypeInfo>{{t, Shape(dims->begin(), dims->end())}};
    }
    if (ss[0] < 0)
      unsupported("the length of the shape is unknown until run time (output rank unknown)")
          .raise();
    return std::vector<TypeInfo>{{t, Shape(ss[0], -1)}};
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    const Tensor v = fill_value(n);
    const std::vector<int64_t> dims = x[0].to_int64s();
    for (int64_t k : dims)
      if (k < 0) invalid_input(str("dims must be >= 0, got ", k)).raise();
    Tensor y(v.dtype(), Shape(dims.begin(), dims.end()));
    const size_t es = dtype_size(v.dtype());
    auto* dst = static_cast<uint8_t*>(y.raw());
    for (int64_t i = 0; i < y.numel(); ++i) std::memcpy(dst + i * es, v.raw(), es);
    return std::vector<Tensor>{y};
  };
  d.onnx = onnx_op("ConstantOfShape", 9);
  return d;
}

}  // namespace mpq::ops
