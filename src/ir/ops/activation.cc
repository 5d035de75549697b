// Element-wise activations. Each is float in, float out (computed in fp32); Relu and Clip also take
// integer tensors (ONNX allows it) and pass int8 through unchanged: they commute with a
// positive-scale quantization. The others run in float.
#include <cmath>
#include <limits>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {

std::vector<TypeInfo> infer_float_unary(const Node& n) {
  expect_float(n, 0);
  return same_as_input0(n);
}

std::vector<TypeInfo> infer_numeric_unary(const Node& n) {
  DType t = in(n, 0).dtype;
  if (t == DType::boolean) invalid_input("input 0 must be numeric, got bool").raise();
  return same_as_input0(n);
}

// gx[i] = f(a[i], gy[i]) in f32, where `a` is an input or output of the op.
Tensor grad_map(const Tensor& a, const Tensor& gy, const std::function<float(float, float)>& f) {
  Tensor a32 = to_f32(a), g32 = to_f32(gy);
  Tensor gx(DType::f32, a.shape());
  const float* pa = a32.data<float>();
  const float* pg = g32.data<float>();
  float* out = gx.data<float>();
  for (int64_t i = 0, n = gx.numel(); i < n; ++i) out[i] = f(pa[i], pg[i]);
  return gx;
}

// A float activation y = f(x) with its backward expressed through x or y.
OpDef float_activation(const char* doc, const char* op_type, int min_opset,
                       std::function<float(const Node&, float)> f) {
  OpDef d;
  d.doc = doc;
  d.infer = infer_float_unary;
  d.forward = [f](const Node& n, const std::vector<Tensor>& x) {
    return std::vector<Tensor>{unary_float(x[0], [&](float v) { return f(n, v); })};
  };
  d.flops = out_numel;
  d.onnx = onnx_op(op_type, min_opset);
  return d;
}

// Clamps any numeric tensor to [lo, hi] (given as doubles; absent bounds are +-inf).
Tensor clamp_any(const Tensor& x, double lo, double hi) {
  if (is_float_dtype(x.dtype())) {
    const float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
    // min(max(x, lo), hi): when lo > hi every value becomes hi, as ONNX specifies.
    return unary_float(x, [=](float v) { return std::min(std::max(v, flo), fhi); });
  }
  Tensor y(x.dtype(), x.shape());
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const double tlo = std::max(lo, static_cast<double>(std::numeric_limits<T>::lowest()));
    const double thi = std::min(hi, static_cast<double>(std::numeric_limits<T>::max()));
    const T* px = static_cast<const T*>(x.raw());
    T* py = static_cast<T*>(y.raw());
    const T l = static_cast<T>(tlo), h = static_cast<T>(thi);
    for (int64_t i = 0, n = x.numel(); i < n; ++i) py[i] = std::min(std::max(px[i], l), h);
  });
  return y;
}

double clip_bound(const std::vector<Tensor>& x, size_t i, double dflt) {
  if (i >= x.size() || x[i].empty()) return dflt;
  return scalar_of(x[i], i == 1 ? "Clip min" : "Clip max");
}

}  // namespace

OpDef def_Relu() {
  OpDef d;
  d.doc = "max(x, 0)";
  d.infer = infer_numeric_unary;
  d.forward = [](const Node&, const std::vector<Tensor>& x) {
    return std::vector<Tensor>{clamp_any(x[0], 0.0, std::numeric_limits<double>::infinity())};
  };
  d.backward = [](const Node&, const std::vector<Tensor>& x, const std::vector<Tensor>&,
                  const std::vector<Tensor>& gy) {
    return std::vector<Tensor>{
        grad_map(x[0], gy[0], [](float v, float g) { return v > 0.f ? g : 0.f; })};
  };
  d.quant = QuantRule::kPassthrough;
  d.flops = out_numel;
  d.onnx = onnx_op("Relu", 6);
  return d;
}

// Canonical form: bounds as optional inputs 1 and 2 (opset 11+). Opset 6-10 min/max attributes are
// turned into constant inputs at import.
OpDef def_Clip() {
  OpDef d;
  d.doc = "min(max(x, min), max); bounds are optional scalar inputs (ReLU6 is Clip(0, 6))";
  d.min_inputs = 1;
  d.max_inputs = 3;
  d.infer = [](const Node& n) {
    const Value& x = in(n, 0);
    if (x.dtype == DType::boolean) invalid_input("input 0 must be numeric, got bool").raise();
    for (size_t i = 1; i < 3; ++i) {
      if (!n.has_input(i)) continue;
      const Value& b = *n.inputs[i];
      if (b.dtype != x.dtype)
        invalid_input(str(i == 1 ? "min" : "max", " has dtype ", dtype_name(b.dtype),
                          ", input has ", dtype_name(x.dtype)))
            .raise();
      if (shape_numel(b.shape) != 1 && shape_is_static(b.shape))
        invalid_input(
            str(i == 1 ? "min" : "max", " must be a scalar, got shape ", shape_str(b.shape)))
            .raise();
    }
    return std::vector<TypeInfo>{{x.dtype, x.shape}};
  };
  d.forward = [](const Node&, const std::vector<Tensor>& x) {
    const double inf = std::numeric_limits<double>::infinity();
    return std::vector<Tensor>{clamp_any(x[0], clip_bound(x, 1, -inf), clip_bound(x, 2, inf))};
  };
  // Gradient flows where lo < x < hi (exclusive, as PyTorch's hardtanh/ReLU6 backward).
  d.backward = [](const Node&, const std::vector<Tensor>& x, const std::vector<Tensor>&,
                  const std::vector<Tensor>& gy) {
    const double inf = std::numeric_limits<double>::infinity();
    const float lo = static_cast<float>(clip_bound(x, 1, -inf));
    const float hi = static_cast<float>(clip_bound(x, 2, inf));
    std::vector<Tensor> gx(x.size());
    gx[0] = grad_map(x[0], gy[0], [=](float v, float g) { return v > lo && v < hi ? g : 0.f; });
    return gx;
  };
  d.quant = QuantRule::kPassthrough;
  d.flops = out_numel;
  d.onnx = onnx_op("Clip", 6);
  d.onnx.internal_attrs = {"min", "max"};  // opset 6-10 attributes, moved to inputs at import
  d.onnx.import_fixup = [](Graph& g, Node& n, int opset) {
    if (opset >= 11) return;
    const float lo = n.attrs.f("min", std::numeric_limits<float>::lowest());
    const float hi = n.attrs.f("max", std::numeric_limits<float>::max());
    n.attrs.erase("min");
    n.attrs.erase("max");
    n.inputs.resize(3, nullptr);
    g.set_input(&n, 1, g.add_constant(g.unique_value_name(n.name + "_min"), Tensor::scalar(lo)));
    g.set_input(&n, 2, g.add_constant(g.unique_value_name(n.name + "_max"), Tensor::scalar(hi)));
  };
  return d;
}

OpDef def_LeakyRelu() {
  OpDef d = float_activation("x >= 0 ? x : alpha * x", "LeakyRelu", 6, [](const Node& n, float v) {
    return v >= 0.f ? v : n.attrs.f("alpha") * v;
  });
  d.attrs = {attr_float("alpha", 0.01f)};
  d.backward = [](const Node& n, const std::vector<Tensor>& x, const std::vector<Tensor>&,
                  const std::vector<Tensor>& gy) {
    const float a = n.attrs.f("alpha");
    return std::vector<Tensor>{
        grad_map(x[0], gy[0], [=](float v, float g) { return v > 0.f ? g : a * g; })};
  };
  return d;
}

OpDef def_Sigmoid() {
  OpDef d = float_activation("1 / (1 + exp(-x))", "Sigmoid", 6,
                             [](const Node&, float v) { return 1.f / (1.f + std::exp(-v)); });
  d.backward = [](const Node&, const std::vector<Tensor>&, const std::vector<Tensor>& y,
                  const std::vector<Tensor>& gy) {
    return std::vector<Tensor>{
        grad_map(y[0], gy[0], [](float s, float g) { return g * s * (1.f - s); })};
  };
  return d;
}

OpDef def_Tanh() {
  OpDef d =
      float_activation("tanh(x)", "Tanh", 6, [](const Node&, float v) { return std::tanh(v); });
  d.backward = [](const Node&, const std::vector<Tensor>&, const std::vector<Tensor>& y,
                  const std::vector<Tensor>& gy) {
    return std::vector<Tensor>{
        grad_map(y[0], gy[0], [](float t, float g) { return g * (1.f - t * t); })};
  };
  return d;
}

OpDef def_HardSigmoid() {
  OpDef d = float_activation(
      "max(0, min(1, alpha * x + beta))", "HardSigmoid", 6, [](const Node& n, float v) {
        return std::max(0.f, std::min(1.f, n.attrs.f("alpha") * v + n.attrs.f("beta")));
      });
  d.attrs = {attr_float("alpha", 0.2f), attr_float("beta", 0.5f)};
  return d;
}

OpDef def_HardSwish() {
  return float_activation("x * max(0, min(1, x / 6 + 0.5))", "HardSwish", 14,
                          [](const Node&, float v) {
                            return v * std::max(0.f, std::min(1.f, v * (1.f / 6.f) + 0.5f));
                          });
}

}  // namespace mpq::ops
