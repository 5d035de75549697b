// Cast between mpq's dtypes with ONNX's conversion rules: float -> integer truncates toward zero
// (saturating at the type's range), anything -> bool is `!= 0`, float -> bf16 truncates the
// mantissa as ONNX's reference implementation does.
#include <cmath>
#include <cstring>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {
// The target dtype of a Cast node, or nullopt when mpq has no such dtype.
std::optional<DType> target_of(const Node& n) {
  DType t;
  if (!dtype_from_onnx(static_cast<int>(n.attrs.i("to")), &t)) return std::nullopt;
  return t;
}

uint16_t bf16_truncate(float f) {
  if (std::isnan(f)) return 0x7fc0;
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>(u >> 16);
}
}  // namespace

OpDef def_Cast() {
  OpDef d;
  d.doc = "convert to dtype `to` (float -> int truncates toward zero)";
  d.attrs = {attr_required("to", AttrType::kInt)};
  d.infer = [](const Node& n) {
    auto t = target_of(n);
    if (!t)
      unsupported(str("Cast to ONNX type ", n.attrs.i("to"), " (mpq has no such dtype)"))
          .key("to")
          .raise();
    return std::vector<TypeInfo>{{*t, in(n, 0).shape}};
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    const DType to = *target_of(n);
    const Tensor& t = x[0];
    if (t.dtype() == to) return std::vector<Tensor>{t};
    Tensor y(to, t.shape());
    const bool from_float = is_float_dtype(t.dtype());
    for (int64_t i = 0, n_el = t.numel(); i < n_el; ++i) {
      double v = load_as_double(t.raw(), t.dtype(), i);
      if (to == DType::bf16) {
        static_cast<uint16_t*>(y.raw())[i] = bf16_truncate(static_cast<float>(v));
        continue;
      }
      if (from_float && is_int_dtype(to)) v = std::trunc(v);
      store_from_double(y.raw(), to, i, v);
    }
    return std::vector<Tensor>{y};
  };
  d.backward = [](const Node&, const std::vector<Tensor>& x, const std::vector<Tensor>&,
                  const std::vector<Tensor>& gy) {
    if (!is_float_dtype(x[0].dtype()) || !is_float_dtype(gy[0].dtype()))
      return std::vector<Tensor>{Tensor()};
    return std::vector<Tensor>{to_f32(gy[0])};
  };
  d.onnx = onnx_op("Cast", 6);
  d.unsupported_reason = [](const Node& n) -> std::string {
    if (!n.attrs.has("to") || target_of(n)) return "";
    return str("Cast to ONNX type ", n.attrs.i("to"),
               " is not supported: mpq's dtypes are f32, f16, bf16, "
               "i8, u8, i32, i64 and bool");
  };
  return d;
}

}  // namespace mpq::ops
