// Concat along one axis. Any dtype (byte copies); int8 inputs pass through when the planner gave
// them one scale.
#include <cstring>
#include <limits>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {
// Splits shape s at `axis` into (outer elements, inner elements per axis step).
std::pair<int64_t, int64_t> outer_inner(const Shape& s, int64_t axis) {
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i) {
    if (i < axis) outer *= s[i];
    if (i > axis) inner *= s[i];
  }
  return {outer, inner};
}
}  // namespace

OpDef def_Concat() {
  OpDef d;
  d.doc = "join inputs along `axis`";
  d.min_inputs = 1;
  d.max_inputs = std::numeric_limits<int>::max();
  d.attrs = {attr_required("axis", AttrType::kInt)};
  d.infer = [](const Node& n) {
    const Value& x0 = in(n, 0);
    const int64_t r = static_cast<int64_t>(x0.shape.size());
    const int64_t axis = normalize_axis(n.attrs.i("axis"), r, "axis");
    Shape out = x0.shape;
    for (size_t i = 1; i < n.inputs.size(); ++i) {
      const Value& xi = in(n, i);
      if (xi.dtype != x0.dtype)
        invalid_input(str("input ", i, " ('", xi.name, "') is ", dtype_name(xi.dtype),
                          ", input 0 is ", dtype_name(x0.dtype)))
            .raise();
      if (static_cast<int64_t>(xi.shape.size()) != r)
        invalid_input(str("input ", i, " ('", xi.name, "') has shape ", shape_str(xi.shape),
                          ", input 0 has ", shape_str(x0.shape), ": ranks differ"))
            .raise();
      for (int64_t k = 0; k < r; ++k) {
        const int64_t a = out[k], b = xi.shape[k];
        if (k == axis) {
          out[k] = a < 0 || b < 0 ? -1 : a + b;
        } else if (a >= 0 && b >= 0 && a != b) {
          invalid_input(str("input ", i, " ('", xi.name, "') has shape ", shape_str(xi.shape),
                            ", input 0 has ", shape_str(x0.shape), ": dim ", k, " differs"))
              .raise();
        } else if (a < 0) {
          out[k] = b;
        }
      }
    }
    return std::vector<TypeInfo>{{x0.dtype, out}};
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    const int64_t axis = normalize_axis(n.attrs.i("axis"), x[0].rank(), "axis");
    Shape out = x[0].shape();
    out[axis] = 0;
    for (const Tensor& t : x) {
      bool ok = t.dtype() == x[0].dtype() && t.rank() == x[0].rank();
      for (int k = 0; ok && k < t.rank(); ++k) ok = k == axis || t.dim(k) == x[0].dim(k);
      if (!ok)
        invalid_input(str("cannot concatenate ", dtype_name(t.dtype()), shape_str(t.shape()),
                          " with ", dtype_name(x[0].dtype()), shape_str(x[0].shape()),
                          " along axis ", axis))
            .raise();
      out[axis] += t.dim(static_cast<int>(axis));
    }
    Tensor y(x[0].dtype(), out);
    const size_t es = dtype_size(y.dtype());
    auto [outer, inner] = outer_inner(out, axis);
    auto* dst = static_cast<uint8_t*>(y.raw());
    const size_t row = static_cast<size_t>(out[axis] * inner) * es;
    size_t col = 0;
    for (const Tensor& t : x) {
      const size_t chunk = static_cast<size_t>(t.dim(static_cast<int>(axis)) * inner) * es;
      const auto* src = static_cast<const uint8_t*>(t.raw());
      for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + o * row + col, src + o * chunk, chunk);
      col += chunk;
    }
    return std::vector<Tensor>{y};
  };
  d.backward = [](const Node& n, const std::vector<Tensor>& x, const std::vector<Tensor>&,
                  const std::vector<Tensor>& gy) {
    const int64_t axis = normalize_axis(n.attrs.i("axis"), x[0].rank(), "axis");
    Tensor g = to_f32(gy[0]);
    auto [outer, inner] = outer_inner(g.shape(), axis);
    const int64_t row = g.dim(static_cast<int>(axis)) * inner;
    std::vector<Tensor> gx;
    int64_t col = 0;
    for (const Tensor& t : x) {
      Tensor gi(DType::f32, t.shape());
      const int64_t chunk = t.dim(static_cast<int>(axis)) * inner;
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(gi.data<float>() + o * chunk, g.data<float>() + o * row + col,
                    chunk * sizeof(float));
      col += chunk;
      gx.push_back(gi);
    }
    return gx;
  };
  d.quant = QuantRule::kPassthrough;
  d.onnx = onnx_op("Concat", 4);
  return d;
}

}  // namespace mpq::ops
