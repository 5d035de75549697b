// Layer normalization as exporters decompose it (opset < 17, e.g. torchvision's convnext and vit):
//   m = ReduceMean(x, last axis); d = x - m; v = ReduceMean(d ^ 2); y = d / Sqrt(v + eps)
//   [* gamma] [+ beta]
// becomes one LayerNormalization(x, gamma, beta; axis -1, epsilon eps). One step instead of nine,
// and no int8 quantization of the variance: the statistics stay in float inside the op, as in
// ONNX Runtime and TensorRT. Only where the backend being built for has a LayerNormalization
// kernel (PassContext::backend_has).
#include <cmath>

#include "ir/op_def.h"
#include "passes/pass.h"

namespace mpq::passes {

namespace {

bool constant_scalar(const Value* v, float* out) {
  if (!v || !v->is_constant() || v->constant->numel() != 1) return false;
  *out = v->constant->to_floats()[0];
  return true;
}

// The other operand of a binary node whose operand `v` is given.
Value* other_operand(const Node& n, const Value* v) {
  if (n.inputs.size() != 2) return nullptr;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return nullptr;
}

bool last_axis_mean(const Node& n) {
  if (n.op != OpKind::ReduceMean || !n.attrs.has("axes") || n.attrs.i("keepdims", 1) != 1)
    return false;
  const auto& axes = n.attrs.ints("axes");
  const int64_t r = static_cast<int64_t>(n.inputs[0]->shape.size());
  return axes.size() == 1 && (axes[0] == -1 || axes[0] == r - 1);
}

// A per-channel constant over the last dim of x ([C] or [1, ..., 1, C]) as a [C] tensor.
bool channel_constant(const Value* v, int64_t C, Tensor* out) {
  if (!v || !v->is_constant() || v->constant->numel() != C) return false;
  const Shape& s = v->constant->shape();
  for (size_t i = 0; i + 1 < s.size(); ++i)
    if (s[i] != 1) return false;
  *out = v->constant->cast(DType::f32).reshaped({C});
  return true;
}

struct Match {
  Node *mean = nullptr, *sub = nullptr, *pow = nullptr, *var = nullptr, *add_eps = nullptr,
       *sqrt = nullptr, *div = nullptr, *mul = nullptr, *add_beta = nullptr;
  float eps = 0.f;
  Tensor gamma, beta;
};

Node* sole(const Graph& g, const Value* v, OpKind k) {
  Node* c = sole_consumer(g, v);
  return c && c->op == k ? c : nullptr;
}

bool match(const Graph& g, Node* mean, Match* m) {
  if (!last_axis_mean(*mean)) return false;
  Value* x = mean->inputs[0];
  const int64_t C = x->shape.empty() ? -1 : x->shape.back();
  if (C <= 0) return false;
  m->mean = mean;
  m->sub = sole(g, mean->outputs[0], OpKind::Sub);
  if (!m->sub || m->sub->inputs[0] != x || m->sub->inputs[1] != mean->outputs[0]) return false;
  const Value* d = m->sub->outputs[0];
  if (d->consumers.size() != 2) return false;
  for (Node* c : d->consumers) (c->op == OpKind::Pow ? m->pow : m->div) = c;
  float two = 0.f;
  if (!m->pow || !m->div || m->pow->inputs[0] != d || !constant_scalar(m->pow->inputs[1], &two) ||
      two != 2.f || m->div->inputs[0] != d)
    return false;
  m->var = sole(g, m->pow->outputs[0], OpKind::ReduceMean);
  if (!m->var || !last_axis_mean(*m->var)) return false;
  m->add_eps = sole(g, m->var->outputs[0], OpKind::Add);
  if (!m->add_eps || !constant_scalar(other_operand(*m->add_eps, m->var->outputs[0]), &m->eps))
    return false;
  m->sqrt = sole(g, m->add_eps->outputs[0], OpKind::Sqrt);
  if (!m->sqrt || sole_consumer(g, m->sqrt->outputs[0]) != m->div ||
      m->div->inputs[1] != m->sqrt->outputs[0])
    return false;
  m->gamma = Tensor(DType::f32, {C});
  m->beta = Tensor(DType::f32, {C});
  for (int64_t i = 0; i < C; ++i) m->gamma.data<float>()[i] = 1.f, m->beta.data<float>()[i] = 0.f;
  const Value* y = m->div->outputs[0];
  if (Node* mul = sole(g, y, OpKind::Mul);
      mul && channel_constant(other_operand(*mul, y), C, &m->gamma)) {
    m->mul = mul;
    y = mul->outputs[0];
    if (Node* add = sole(g, y, OpKind::Add);
        add && channel_constant(other_operand(*add, y), C, &m->beta)) {
      m->add_beta = add;
    }
  }
  return true;
}

class FuseLayerNorm : public Pass {
 public:
  const char* name() const override { return "fuse-layernorm"; }
  bool run(Graph& g, PassContext& ctx) const override {
    if (!ctx.backend_has(OpKind::LayerNormalization)) return false;
    for (const auto& up : g.nodes()) {
      Match m;
      if (up->op != OpKind::ReduceMean || !match(g, up.get(), &m)) continue;
      Node* last = m.add_beta ? m.add_beta : m.mul ? m.mul : m.div;
      Value* y = last->outputs[0];
      const std::string base = m.mean->name;
      Attributes a;
      a.set("axis", int64_t{-1});
      a.set("epsilon", m.eps);
      Node* ln = g.add_node(
          OpKind::LayerNormalization, g.unique_node_name(base + "_layernorm"),
          {m.mean->inputs[0], g.add_constant(g.unique_value_name(base + "_gamma"), m.gamma),
           g.add_constant(g.unique_value_name(base + "_beta"), m.beta)},
          1, a);
      apply_attr_schema(*ln);
      std::vector<Node*> chain;
      for (Node* n : {m.mean, m.sub, m.pow, m.var, m.add_eps, m.sqrt, m.div, m.mul, m.add_beta})
        if (n) chain.push_back(n);
      ctx.log.push_back("fused the layer normalization at " + base);
      replace_chain(g, ctx, ln, chain, y);
      return true;
    }
    return false;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_layernorm() {
  return std::make_unique<FuseLayerNorm>();
}

}  // namespace mpq::passes
