// Element-wise activations. Each is float in, float out; Relu/Clip pass int8 through unchanged
// (they commute with a positive-scale quantization), the others run in float.
#include "ir/ops/op_util.h"

namespace mpq::ops {

OpDef def_Relu() {
  OpDef d;
  d.doc = "max(x, 0)";
  d.infer = same_as_input0;
  d.forward = [](const Node&, const std::vector<Tensor>& x) {
    return std::vector<Tensor>{map_unary(x[0], [](float v) { return v > 0.f ? v : 0.f; })};
  };
  d.backward = [](const Node&, const std::vector<Tensor>& x, const std::vector<Tensor>&,
                  const std::vector<Tensor>& gy) {
    Tensor gx(DType::f32, x[0].shape());
    const float* px = x[0].data<float>();
    const float* pg = gy[0].data<float>();
    float* out = gx.data<float>();
    for (int64_t i = 0, n = gx.numel(); i < n; ++i) out[i] = px[i] > 0.f ? pg[i] : 0.f;
    return std::vector<Tensor>{gx};
  };
  d.quant = QuantRule::kPassthrough;
  d.onnx = {"Relu", 6, 18};
  return d;
}

}  // namespace mpq::ops
