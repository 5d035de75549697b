// Element-wise binary ops with numpy broadcasting. Add is quantizable (residual connections);
// Sub/Mul/Div/Pow/Mod run in float. Float tensors compute in fp32; integer tensors follow ONNX's
// integer semantics (two's-complement wrap-around, Div truncates toward zero).
#include <cmath>
#include <limits>
#include <type_traits>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {

std::vector<TypeInfo> infer_binary(const Node& n) {
  const Value& a = in(n, 0);
  const Value& b = in(n, 1);
  if (a.dtype != b.dtype)
    invalid_input(
        str("inputs have different dtypes: ", dtype_name(a.dtype), " and ", dtype_name(b.dtype)))
        .raise();
  if (a.dtype == DType::boolean) invalid_input("inputs must be numeric, got bool").raise();
  return {{a.dtype, broadcast_shapes(a.shape, b.shape)}};
}

// Applies ff (float, in fp32) or fi (integer, on int64 values) element-wise with broadcasting.
// The result has a's dtype.
template <typename FF, typename FI>
Tensor binary_any(const Tensor& a, const Tensor& b, FF ff, FI fi) {
  const Shape os = broadcast_shapes(a.shape(), b.shape());
  if (is_float_dtype(a.dtype())) {
    Tensor a32 = to_f32(a), b32 = to_f32(b);
    Tensor y(DType::f32, os);
    const float* pa = a32.data<float>();
    const float* pb = b32.data<float>();
    float* py = y.data<float>();
    broadcast_for_each<2>(
        os, {&a.shape(), &b.shape()},
        [&](int64_t k, const std::array<int64_t, 2>& o) { py[k] = ff(pa[o[0]], pb[o[1]]); });
    return from_f32(y, a.dtype());
  }
  Tensor y(a.dtype(), os);
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) {
      const T* pa = static_cast<const T*>(a.raw());
      const T* pb = static_cast<const T*>(b.raw());
      T* py = static_cast<T*>(y.raw());
      broadcast_for_each<2>(
          os, {&a.shape(), &b.shape()}, [&](int64_t k, const std::array<int64_t, 2>& o) {
            // Conversion to a narrower integer wraps (modular since C++20), as ONNX runtimes do.
            py[k] =
                static_cast<T>(fi(static_cast<int64_t>(pa[o[0]]), static_cast<int64_t>(pb[o[1]])));
          });
    }
  });
  return y;
}

// Wrapping int64 arithmetic (signed overflow is undefined in C++; unsigned wraps).
int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
int64_t trunc_div(int64_t a, int64_t b) {
  if (b == 0) invalid_input("integer division by zero").raise();
  if (a == std::numeric_limits<int64_t>::min() && b == -1) return a;  // wraps
  return a / b;                                                       // C++ truncates toward zero
}

// Opset < 7 broadcasting: with broadcast=1 and `axis`, B's shape matches A's dims starting at
// `axis`. Without `axis` B is suffix-aligned, which numpy broadcasting already covers; with it, B
// gets trailing 1-dims so that numpy broadcasting gives the same result.
void legacy_broadcast_fixup(Graph& g, Node& n, int opset) {
  if (opset >= 7) return;
  const bool bcast = n.attrs.i("broadcast", 0) != 0;
  const bool has_axis = n.attrs.has("axis");
  const int64_t axis = n.attrs.i("axis", 0);
  n.attrs.erase("broadcast");
  n.attrs.erase("axis");
  if (!bcast || !has_axis || n.inputs.size() < 2 || !n.inputs[0] || !n.inputs[1]) return;
  Value* a = n.inputs[0];
  Value* b = n.inputs[1];
  if (!a->has_type || !b->has_type)
    unsupported(str("legacy (opset ", opset,
                    ") broadcasting with 'axis' needs the ranks of both "
                    "inputs; declare their shapes (value_info) or re-export at opset 7 or later"))
        .node(n.name)
        .key("axis")
        .raise();
  const int64_t ra = static_cast<int64_t>(a->shape.size()),
                rb = static_cast<int64_t>(b->shape.size());
  const int64_t ax = axis < 0 ? axis + ra : axis;
  const int64_t trailing = ra - ax - rb;
  if (ax < 0 || trailing < 0)
    invalid_input(str("axis ", axis, " does not place B ", shape_str(b->shape), " inside A ",
                      shape_str(a->shape)))
        .node(n.name)
        .key("axis")
        .raise();
  if (trailing == 0) return;
  std::vector<int64_t> axes;
  for (int64_t i = 0; i < trailing; ++i) axes.push_back(rb + i);
  if (b->constant) {
    Shape s = b->shape;
    s.insert(s.end(), trailing, 1);
    g.set_input(&n, 1,
                g.add_constant(g.unique_value_name(b->name + "_bcast"), b->constant->reshaped(s)));
    return;
  }
  Value* ax_v = g.add_constant(g.unique_value_name(n.name + "_bcast_axes"),
                               Tensor::from<int64_t>({trailing}, axes));
  Node* u = g.add_node(OpKind::Unsqueeze, g.unique_node_name(n.name + "_bcast"), {b, ax_v}, 1);
  g.set_input(&n, 1, u->outputs[0]);
}

// Gradients of a broadcasting binary op: ga[i] and gb[i] per output element, reduced to the shape
// of each input. Integer inputs get no gradient.
template <typename F>
std::vector<Tensor> binary_backward(const std::vector<Tensor>& x, const Tensor& gy, F f) {
  if (!is_float_dtype(x[0].dtype())) return {Tensor(), Tensor()};
  Tensor a = to_f32(x[0]), b = to_f32(x[1]), g = to_f32(gy);
  const Shape& os = g.shape();
  Tensor ga(DType::f32, os), gb(DType::f32, os);
  const float *pa = a.data<float>(), *pb = b.data<float>(), *pg = g.data<float>();
  float *qa = ga.data<float>(), *qb = gb.data<float>();
  broadcast_for_each<2>(os, {&a.shape(), &b.shape()},
                        [&](int64_t k, const std::array<int64_t, 2>& o) {
                          f(pa[o[0]], pb[o[1]], pg[k], qa[k], qb[k]);
                        });
  return {reduce_to_shape(ga, a.shape()), reduce_to_shape(gb, b.shape())};
}

template <typename FF, typename FI, typename FB>
OpDef arith(const char* doc, const char* op_type, FF ff, FI fi, FB fb) {
  OpDef d;
  d.doc = doc;
  d.min_inputs = d.max_inputs = 2;
  d.infer = infer_binary;
  d.forward = [ff, fi](const Node&, const std::vector<Tensor>& x) {
    return std::vector<Tensor>{binary_any(x[0], x[1], ff, fi)};
  };
  d.backward = [fb](const Node&, const std::vector<Tensor>& x, const std::vector<Tensor>&,
                    const std::vector<Tensor>& gy) { return binary_backward(x, gy[0], fb); };
  d.flops = out_numel;
  d.onnx = onnx_op(op_type, 6);
  d.onnx.internal_attrs = {"broadcast", "axis"};  // opset 6 legacy broadcasting
  d.onnx.import_fixup = legacy_broadcast_fixup;
  return d;
}

}  // namespace

OpDef def_Add() {
  OpDef d = arith(
      "a + b (broadcasting)", "Add", [](float a, float b) { return a + b; }, wrap_add,
      [](float, float, float g, float& ga, float& gb) { ga = g, gb = g; });
  d.quant = QuantRule::kRequant;
  return d;
}

OpDef def_Sub() {
  return arith(
      "a - b (broadcasting)", "Sub", [](float a, float b) { return a - b; }, wrap_sub,
      [](float, float, float g, float& ga, float& gb) { ga = g, gb = -g; });
}

// Mul requantizes like Add: squeeze-excitation's channel scaling stays int8 between int8 convs.
OpDef def_Mul() {
  OpDef d = arith(
      "a * b (broadcasting)", "Mul", [](float a, float b) { return a * b; }, wrap_mul,
      [](float a, float b, float g, float& ga, float& gb) { ga = g * b, gb = g * a; });
  d.quant = QuantRule::kRequant;
  return d;
}

OpDef def_Div() {
  return arith(
      "a / b (broadcasting; integer division truncates toward zero)", "Div",
      [](float a, float b) { return a / b; }, trunc_div,
      [](float a, float b, float g, float& ga, float& gb) { ga = g / b, gb = -g * a / (b * b); });
}

// Mod: the remainder with the divisor's sign (Python's %) for fmod=0, C's fmod (the dividend's
// sign) for fmod=1, which ONNX requires for floats. Exporters emit it in index arithmetic.
OpDef def_Mod() {
  OpDef d;
  d.doc = "a mod b (broadcasting; fmod=0: sign of b, fmod=1: sign of a)";
  d.min_inputs = d.max_inputs = 2;
  d.infer = [](const Node& n) {
    if (is_float_dtype(in(n, 0).dtype) && n.attrs.i("fmod", 0) == 0)
      invalid_input("Mod of floats needs fmod=1").key("fmod").raise();
    return infer_binary(n);
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    const bool c_fmod = n.attrs.i("fmod", 0) != 0;
    auto fi = [c_fmod](int64_t a, int64_t b) -> int64_t {
      if (b == 0) invalid_input("integer modulo by zero").raise();
      if (b == -1) return 0;  // also avoids INT64_MIN % -1
      const int64_t r = a % b;
      return !c_fmod && r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
    };
    auto ff = [](float a, float b) { return std::fmod(a, b); };
    return std::vector<Tensor>{binary_any(x[0], x[1], ff, fi)};
  };
  d.flops = out_numel;
  d.onnx = onnx_op("Mod", 10);
  return d;
}

// Pow allows different dtypes for base and exponent (opset 12+); the result has the base's dtype.
OpDef def_Pow() {
  OpDef d;
  d.doc = "a ^ b (broadcasting; the result has a's dtype)";
  d.min_inputs = d.max_inputs = 2;
  d.infer = [](const Node& n) {
    const Value& a = in(n, 0);
    const Value& b = in(n, 1);
    for (const Value* v : {&a, &b})
      if (v->dtype == DType::boolean || v->dtype == DType::i8 || v->dtype == DType::u8)
        invalid_input(str("Pow takes float, int32 or int64 inputs, got ", dtype_name(v->dtype)))
            .raise();
    return std::vector<TypeInfo>{{a.dtype, broadcast_shapes(a.shape, b.shape)}};
  };
  d.forward = [](const Node&, const std::vector<Tensor>& x) {
    const Tensor& a = x[0];
    const Shape os = broadcast_shapes(a.shape(), x[1].shape());
    Tensor b = to_f32(x[1]);
    if (is_float_dtype(a.dtype())) {
      Tensor a32 = to_f32(a), y(DType::f32, os);
      const float *pa = a32.data<float>(), *pb = b.data<float>();
      float* py = y.data<float>();
      broadcast_for_each<2>(os, {&a.shape(), &b.shape()},
                            [&](int64_t k, const std::array<int64_t, 2>& o) {
                              py[k] = std::pow(pa[o[0]], pb[o[1]]);
                            });
      return std::vector<Tensor>{from_f32(y, a.dtype())};
    }
    // Integer base: computed in double, truncated toward zero into the base's type.
    Tensor y(a.dtype(), os);
    const float* pb = b.data<float>();
    broadcast_for_each<2>(
        os, {&a.shape(), &b.shape()}, [&](int64_t k, const std::array<int64_t, 2>& o) {
          double v = std::trunc(
              std::pow(load_as_double(a.raw(), a.dtype(), o[0]), static_cast<double>(pb[o[1]])));
          store_from_double(y.raw(), a.dtype(), k, v);
        });
    return std::vector<Tensor>{y};
  };
  d.flops = out_numel;
  d.onnx = onnx_op("Pow", 1);
  d.onnx.internal_attrs = {"broadcast", "axis"};  // opset 1-6 legacy broadcasting
  d.onnx.import_fixup = legacy_broadcast_fixup;
  return d;
}

}  // namespace mpq::ops
