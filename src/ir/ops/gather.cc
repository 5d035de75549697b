// Gather along any axis with int32/int64 indices (negative indices count from the end). Any dtype.
#include <cstring>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

OpDef def_Gather() {
  OpDef d;
  d.doc = "take slices along `axis` at the given indices (negative indices count from the end)";
  d.min_inputs = d.max_inputs = 2;
  d.quant = QuantRule::kPassthrough;
  d.attrs = {attr_int("axis", 0)};
  d.infer = [](const Node& n) {
    const Value& x = in(n, 0);
    expect_index_dtype(n, 1);
    const int64_t r = static_cast<int64_t>(x.shape.size());
    if (r == 0) invalid_input("data must have rank >= 1, got a scalar").raise();
    const int64_t axis = normalize_axis(n.attrs.i("axis"), r, "axis");
    Shape out(x.shape.begin(), x.shape.begin() + axis);
    const Shape& is = in(n, 1).shape;
    out.insert(out.end(), is.begin(), is.end());
    out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
    return std::vector<TypeInfo>{{x.dtype, out}};
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    const Tensor& t = x[0];
    if (t.rank() == 0) invalid_input("data must have rank >= 1, got a scalar").raise();
    const int64_t axis = normalize_axis(n.attrs.i("axis"), t.rank(), "axis");
    const std::vector<int64_t> idx = x[1].to_int64s();
    Shape out(t.shape().begin(), t.shape().begin() + axis);
    out.insert(out.end(), x[1].shape().begin(), x[1].shape().end());
    out.insert(out.end(), t.shape().begin() + axis + 1, t.shape().end());
    Tensor y(t.dtype(), out);
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= t.dim(static_cast<int>(i));
    for (int64_t i = axis + 1; i < t.rank(); ++i) inner *= t.dim(static_cast<int>(i));
    const int64_t n_axis = t.dim(static_cast<int>(axis));
    const size_t block = static_cast<size_t>(inner) * dtype_size(t.dtype());
    const auto* src = static_cast<const uint8_t*>(t.raw());
    auto* dst = static_cast<uint8_t*>(y.raw());
    for (int64_t o = 0; o < outer; ++o)
      for (size_t j = 0; j < idx.size(); ++j) {
        int64_t k = idx[j] < 0 ? idx[j] + n_axis : idx[j];
        if (k < 0 || k >= n_axis)
          invalid_input(
              str("index ", idx[j], " is out of range for axis ", axis, " of size ", n_axis))
              .raise();
        std::memcpy(dst + (o * idx.size() + j) * block, src + (o * n_axis + k) * block, block);
      }
    return std::vector<Tensor>{y};
  };
  d.onnx = onnx_op("Gather", 1);
  return d;
}

}  // namespace mpq::ops
