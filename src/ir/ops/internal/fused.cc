// FusedConv / FusedGemm (ai.mpq): a Conv or Gemm followed by a chain of element-wise post-ops,
// made by the fusion pass so that backends run the whole chain as one kernel (oneDNN post-ops).
//   inputs: the Conv/Gemm inputs (X, W, B?), then the residual R (input 3) when "Add" is fused
//   attrs:  the Conv/Gemm attributes, plus the post-ops (ir/post_op.h): element-wise ops with an
//           epilogue trait, applied in order through the trait, and Add (+ R)
// The output keeps the name of the last fused op's output, so calibration ranges still apply.
#include <algorithm>
#include <cmath>

#include "ir/ops/op_util.h"
#include "ir/post_op.h"

namespace mpq::ops {

namespace {

const OpDef& base_def(const char* name) {
  const OpDef* d = find_op_def(name);
  if (!d) internal_error(str("fused op needs ", name, ", which this build does not have")).raise();
  return *d;
}

// Applies the post-op chain to y (f32) in place.
void apply_post_ops(const Node& n, Tensor& y, const std::vector<Tensor>& x) {
  float* py = y.data<float>();
  const int64_t total = y.numel();
  for (const PostOp& p : post_ops(n)) {
    if (p.kind != OpKind::Add) {
      const EpilogueTrait& t = epilogue_of(p.kind);
      for (int64_t i = 0; i < total; ++i) py[i] = t.apply(py[i], p.a, p.b);
      continue;
    }
    if (x.size() < 4 || x[3].empty()) invalid_input("fused Add without a residual input").raise();
    Tensor r = x[3].dtype() == DType::f32 ? x[3] : x[3].cast(DType::f32);
    if (r.numel() != total)
      invalid_input(
          str("residual ", shape_str(r.shape()), " does not match ", shape_str(y.shape())))
          .raise();
    const float* pr = r.data<float>();
    for (int64_t i = 0; i < total; ++i) py[i] += pr[i];
  }
}

// FusedGemm also takes A of rank > 2 (a Linear on [N, L, C] or [N, H, W, C], which the fusion
// pass makes of MatMul by a constant matrix + bias): its rows are A's leading dims, flattened
// around the Gemm, and the output keeps them.
bool rows_form(const Node& n, const Shape& a) {
  return n.op == OpKind::FusedGemm && a.size() > 2;
}

std::vector<TypeInfo> infer_rows_gemm(const Node& n) {
  const Value& a = in(n, 0);
  const Value& b = in(n, 1);
  if (n.attrs.i("transA", 0) != 0)
    invalid_input("transA with A of rank > 2").node(n.name).key("transA").raise();
  if (b.shape.size() != 2)
    invalid_input(str("B must be 2-D, got ", shape_str(b.shape))).node(n.name).raise();
  const bool tb = n.attrs.i("transB", 0) != 0;
  const int64_t K = a.shape.back(), Kb = tb ? b.shape[1] : b.shape[0];
  if (K >= 0 && Kb >= 0 && K != Kb)
    invalid_input(
        str("inner dimensions differ: A ", shape_str(a.shape), " and B ", shape_str(b.shape)))
        .node(n.name)
        .raise();
  Shape y = a.shape;
  y.back() = tb ? b.shape[0] : b.shape[1];
  return {{a.dtype, y}};
}

OpDef fused(const char* base, const char* doc, std::vector<AttrSpec> base_attrs) {
  OpDef d;
  d.doc = doc;
  d.min_inputs = 2;
  d.max_inputs = 4;
  d.attrs = std::move(base_attrs);
  for (auto& a : d.attrs) a.optional = true, a.default_value.reset();
  d.attrs.push_back({kPostOpsAttr, AttrType::kStrings, std::nullopt, true});
  d.attrs.push_back({kPostOpParamsAttr, AttrType::kFloats, std::nullopt, true});
  // The base op's value checks hold for the fused op too (an engine file's FusedConv with a
  // stride past the limit must be refused like a Conv's before any window arithmetic).
  d.check_attrs = [base](const Node& n) {
    if (base_def(base).check_attrs) base_def(base).check_attrs(n);
  };
  d.infer = [base](const Node& n) {
    post_ops(n);  // rejects a malformed post-op list early, naming the node
    if (rows_form(n, in(n, 0).shape)) return infer_rows_gemm(n);
    return base_def(base).infer(n);
  };
  d.forward = [base](const Node& n, const std::vector<Tensor>& x) {
    std::vector<Tensor> bx(x.begin(), x.begin() + std::min<size_t>(3, x.size()));
    while (bx.size() > 2 && bx.back().empty()) bx.pop_back();
    const Shape as = bx[0].shape();
    const bool rows = rows_form(n, as);
    if (rows) bx[0] = bx[0].reshaped({bx[0].numel() / as.back(), as.back()});
    std::vector<Tensor> y = base_def(base).forward(n, bx);
    if (rows) {
      Shape ys = as;
      ys.back() = y[0].shape().back();
      y[0] = y[0].reshaped(ys);
    }
    apply_post_ops(n, y[0], x);
    return y;
  };
  d.flops = [base](const Node& n) {
    const OpDef& b = base_def(base);
    return b.flops ? b.flops(n) : 0;
  };
  d.quant = QuantRule::kRequant;
  d.weighted = true;
  // Looked up when called: the registry is still being built here.
  d.weight_channel_axis = [base](const Node& n) { return base_def(base).weight_channel_axis(n); };
  d.onnx.min_opset = 1;
  d.onnx.max_opset = 18;
  d.onnx.domain = "ai.mpq";
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
