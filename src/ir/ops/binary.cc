// Element-wise binary ops with numpy broadcasting. Add is quantizable (residual connections);
// Sub/Mul/Div run in float.
#include "ir/ops/op_util.h"

namespace mpq::ops {

namespace {
std::vector<TypeInfo> infer_binary(const Node& n) {
  const Value& a = in(n, 0);
  const Value& b = in(n, 1);
  if (a.dtype != b.dtype)
    invalid_input(str("inputs have different dtypes: ", dtype_name(a.dtype), " and ",
                      dtype_name(b.dtype)))
        .raise();
  return {{a.dtype, broadcast_shapes(a.shape, b.shape)}};
}
}  // namespace

OpDef def_Add() {
  OpDef d;
  d.doc = "a + b (broadcasting)";
  d.min_inputs = d.max_inputs = 2;
  d.infer = infer_binary;
  d.forward = [](const Node&, const std::vector<Tensor>& x) {
    return std::vector<Tensor>{map_binary(x[0], x[1], x[0].dtype(), std::plus<double>())};
  };
  d.quant = QuantRule::kRequant;
  d.onnx = {"Add", 7, 18};
  return d;
}

}  // namespace mpq::ops
