// BatchNormalization (inference form) folded into the Conv or Gemm that feeds it:
//   s = gamma / sqrt(var + eps);  W'[oc] = W[oc] * s[oc];  b'[oc] = (b[oc] - mean[oc]) * s + beta
// The producer then outputs the BN's output value (its name is kept for calibration ranges).
#include <cmath>

#include "ir/op_def.h"
#include "passes/pass.h"

namespace mpq::passes {

namespace {

bool all_constant(const Node& n, size_t from) {
  for (size_t i = from; i < n.inputs.size(); ++i)
    if (!n.inputs[i] || !n.inputs[i]->is_constant()) return false;
  return true;
}

class FoldBatchNorm : public Pass {
 public:
  const char* name() const override { return "fold-batchnorm"; }
  bool run(Graph& g, PassContext& ctx) const override {
    for (const auto& up : g.nodes()) {
      Node* bn = up.get();
      if (!is_op(*bn, OpKind::BatchNormalization) || bn->inputs.size() != 5 ||
          !all_constant(*bn, 1))
        continue;
      if (bn->outputs.size() != 1 || bn->attrs.i("training_mode", 0) != 0) continue;
      Value* x = bn->inputs[0];
      Node* p = x->producer;
      if (!p || sole_consumer(g, x) != bn) continue;
      const bool conv = is_op(*p, OpKind::Conv), gemm = is_op(*p, OpKind::Gemm);
      if ((!conv && !gemm) || !p->has_input(1) || !p->inputs[1]->is_constant()) continue;
      if (p->has_input(2) && !p->inputs[2]->is_constant()) continue;
      if (!ctx.allowed(*p, *bn)) continue;
      if (gemm && (p->attrs.i("transA", 0) != 0 || x->shape.size() != 2)) continue;
      if (fold(g, p, bn, conv)) {
        ctx.record(*p, *bn);
        ctx.log.push_back("folded " + bn->name + " into " + p->name);
        Value* y = bn->outputs[0];
        g.remove_node(bn);
        set_output(p, 0, y);
        g.remove_unused();
        return true;
      }
    }
    return false;
  }

 private:
  static bool fold(Graph& g, Node* p, Node* bn, bool conv) {
    std::vector<float> gamma = bn->inputs[1]->constant->to_floats();
    std::vector<float> beta = bn->inputs[2]->constant->to_floats();
    std::vector<float> mean = bn->inputs[3]->constant->to_floats();
    std::vector<float> var = bn->inputs[4]->constant->to_floats();
    const float eps = bn->attrs.f("epsilon", 1e-5f);
    const size_t C = gamma.size();
    if (beta.size() != C || mean.size() != C || var.size() != C) return false;
    std::vector<float> s(C);
    for (size_t c = 0; c < C; ++c) s[c] = gamma[c] / std::sqrt(var[c] + eps);

    const Tensor& w = *p->inputs[1]->constant;
    std::vector<float> wv = w.to_floats();
    std::vector<float> bias(C, 0.f);
    if (conv) {
      if (w.rank() < 1 || static_cast<size_t>(w.dim(0)) != C) return false;
      const size_t per = wv.size() / C;
      for (size_t c = 0; c < C; ++c)
        for (size_t i = 0; i < per; ++i) wv[c * per + i] *= s[c];
      if (p->has_input(2)) bias = p->inputs[2]->constant->to_floats();
      if (bias.size() != C) return false;
      for (size_t c = 0; c < C; ++c) bias[c] = (bias[c] - mean[c]) * s[c] + beta[c];
    } else {
      // y = alpha*A*B + beta_g*C: scale B's output columns; bias' = (beta_g*C - mean)*s + beta.
      const bool tb = p->attrs.i("transB", 0) != 0;
      if (w.rank() != 2) return false;
      const int64_t K = tb ? w.dim(1) : w.dim(0), N = tb ? w.dim(0) : w.dim(1);
      if (static_cast<size_t>(N) != C) return false;
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n) (tb ? wv[n * K + k] : wv[k * N + n]) *= s[n];
      std::vector<float> cv;
      if (p->has_input(2)) {
        cv = p->inputs[2]->constant->to_floats();
        if (cv.size() != 1 && cv.size() != C) return false;
      }
      const float bg = p->attrs.f("beta", 1.f);
      for (size_t c = 0; c < C; ++c) {
        float cc = cv.empty() ? 0.f : bg * cv[cv.size() == 1 ? 0 : c];
        bias[c] = (cc - mean[c]) * s[c] + beta[c];
      }
      p->attrs.set("beta", 1.f);
    }
    Tensor nw = Tensor::from<float>(w.shape(), wv);
    Value* wval = g.add_constant(g.unique_value_name(p->inputs[1]->name + "_bn"), nw);
    Value* bval = g.add_constant(g.unique_value_name(p->name + "_bias_bn"),
                                 Tensor::from<float>({static_cast<int64_t>(C)}, bias));
    g.set_input(p, 1, wval);
    if (p->inputs.size() < 3) p->inputs.resize(3, nullptr);
    g.set_input(p, 2, bval);
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fold_batchnorm() {
  return std::make_unique<FoldBatchNorm>();
}

}  // namespace mpq::passes
