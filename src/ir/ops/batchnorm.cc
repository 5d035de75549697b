// BatchNormalization in inference mode (ONNX 1..18; versions 1/6/7 are mapped onto 9/14/15):
// y = (x - mean) / sqrt(var + epsilon) * scale + B per channel (axis 1); momentum is unused in
// inference. training_mode=1 and the training-only outputs (running / saved statistics) are
// rejected at import; the trainer handles training mode through its own rule. The planner folds
// BN into the preceding conv, so it has no int8 form of its own.
#include <cmath>

#include "ir/ops/compute_util.h"
#include "ir/ops/op_util.h"

namespace mpq::ops {

namespace {

const char* const kParamNames[] = {"X", "scale", "B", "input_mean", "input_var"};

void check_bn_shapes(const Node& n, const Shape& x, const std::vector<const Shape*>& params) {
  if (x.size() < 2)
    invalid_input(str("input X must be N x C x ... (rank >= 2), got ", shape_str(x)))
        .node(n.name)
        .raise();
  for (size_t i = 0; i < params.size(); ++i) {
    const Shape& p = *params[i];
    if (p.size() != 1 || (p[0] >= 0 && x[1] >= 0 && p[0] != x[1]))
      invalid_input(str("input ", kParamNames[i + 1], " must have shape [", x[1],
                        "] (the channels of X ", shape_str(x), "), got ", shape_str(p)))
          .node(n.name)
          .raise();
  }
}

std::vector<TypeInfo> infer_bn(const Node& n) {
  std::vector<const Shape*> params;
  for (size_t i = 0; i < 5; ++i) expect_float(n, i);
  for (size_t i = 1; i < 5; ++i) params.push_back(&in(n, i).shape);
  check_bn_shapes(n, in(n, 0).shape, params);
  std::vector<TypeInfo> out{{in(n, 0).dtype, in(n, 0).shape}};
  // Training-only outputs (rejected at import) are typed like the statistics.
  for (size_t i = 1; i < n.outputs.size(); ++i) out.push_back({in(n, 3).dtype, in(n, 3).shape});
  return out;
}

std::string bn_unsupported(const Node& n) {
  if (n.attrs.has("spatial") && n.attrs.i("spatial") == 0)
    return "BatchNormalization with spatial=0 (statistics per activation, opset < 9) is not "
           "supported";
  if (n.attrs.has("training_mode") && n.attrs.i("training_mode") != 0)
    return "BatchNormalization with training_mode=1 is not supported by the inference path "
           "(export the model in eval mode)";
  for (size_t i = 1; i < n.outputs.size(); ++i)
    if (n.outputs[i])
      return "BatchNormalization's training outputs (running/saved mean and variance) are not "
             "supported (export the model in eval mode)";
  return "";
}

std::vector<Tensor> bn_forward(const Node& n, const std::vector<Tensor>& in) {
  const std::string why = bn_unsupported(n);
  if (!why.empty()) unsupported(why).node(n.name).raise();
  const Tensor X = as_f32(in[0]);
  std::vector<const Shape*> params;
  for (size_t i = 1; i < 5; ++i) params.push_back(&in[i].shape());
  check_bn_shapes(n, X.shape(), params);
  const auto scale = in[1].to_floats(), bias = in[2].to_floats(), mean = in[3].to_floats(),
             var = in[4].to_floats();
  const double eps = n.attrs.f("epsilon", 1e-5f);
  const int64_t N = X.dim(0), C = X.dim(1), S = N * C > 0 ? X.numel() / (N * C) : 0;
  Tensor Y(DType::f32, X.shape());
  const float* x = X.data<float>();
  float* y = Y.data<float>();
  for (int64_t b = 0; b < N; ++b)
    for (int64_t c = 0; c < C; ++c) {
      const float a = static_cast<float>(scale[c] / std::sqrt(static_cast<double>(var[c]) + eps));
      const float m = mean[c], sh = bias[c];
      const float* xp = x + (b * C + c) * S;
      float* yp = y + (b * C + c) * S;
      for (int64_t i = 0; i < S; ++i) yp[i] = (xp[i] - m) * a + sh;
    }
  return {from_f32(Y, in[0].dtype())};
}

}  // namespace

OpDef def_BatchNormalization() {
  OpDef d;
  d.doc = "inference batch normalization over axis 1 (epsilon; training mode rejected)";
  d.min_inputs = d.max_inputs = 5;
  d.max_outputs = 5;  // opset 9-13 training outputs exist in the schema; rejected at import
  // training_mode exists from opset 14 only: no default, so opset 9-13 graphs export unchanged.
  d.attrs = {attr_float("epsilon", 1e-5f),
             attr_float("momentum", 0.9f),
             {"training_mode", AttrType::kInt, std::nullopt, true}};
  d.infer = infer_bn;
  d.forward = bn_forward;
  // A per-channel affine map of int8 values that requantizes (one a conv could not absorb).
  d.quant = QuantRule::kRequant;
  d.flops = [](const Node& n) -> int64_t {
    const Value* x = n.input(0);
    return x && x->has_type ? known_numel(x->shape) : 0;
  };
  d.onnx.op_type = "BatchNormalization", d.onnx.min_opset = 1, d.onnx.max_opset = 18;
  // Attributes of opsets < 9 that the canonical (opset 9+) form does not have: is_test (the output
  // count already says whether it is inference), spatial (only 1 is supported) and the legacy
  // consumed_inputs. They are accepted at import and dropped by the fixup.
  d.onnx.internal_attrs = {"is_test", "spatial", "consumed_inputs"};
  d.onnx.import_fixup = [](Graph&, Node& n, int) {
    const std::string why = bn_unsupported(n);
    if (!why.empty()) unsupported(why).node(n.name).raise();
    for (const char* k : {"is_test", "spatial", "consumed_inputs"}) n.attrs.erase(k);
  };
  d.unsupported_reason = bn_unsupported;
  return d;
}

}  // namespace mpq::ops
