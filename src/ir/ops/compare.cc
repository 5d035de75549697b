// Equal: element-wise comparison with numpy broadcasting into a bool tensor. Exporters emit it in
// shape computations (torch's expand(-1) marks the kept dims with Equal(shape, -1)).
#include "ir/ops/tensor_util.h"

namespace mpq::ops {

OpDef def_Equal() {
  OpDef d;
  d.doc = "a == b (broadcasting; bool output)";
  d.min_inputs = d.max_inputs = 2;
  d.infer = [](const Node& n) {
    const Value& a = in(n, 0);
    const Value& b = in(n, 1);
    if (a.dtype != b.dtype)
      invalid_input(
          str("inputs have different dtypes: ", dtype_name(a.dtype), " and ", dtype_name(b.dtype)))
          .raise();
    return std::vector<TypeInfo>{{DType::boolean, broadcast_shapes(a.shape, b.shape)}};
  };
  d.forward = [](const Node&, const std::vector<Tensor>& x) {
    // Through double: exact for every mpq dtype except int64 beyond 2^53, compared natively.
    if (x[0].dtype() == DType::i64) {
      const Shape os = broadcast_shapes(x[0].shape(), x[1].shape());
      Tensor y(DType::boolean, os);
      const auto* pa = x[0].data<int64_t>();
      const auto* pb = x[1].data<int64_t>();
      auto* py = static_cast<uint8_t*>(y.raw());
      broadcast_for_each<2>(
          os, {&x[0].shape(), &x[1].shape()},
          [&](int64_t k, const std::array<int64_t, 2>& o) { py[k] = pa[o[0]] == pb[o[1]]; });
      return std::vector<Tensor>{y};
    }
    return std::vector<Tensor>{
        map_binary(x[0], x[1], DType::boolean, [](double a, double b) { return a == b ? 1 : 0; })};
  };
  d.flops = out_numel;
  d.onnx = onnx_op("Equal", 7);
  return d;
}

}  // namespace mpq::ops
