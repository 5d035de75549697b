// BatchNormFold (mpq-internal, domain ai.mpq): the weight and bias of a Conv with the following
// BatchNormalization folded in, as NNI's QAT does with the running statistics:
//   k = scale / sqrt(var + epsilon);  W_f = W * k (per output channel);  b_f = bias + (B - mean) *
//   k
// B (the conv bias) may be omitted. The statistics get no gradient; W, B, scale and bias do.
#include "ir/ops/op_util.h"

namespace mpq::ops {

namespace {

struct FoldView {
  int64_t O = 0, per = 0;  // output channels, weights per output channel
  std::vector<double> k, sigma;
};

FoldView fold_view(const std::vector<Tensor>& x, float eps) {
  FoldView f;
  f.O = x[0].dim(0);
  f.per = f.O ? x[0].numel() / f.O : 0;
  const float* g = x[2].data<float>();
  const float* v = x[5].data<float>();
  f.k.resize(f.O);
  f.sigma.resize(f.O);
  for (int64_t o = 0; o < f.O; ++o) {
    f.sigma[o] = std::sqrt(static_cast<double>(v[o]) + eps);
    f.k[o] = g[o] / f.sigma[o];
  }
  return f;
}

}  // namespace

OpDef def_BatchNormFold() {
  OpDef d;
  d.doc = "mpq-internal (QAT): Conv weight and bias with BatchNormalization folded in";
  d.min_inputs = d.max_inputs = 6;
  d.min_outputs = d.max_outputs = 2;
  d.attrs = {attr_float("epsilon", 1e-5f)};
  d.infer = [](const Node& n) {
    const Value& w = in(n, 0);
    if (w.shape.empty())
      invalid_input("BatchNormFold weight must have an output-channel axis").raise();
    const int64_t O = w.shape[0];
    for (size_t i = 1; i < 6; ++i) {
      if (!n.has_input(i)) {
        if (i == 1) continue;  // conv bias is optional
        invalid_input(str("BatchNormFold needs input ", i)).raise();
      }
      expect_float(n, i);
      const Shape& s = n.inputs[i]->shape;
      if (s.size() != 1 || (s[0] >= 0 && O >= 0 && s[0] != O))
        invalid_input(str("input ", i, " ('", n.inputs[i]->name, "') must have shape [", O,
                          "], got ", shape_str(s)))
            .raise();
    }
    return std::vector<TypeInfo>{{DType::f32, w.shape}, {DType::f32, {O}}};
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    const FoldView f = fold_view(x, n.attrs.f("epsilon"));
    Tensor wf(DType::f32, x[0].shape()), bf(DType::f32, {f.O});
    const float* w = x[0].data<float>();
    const float* b = x[1].empty() ? nullptr : x[1].data<float>();
    const float* beta = x[3].data<float>();
    const float* mean = x[4].data<float>();
    float* pw = wf.data<float>();
    float* pb = bf.data<float>();
    for (int64_t o = 0; o < f.O; ++o) {
      for (int64_t i = 0; i < f.per; ++i)
        pw[o * f.per + i] = static_cast<float>(w[o * f.per + i] * f.k[o]);
      pb[o] =
          static_cast<float>(beta[o] + ((b ? b[o] : 0.f) - static_cast<double>(mean[o])) * f.k[o]);
    }
    return std::vector<Tensor>{wf, bf};
  };
  d.backward = [](const Node& n, const std::vector<Tensor>& x, const std::vector<Tensor>&,
                  const std::vector<Tensor>& gy) {
    const FoldView f = fold_view(x, n.attrs.f("epsilon"));
    const float* w = x[0].data<float>();
    const float* b = x[1].empty() ? nullptr : x[1].data<float>();
    const float* mean = x[4].data<float>();
    const float* gw = gy[0].data<float>();
    const float* gb = gy[1].data<float>();
    Tensor dw(DType::f32, x[0].shape()), dg(DType::f32, {f.O}), dbeta(DType::f32, {f.O});
    Tensor db = b ? Tensor(DType::f32, {f.O}) : Tensor();
    for (int64_t o = 0; o < f.O; ++o) {
      double s = 0.0;
      for (int64_t i = 0; i < f.per; ++i) {
        dw.data<float>()[o * f.per + i] = static_cast<float>(gw[o * f.per + i] * f.k[o]);
        s += static_cast<double>(gw[o * f.per + i]) * w[o * f.per + i];
      }
      const double centered = (b ? b[o] : 0.f) - static_cast<double>(mean[o]);
      dg.data<float>()[o] = static_cast<float>((s + gb[o] * centered) / f.sigma[o]);
      dbeta.data<float>()[o] = gb[o];
      if (b) db.data<float>()[o] = static_cast<float>(gb[o] * f.k[o]);
    }
    return std::vector<Tensor>{dw, db, dg, dbeta, Tensor(), Tensor()};
  };
  d.onnx.op_type = "BatchNormFold";
  d.onnx.min_opset = 1;
  d.onnx.max_opset = 1;
  d.onnx.domain = "ai.mpq";
  return d;
}

}  // namespace mpq::ops
