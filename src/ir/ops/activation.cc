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

// Parameters of a node for its epilogue trait ((0, 0) when it has none).
void trait_params(const EpilogueTrait& t, const Node& n, float* a, float* b) {
  *a = *b = 0.f;
  if (t.params && !t.params(n, a, b))
    invalid_input("parameters must be constants").node(n.name).raise();
}

// A float activation that can be fused as a post-op: its forward is the trait's function, so the
// op and the post-op compute the same values.
OpDef epilogue_activation(const char* doc, const char* op_type, int min_opset, EpilogueTrait t) {
  OpDef d = float_activation(doc, op_type, min_opset, nullptr);
  d.forward = [t](const Node& n, const std::vector<Tensor>& x) {
    float a, b;
    trait_params(t, n, &a, &b);
    return std::vector<Tensor>{unary_float(x[0], [&](float v) { return t.apply(v, a, b); })};
  };
  d.epilogue = std::move(t);
  return d;
}

constexpr float kInf = std::numeric_limits<float>::infinity();

float hard_sigmoid(float x, float a, float b) {
  return std::max(0.f, std::min(1.f, a * x + b));
}
float sigmoid(float x) {
  return 1.f / (1.f + std::exp(-x));
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

// Constant bounds must be numbers with min <= max: backends build their clamp from them, and
// oneDNN refuses (or the result is undefined) otherwise.
void check_clip_bounds(const Node& n) {
  double b[2] = {-std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  for (size_t i = 1; i < 3; ++i) {
    const Value* v = n.input(i);
    if (!v || !v->is_constant() || v->constant->numel() != 1) continue;
    b[i - 1] = v->constant->to_floats()[0];
    if (std::isnan(b[i - 1]))
      invalid_input(
          str("Clip ", i == 1 ? "min" : "max", " ('", v->name, "') is NaN: give a number"))
          .key(i == 1 ? "min" : "max")
          .raise();
  }
  if (b[0] > b[1])
    invalid_input(str("Clip min ", b[0], " is greater than max ", b[1],
                      ": swap the bounds (min must be <= max)"))
        .key("min")
        .raise();
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
  d.epilogue = EpilogueTrait{};
  d.epilogue->apply = [](float x, float, float) { return x > 0.f ? x : 0.f; };
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
    check_clip_bounds(n);
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
  d.epilogue = EpilogueTrait{};
  d.epilogue->apply = [](float x, float lo, float hi) { return std::min(std::max(x, lo), hi); };
  d.epilogue->params = [](const Node& n, float* lo, float* hi) {
    *lo = -kInf, *hi = kInf;
    for (size_t i = 1; i < 3; ++i) {
      if (!n.has_input(i)) continue;
      const Value* v = n.inputs[i];
      if (!v->is_constant() || v->constant->numel() != 1) return false;
      (i == 1 ? *lo : *hi) = v->constant->to_floats()[0];
    }
    return true;
  };
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
  EpilogueTrait t;
  t.apply = [](float x, float a, float) { return x >= 0.f ? x : a * x; };
  t.params = [](const Node& n, float* a, float*) {
    *a = n.attrs.f("alpha", 0.01f);
    return true;
  };
  t.minimum_at = [](float a, float) { return a >= 0.f ? -kInf : 0.f; };
  OpDef d = epilogue_activation("x >= 0 ? x : alpha * x", "LeakyRelu", 6, t);
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
  EpilogueTrait t;
  t.apply = [](float x, float, float) { return sigmoid(x); };
  t.gated = [](float, float) -> std::optional<OpKind> { return OpKind::Silu; };
  OpDef d = epilogue_activation("1 / (1 + exp(-x))", "Sigmoid", 6, t);
  d.backward = [](const Node&, const std::vector<Tensor>&, const std::vector<Tensor>& y,
                  const std::vector<Tensor>& gy) {
    return std::vector<Tensor>{
        grad_map(y[0], gy[0], [](float s, float g) { return g * s * (1.f - s); })};
  };
  return d;
}

OpDef def_Tanh() {
  EpilogueTrait t;
  t.apply = [](float x, float, float) { return std::tanh(x); };
  OpDef d = epilogue_activation("tanh(x)", "Tanh", 6, t);
  d.backward = [](const Node&, const std::vector<Tensor>&, const std::vector<Tensor>& y,
                  const std::vector<Tensor>& gy) {
    return std::vector<Tensor>{
        grad_map(y[0], gy[0], [](float t, float g) { return g * (1.f - t * t); })};
  };
  return d;
}

OpDef def_HardSigmoid() {
  EpilogueTrait t;
  t.apply = hard_sigmoid;
  t.params = [](const Node& n, float* a, float* b) {
    *a = n.attrs.f("alpha", 0.2f), *b = n.attrs.f("beta", 0.5f);
    return true;
  };
  t.minimum_at = [](float a, float) { return a >= 0.f ? -kInf : kInf; };
  // x * HardSigmoid(x; 1/6, 1/2) is HardSwish (how opset-13 exports write it).
  t.gated = [](float a, float b) -> std::optional<OpKind> {
    if (std::fabs(a - 1.f / 6.f) < 1e-6f && b == 0.5f) return OpKind::HardSwish;
    return std::nullopt;
  };
  OpDef d = epilogue_activation("max(0, min(1, alpha * x + beta))", "HardSigmoid", 6, t);
  d.attrs = {attr_float("alpha", 0.2f), attr_float("beta", 0.5f)};
  return d;
}

OpDef def_HardSwish() {
  EpilogueTrait t;
  t.apply = [](float x, float, float) { return x * hard_sigmoid(x, 1.f / 6.f, 0.5f); };
  t.minimum_at = [](float, float) { return -1.5f; };
  return epilogue_activation("x * max(0, min(1, x / 6 + 0.5))", "HardSwish", 14, t);
}

// Silu and Gelu are what the fusion pass makes of the exporters' patterns (Mul(x, Sigmoid(x)),
// x * 0.5 * (1 + Erf(x / sqrt(2)))): mpq-internal ops that exist as fused post-ops.
OpDef def_Silu() {
  EpilogueTrait t;
  t.apply = [](float x, float, float) { return x * sigmoid(x); };
  t.minimum_at = [](float, float) { return -1.2784645f; };  // where 1 + x (1 - sigmoid(x)) = 0
  OpDef d = epilogue_activation("x * sigmoid(x) (SiLU, swish); mpq-internal", "Silu", 1, t);
  d.onnx.domain = "ai.mpq";
  return d;
}

OpDef def_Gelu() {
  EpilogueTrait t;
  t.apply = [](float x, float, float) {
    return 0.5f * x * (1.f + std::erf(x * 0.70710678118654752f));
  };
  t.minimum_at = [](float, float) { return -0.75179165f; };  // where Phi(x) + x phi(x) = 0
  OpDef d = epilogue_activation("x * 0.5 * (1 + erf(x / sqrt(2))) (exact GELU); mpq-internal",
                                "Gelu", 1, t);
  d.onnx.domain = "ai.mpq";
  return d;
}

}  // namespace mpq::ops
