// FakeQuantize (mpq-internal, domain ai.mpq): quantize then dequantize, as QAT simulates an int
// layer: y = scale * (saturate(round_half_even(x / scale) + zero_point) - zero_point), per tensor
// or per channel along `axis`; qmin/qmax give the integer range (NNI's int = narrow signed, uint =
// [0, 2^b-1]). The backward is the clipped straight-through estimator. scale and zero_point are
// inputs (the QAT observers rewrite them at every step); they receive no gradient.
#include "ir/ops/internal/fake_quantize.h"

#include "ir/ops/op_util.h"

namespace mpq::ops {

namespace {

FakeQuantArgs args_for(const Node& n, const std::vector<Tensor>& x, std::vector<int64_t>& zp) {
  FakeQuantArgs a;
  a.range = {n.attrs.i("qmin"), n.attrs.i("qmax")};
  zp = x[2].to_int64s();
  a.scale = x[1].data<float>();
  a.zero_point = zp.data();
  a.channels = x[1].numel();
  if (a.channels > 1) {
    const int axis = static_cast<int>(normalize_axis(n.attrs.i("axis"), x[0].rank()));
    for (int d = axis + 1; d < x[0].rank(); ++d) a.inner *= x[0].dim(d);
  }
  return a;
}

}  // namespace

OpDef def_FakeQuantize() {
  OpDef d;
  d.doc = "mpq-internal (QAT): quantize-dequantize with a clipped straight-through gradient";
  d.min_inputs = d.max_inputs = 3;
  d.attrs = {attr_required("qmin", AttrType::kInt), attr_required("qmax", AttrType::kInt),
             attr_int("axis", 1)};
  d.infer = [](const Node& n) {
    expect_float(n, 0);
    expect_float(n, 1);
    const Value& x = in(n, 0);
    const Value& s = in(n, 1);
    const Value& z = in(n, 2);
    if (!dtype_info(z.dtype).is_integer)
      invalid_input("zero_point must be an integer tensor").key("zero_point").raise();
    const int64_t cs = shape_numel(s.shape), cz = shape_numel(z.shape);
    if (cs != cz) invalid_input("scale and zero_point must have the same length").raise();
    if (cs > 1) {
      const int64_t axis = normalize_axis(n.attrs.i("axis"), static_cast<int64_t>(x.shape.size()));
      if (x.shape[axis] >= 0 && x.shape[axis] != cs)
        invalid_input(str("per-channel scale has ", cs, " values, axis ", axis, " of ",
                          shape_str(x.shape), " has ", x.shape[axis]))
            .raise();
    }
    if (n.attrs.i("qmin") >= n.attrs.i("qmax"))
      invalid_input("qmin must be below qmax").key("qmin").raise();
    return std::vector<TypeInfo>{{x.dtype, x.shape}};
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    std::vector<int64_t> zp;
    const FakeQuantArgs a = args_for(n, x, zp);
    Tensor y(DType::f32, x[0].shape());
    fake_quantize_span(x[0].data<float>(), y.data<float>(), 0, y.numel(), a);
    return std::vector<Tensor>{y};
  };
  d.backward = [](const Node& n, const std::vector<Tensor>& x, const std::vector<Tensor>&,
                  const std::vector<Tensor>& gy) {
    std::vector<int64_t> zp;
    const FakeQuantArgs a = args_for(n, x, zp);
    Tensor gx(DType::f32, x[0].shape());
    fake_quantize_ste_span(x[0].data<float>(), gy[0].data<float>(), gx.data<float>(), 0, gx.numel(),
                           a);
    return std::vector<Tensor>{gx, Tensor(), Tensor()};
  };
  d.onnx.op_type = "FakeQuantize";
  d.onnx.min_opset = 1;
  d.onnx.max_opset = 1;
  d.onnx.domain = "ai.mpq";
  return d;
}

}  // namespace mpq::ops
