// Element-wise math that exporters emit around the network proper (normalization, losses, GELU):
// Sqrt, Exp, Erf (float) and Neg (float or signed integer). All run in float under quantization.
#include <cmath>
#include <type_traits>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {
OpDef float_math(const char* doc, const char* op_type, float (*f)(float)) {
  OpDef d;
  d.doc = doc;
  d.infer = [](const Node& n) {
    expect_float(n, 0);
    return same_as_input0(n);
  };
  d.forward = [f](const Node&, const std::vector<Tensor>& x) {
    return std::vector<Tensor>{unary_float(x[0], f)};
  };
  d.flops = out_numel;
  d.onnx = onnx_op(op_type, 6);
  return d;
}

// Backward of y = f(x) written through y: gx = g * dfdy(y).
BackwardFn through_output(float (*dfdy)(float)) {
  return [dfdy](const Node&, const std::vector<Tensor>&, const std::vector<Tensor>& y,
                const std::vector<Tensor>& gy) {
    Tensor y32 = to_f32(y[0]), g32 = to_f32(gy[0]);
    Tensor gx(DType::f32, y32.shape());
    const float* py = y32.data<float>();
    const float* pg = g32.data<float>();
    float* out = gx.data<float>();
    for (int64_t i = 0, n = gx.numel(); i < n; ++i) out[i] = pg[i] * dfdy(py[i]);
    return std::vector<Tensor>{gx};
  };
}
}  // namespace

OpDef def_Sqrt() {
  OpDef d = float_math("sqrt(x) (NaN for x < 0)", "Sqrt", [](float v) { return std::sqrt(v); });
  d.backward = through_output([](float y) { return 0.5f / y; });
  return d;
}

OpDef def_Exp() {
  OpDef d = float_math("exp(x)", "Exp", [](float v) { return std::exp(v); });
  d.backward = through_output([](float y) { return y; });
  return d;
}

OpDef def_Erf() {
  OpDef d = float_math("erf(x) (exact GELU is x/2 * (1 + erf(x/sqrt 2)))", "Erf",
                       [](float v) { return std::erf(v); });
  d.onnx = onnx_op("Erf", 9);
  // d/dx erf(x) = 2/sqrt(pi) * exp(-x^2), written through the input.
  d.backward = [](const Node&, const std::vector<Tensor>& x, const std::vector<Tensor>&,
                  const std::vector<Tensor>& gy) {
    Tensor x32 = to_f32(x[0]), g32 = to_f32(gy[0]);
    Tensor gx(DType::f32, x32.shape());
    const float* px = x32.data<float>();
    const float* pg = g32.data<float>();
    float* out = gx.data<float>();
    const float k = 1.1283791670955126f;  // 2 / sqrt(pi)
    for (int64_t i = 0, n = gx.numel(); i < n; ++i) out[i] = pg[i] * k * std::exp(-px[i] * px[i]);
    return std::vector<Tensor>{gx};
  };
  return d;
}

OpDef def_Neg() {
  OpDef d;
  d.doc = "-x (float or signed integer)";
  d.infer = [](const Node& n) {
    DType t = in(n, 0).dtype;
    if (t == DType::u8 || t == DType::boolean)
      invalid_input(str("input 0 must be float or signed integer, got ", dtype_name(t))).raise();
    return same_as_input0(n);
  };
  d.forward = [](const Node&, const std::vector<Tensor>& x) {
    if (is_float_dtype(x[0].dtype()))
      return std::vector<Tensor>{unary_float(x[0], [](float v) { return -v; })};
    Tensor y(x[0].dtype(), x[0].shape());
    visit_dtype(x[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_integral_v<T>) {
        const T* px = static_cast<const T*>(x[0].raw());
        T* py = static_cast<T*>(y.raw());
        // Negate in unsigned arithmetic: -INT_MIN wraps to INT_MIN as two's complement does.
        using U = std::make_unsigned_t<T>;
        for (int64_t i = 0, n = y.numel(); i < n; ++i)
          py[i] = static_cast<T>(U(0) - static_cast<U>(px[i]));
      }
    });
    return std::vector<Tensor>{y};
  };
  d.backward = [](const Node&, const std::vector<Tensor>&, const std::vector<Tensor>&,
                  const std::vector<Tensor>& gy) {
    return std::vector<Tensor>{map_unary(to_f32(gy[0]), [](float g) { return -g; })};
  };
  d.flops = out_numel;
  d.onnx = onnx_op("Neg", 6);
  return d;
}

}  // namespace mpq::ops
