// QuantizeLinear / DequantizeLinear (ONNX opset 10 per tensor, 13+ per axis):
//   q = saturate(round_half_to_even(x / scale) + zero_point),  x = (q - zero_point) * scale.
// This is the one rounding rule of mpq (DESIGN.md §5): half to even, saturating to the int8/uint8
// range, with x / scale computed in fp32 as ONNX's reference does.
#include <cmath>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {

// Per-tensor (numel 1) or per-axis scale/zero point layout for input x.
struct QLayout {
  int64_t channels = 1;  // 1: per tensor
  int64_t inner = 1;     // elements per channel step
  int axis = -1;
};

QLayout layout_of(const Node& n, const Shape& xs, const Shape& scale_shape) {
  QLayout l;
  const int64_t sn = shape_numel(scale_shape);
  if (scale_shape.empty() || (sn == 1 && scale_shape.size() <= 1)) return l;
  if (scale_shape.size() != 1)
    invalid_input(str("scale must be a scalar or 1-D, got shape ", shape_str(scale_shape))).raise();
  const int64_t r = static_cast<int64_t>(xs.size());
  l.axis = static_cast<int>(normalize_axis(n.attrs.i("axis", 1), r, "axis"));
  l.channels = scale_shape[0];
  if (xs[l.axis] >= 0 && l.channels >= 0 && xs[l.axis] != l.channels)
    invalid_input(str("scale has ", l.channels, " values, input dim ", l.axis, " of ",
                      shape_str(xs), " is ", xs[l.axis]))
        .raise();
  for (int64_t i = l.axis + 1; i < r; ++i) l.inner *= xs[i];
  return l;
}

void check_params(const Node& n, DType scale_t) {
  const Value& s = in(n, 1);
  if (s.dtype != scale_t && !is_float_dtype(s.dtype))
    invalid_input(str("scale must be float, got ", dtype_name(s.dtype))).raise();
  if (n.has_input(2) && shape_is_static(in(n, 2).shape) && shape_is_static(s.shape) &&
      shape_numel(in(n, 2).shape) != shape_numel(s.shape))
    invalid_input(
        str("zero_point has shape ", shape_str(in(n, 2).shape), ", scale has ", shape_str(s.shape)))
        .raise();
}

// Attaches the parameters to a quantized tensor so later stages can read its scale.
void attach_params(Tensor& q, const std::vector<float>& scale, const Tensor& zp, int axis) {
  QuantParams p;
  p.scale = scale;
  p.axis = axis;
  p.is_signed = q.dtype() == DType::i8;
  for (size_t c = 0; c < scale.size(); ++c)
    p.zero_point.push_back(
        zp.empty() ? 0 : static_cast<int32_t>(load_as_double(zp.raw(), zp.dtype(), c)));
  q.set_quant(p);
}

int axis_for_quant(const QLayout& l) {
  return l.channels == 1 ? -1 : l.axis;
}

}  // namespace

OpDef def_QuantizeLinear() {
  OpDef d;
  d.doc =
      "saturate(round_half_to_even(x / scale) + zero_point) to int8/uint8, per tensor or per axis";
  d.min_inputs = 2;
  d.max_inputs = 3;
  // `axis` exists from opset 13 (default 1): optional so that opset 10 nodes stay valid on export.
  d.attrs = {{"axis", AttrType::kInt, std::nullopt, true}};
  d.infer = [](const Node& n) {
    const Value& x = in(n, 0);
    if (!is_float_dtype(x.dtype) && x.dtype != DType::i32)
      invalid_input(str("x must be float or int32, got ", dtype_name(x.dtype))).raise();
    check_params(n, DType::f32);
    DType out = DType::u8;
    if (n.has_input(2)) {
      out = in(n, 2).dtype;
      if (out != DType::u8 && out != DType::i8)
        invalid_input(str("zero_point must be uint8 or int8, got ", dtype_name(out))).raise();
    }
    layout_of(n, x.shape, in(n, 1).shape);
    return std::vector<TypeInfo>{{out, x.shape}};
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    const Tensor& t = x[0];
    const Tensor scale = to_f32(x[1]);
    const Tensor zp = x.size() > 2 ? x[2] : Tensor();
    const QLayout l = layout_of(n, t.shape(), scale.shape());
    if (!zp.empty() && zp.numel() != scale.numel())
      invalid_input(str("zero_point has ", zp.numel(), " values, scale has ", scale.numel()))
          .raise();
    Tensor q(zp.empty() ? DType::u8 : zp.dtype(), t.shape());
    const Tensor t32 = to_f32(t);
    const float* px = t32.data<float>();
    const float* ps = scale.data<float>();
    for (int64_t i = 0, n_el = t.numel(); i < n_el; ++i) {
      const int64_t c = l.channels == 1 ? 0 : (i / l.inner) % l.channels;
      const float v = px[i] / ps[c];  // fp32 division, as ONNX's reference computes it
      const double z = zp.empty() ? 0.0 : load_as_double(zp.raw(), zp.dtype(), c);
      // nearbyint rounds half to even; store_from_double saturates to the type's range.
      store_from_double(q.raw(), q.dtype(), i, std::nearbyint(static_cast<double>(v)) + z);
    }
    attach_params(q, std::vector<float>(ps, ps + scale.numel()), zp, axis_for_quant(l));
    return std::vector<Tensor>{q};
  };
  d.flops = out_numel;
  d.onnx = onnx_op("QuantizeLinear", 10);
  return d;
}

OpDef def_DequantizeLinear() {
  OpDef d;
  d.doc = "(x - zero_point) * scale from int8/uint8/int32 to f32, per tensor or per axis";
  d.min_inputs = 2;
  d.max_inputs = 3;
  d.attrs = {{"axis", AttrType::kInt, std::nullopt, true}};
  d.infer = [](const Node& n) {
    const Value& x = in(n, 0);
    if (x.dtype != DType::i8 && x.dtype != DType::u8 && x.dtype != DType::i32)
      invalid_input(str("x must be int8, uint8 or int32, got ", dtype_name(x.dtype))).raise();
    check_params(n, DType::f32);
    if (n.has_input(2) && in(n, 2).dtype != x.dtype)
      invalid_input(
          str("zero_point is ", dtype_name(in(n, 2).dtype), ", x is ", dtype_name(x.dtype)))
          .raise();
    layout_of(n, x.shape, in(n, 1).shape);
    return std::vector<TypeInfo>{{in(n, 1).dtype, x.shape}};
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    const Tensor& t = x[0];
    const Tensor scale = to_f32(x[1]);
    const Tensor zp = x.size() > 2 ? x[2] : Tensor();
    const QLayout l = layout_of(n, t.shape(), scale.shape());
    if (!zp.empty() && zp.numel() != scale.numel())
      invalid_input(str("zero_point has ", zp.numel(), " values, scale has ", scale.numel()))
          .raise();
    Tensor y(DType::f32, t.shape());
    float* py = y.data<float>();
    const float* ps = scale.data<float>();
    for (int64_t i = 0, n_el = t.numel(); i < n_el; ++i) {
      const int64_t c = l.channels == 1 ? 0 : (i / l.inner) % l.channels;
      const float q = static_cast<float>(load_as_double(t.raw(), t.dtype(), i));
      const float z =
          zp.empty() ? 0.f : static_cast<float>(load_as_double(zp.raw(), zp.dtype(), c));
      py[i] = (q - z) * ps[c];
    }
    return std::vector<Tensor>{from_f32(y, x[1].dtype())};
  };
  d.flops = out_numel;
  d.onnx = onnx_op("DequantizeLinear", 10);
  return d;
}

}  // namespace mpq::ops
