// FusedConv / FusedGemm (ai.mpq): a Conv or Gemm followed by a chain of element-wise post-ops,
// made by the fusion pass so that backends run the whole chain as one kernel (oneDNN post-ops).
//   inputs: the Conv/Gemm inputs (X, W, B?), then the residual R (input 3) when "Add" is fused
//   attrs:  the Conv/Gemm attributes, plus
//           post_ops       strings, applied in order: "Relu", "Clip", "LeakyRelu", "Add" (+ R)
//           post_op_params floats, two per post-op: Clip (min, max), LeakyRelu (alpha, 0)
// The output keeps the name of the last fused op's output, so calibration ranges still apply.
#include <algorithm>
#include <cmath>

#include "ir/ops/op_util.h"

namespace mpq::ops {

namespace {

const OpDef& base_def(const char* name) {
  const OpDef* d = find_op_def(name);
  if (!d) internal_error(str("fused op needs ", name, ", which this build does not have")).raise();
  return *d;
}

// Applies the post-op chain to y (f32) in place.
void apply_post_ops(const Node& n, Tensor& y, const std::vector<Tensor>& x) {
  if (!n.attrs.has("post_ops")) return;
  const auto& ops = n.attrs.strings("post_ops");
  std::vector<float> p =
      n.attrs.has("post_op_params") ? n.attrs.floats("post_op_params") : std::vector<float>{};
  p.resize(ops.size() * 2, 0.f);
  float* py = y.data<float>();
  const int64_t total = y.numel();
  for (size_t k = 0; k < ops.size(); ++k) {
    const float a = p[2 * k], b = p[2 * k + 1];
    if (ops[k] == "Relu") {
      for (int64_t i = 0; i < total; ++i) py[i] = py[i] > 0.f ? py[i] : 0.f;
    } else if (ops[k] == "Clip") {
      for (int64_t i = 0; i < total; ++i) py[i] = std::min(std::max(py[i], a), b);
    } else if (ops[k] == "LeakyRelu") {
      for (int64_t i = 0; i < total; ++i) py[i] = py[i] >= 0.f ? py[i] : a * py[i];
    } else if (ops[k] == "Add") {
      if (x.size() < 4 || x[3].empty()) invalid_input("fused Add without a residual input").raise();
      Tensor r = x[3].dtype() == DType::f32 ? x[3] : x[3].cast(DType::f32);
      if (r.numel() != total)
        invalid_input(
            str("residual ", shape_str(r.shape()), " does not match ", shape_str(y.shape())))
            .raise();
      const float* pr = r.data<float>();
      for (int64_t i = 0; i < total; ++i) py[i] += pr[i];
    } else {
      invalid_input("unknown post-op '" + ops[k] + "'").key("post_ops").raise();
    }
  }
}

OpDef fused(const char* base, const char* doc, std::vector<AttrSpec> base_attrs) {
  OpDef d;
  d.doc = doc;
  d.min_inputs = 2;
  d.max_inputs = 4;
  d.attrs = std::move(base_attrs);
  for (auto& a : d.attrs) a.optional = true, a.default_value.reset();
  d.attrs.push_back({"post_ops", AttrType::kStrings, std::nullopt, true});
  d.attrs.push_back({"post_op_params", AttrType::kFloats, std::nullopt, true});
  d.infer = [base](const Node& n) { return base_def(base).infer(n); };
  d.forward = [base](const Node& n, const std::vector<Tensor>& x) {
    std::vector<Tensor> bx(x.begin(), x.begin() + std::min<size_t>(3, x.size()));
    while (bx.size() > 2 && bx.back().empty()) bx.pop_back();
    std::vector<Tensor> y = base_def(base).forward(n, bx);
    apply_post_ops(n, y[0], x);
    return y;
  };
  d.flops = [base](const Node& n) {
    const OpDef& b = base_def(base);
    return b.flops ? b.flops(n) : 0;
  };
  d.quant = QuantRule::kRequant;
  d.onnx = {base, 1, 18, "ai.mpq"};
  d.onnx.op_type = std::string("Fused") + base;
  return d;
}

}  // namespace

OpDef def_FusedConv() {
  return fused("Conv", "Conv + fused post-ops (activations, residual sum); mpq-internal",
               {attr_ints_opt("kernel_shape"),
                attr_ints_opt("strides"),
                attr_ints_opt("pads"),
                attr_ints_opt("dilations"),
                {"group", AttrType::kInt, std::nullopt, true},
                {"auto_pad", AttrType::kString, std::nullopt, true}});
}

OpDef def_FusedGemm() {
  return fused("Gemm", "Gemm + fused post-ops (activations, residual sum); mpq-internal",
               {{"alpha", AttrType::kFloat, std::nullopt, true},
                {"beta", AttrType::kFloat, std::nullopt, true},
                {"transA", AttrType::kInt, std::nullopt, true},
                {"transB", AttrType::kInt, std::nullopt, true}});
}

}  // namespace mpq::ops
