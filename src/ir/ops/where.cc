// Where: picks x where the condition is true, else y, with numpy broadcasting of all three. Any
// dtype (byte copies); exporters emit it in shape computations (torch's expand(-1)).
#include <cstring>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

OpDef def_Where() {
  OpDef d;
  d.doc = "condition ? x : y (broadcasting; any dtype)";
  d.min_inputs = d.max_inputs = 3;
  d.infer = [](const Node& n) {
    if (in(n, 0).dtype != DType::boolean)
      invalid_input(str("condition must be bool, got ", dtype_name(in(n, 0).dtype))).raise();
    const Value& x = in(n, 1);
    const Value& y = in(n, 2);
    if (x.dtype != y.dtype)
      invalid_input(
          str("x and y have different dtypes: ", dtype_name(x.dtype), " and ", dtype_name(y.dtype)))
          .raise();
    Shape s = broadcast_shapes(broadcast_shapes(in(n, 0).shape, x.shape), y.shape);
    return std::vector<TypeInfo>{{x.dtype, s}};
  };
  d.forward = [](const Node&, const std::vector<Tensor>& x) {
    const Shape os = broadcast_shapes(broadcast_shapes(x[0].shape(), x[1].shape()), x[2].shape());
    Tensor out(x[1].dtype(), os);
    const size_t es = dtype_size(out.dtype());
    const auto* c = static_cast<const uint8_t*>(x[0].raw());
    const auto* a = static_cast<const uint8_t*>(x[1].raw());
    const auto* b = static_cast<const uint8_t*>(x[2].raw());
    auto* o = static_cast<uint8_t*>(out.raw());
    broadcast_for_each<3>(os, {&x[0].shape(), &x[1].shape(), &x[2].shape()},
                          [&](int64_t k, const std::array<int64_t, 3>& i) {
                            const uint8_t* src = c[i[0]] ? a + i[1] * es : b + i[2] * es;
                            std::memcpy(o + k * es, src, es);
                          });
    return std::vector<Tensor>{out};
  };
  d.onnx = onnx_op("Where", 9);
  return d;
}

}  // namespace mpq::ops
