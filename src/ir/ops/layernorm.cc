// LayerNormalization (opset 17): normalizes over the dims from `axis` on, then scales and shifts.
// Optional outputs Mean and InvStdDev have the input's shape with the normalized dims set to 1.
// Computed in fp32 (stash_type 1); runs in float under quantization.
#include <cmath>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {

// (rows, row length) for normalizing x over the dims from `axis`.
std::pair<int64_t, int64_t> rows_cols(const Shape& s, int64_t axis) {
  int64_t rows = 1, cols = 1;
  for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i) (i < axis ? rows : cols) *= s[i];
  return {rows, cols};
}

Shape stat_shape(const Shape& s, int64_t axis) {
  Shape out = s;
  for (size_t i = axis; i < out.size(); ++i) out[i] = 1;
  return out;
}

}  // namespace

OpDef def_LayerNormalization() {
  OpDef d;
  d.doc = "(x - mean) / sqrt(var + epsilon) * scale + B over the dims from `axis`";
  d.min_inputs = 2;
  d.max_inputs = 3;
  d.max_outputs = 3;
  d.attrs = {attr_int("axis", -1), attr_float("epsilon", 1e-5f), attr_int("stash_type", 1)};
  // Before onnx's own shape inference, which indexes X's dims with an axis below -rank.
  d.check_attrs = [](const Node& n) {
    const Value* x = n.input(0);
    if (x && x->has_type)
      normalize_axis(n.attrs.i("axis", -1), static_cast<int64_t>(x->shape.size()), "axis");
  };
  // onnx's inference of the Mean and InvStdDev outputs indexes X's dims from `axis` on.
  d.needs_declared_ranks = [](const Node& n) {
    const Value* x = n.input(0);
    return n.outputs.size() > 1 && !(x && x->has_type);
  };
  d.infer = [](const Node& n) {
    const Value& x = in(n, 0);
    expect_float(n, 0);
    const int64_t r = static_cast<int64_t>(x.shape.size());
    const int64_t axis = normalize_axis(n.attrs.i("axis"), r, "axis");
    for (size_t i = 1; i < 3; ++i) {
      if (!n.has_input(i)) continue;
      const Value& p = in(n, i);
      if (p.dtype != x.dtype)
        invalid_input(str("input ", i, " is ", dtype_name(p.dtype), ", X is ", dtype_name(x.dtype)))
            .raise();
      broadcast_shapes(Shape(x.shape.begin() + axis, x.shape.end()), p.shape);
    }
    std::vector<TypeInfo> out{{x.dtype, x.shape}};
    for (size_t i = 1; i < n.outputs.size(); ++i)
      out.push_back({DType::f32, stat_shape(x.shape, axis)});
    return out;
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    const Tensor x32 = to_f32(x[0]);
    const int64_t axis = normalize_axis(n.attrs.i("axis"), x32.rank(), "axis");
    const float eps = n.attrs.f("epsilon");
    const auto [rows, cols] = rows_cols(x32.shape(), axis);
    const Shape inner(x32.shape().begin() + axis, x32.shape().end());
    // Scale and bias broadcast over the normalized dims: expand them to one row.
    auto row_of = [&, cols = cols](size_t i, float def) {  // clang 14 cannot capture a binding
      std::vector<float> v(cols, def);
      if (x.size() <= i || x[i].empty()) return v;
      Tensor p = to_f32(x[i]);
      const float* pp = p.data<float>();
      broadcast_for_each<1>(inner, {&p.shape()},
                            [&](int64_t k, const std::array<int64_t, 1>& o) { v[k] = pp[o[0]]; });
      return v;
    };
    const std::vector<float> scale = row_of(1, 1.f), bias = row_of(2, 0.f);
    Tensor y(DType::f32, x32.shape());
    Tensor mean(DType::f32, stat_shape(x32.shape(), axis));
    Tensor inv(DType::f32, mean.shape());
    const float* px = x32.data<float>();
    float* py = y.data<float>();
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = px + r * cols;
      double m = 0, v = 0;
      for (int64_t c = 0; c < cols; ++c) m += xr[c];
      m /= static_cast<double>(cols);
      for (int64_t c = 0; c < cols; ++c) v += (xr[c] - m) * (xr[c] - m);
      v /= static_cast<double>(cols);
      const float is = static_cast<float>(1.0 / std::sqrt(v + eps));
      for (int64_t c = 0; c < cols; ++c)
        py[r * cols + c] = (xr[c] - static_cast<float>(m)) * is * scale[c] + bias[c];
      mean.data<float>()[r] = static_cast<float>(m);
      inv.data<float>()[r] = is;
    }
    std::vector<Tensor> out{from_f32(y, x[0].dtype()), mean, inv};
    out.resize(n.outputs.size());
    return out;
  };
  d.flops = [](const Node& n) { return 8 * out_numel(n); };
  d.onnx = onnx_op("LayerNormalization", 17);
  return d;
}

}  // namespace mpq::ops
