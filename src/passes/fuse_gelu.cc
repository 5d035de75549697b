// GELU as exporters write it (torch's F.gelu before opset 20):
//   y = Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5)     (or Mul(Mul(x, 0.5), Add(...)),
//                                                           or Mul(x, 1/sqrt 2) for the Div)
// becomes one Gelu(x) (mpq-internal, an epilogue op): one step instead of five, and a Conv/Gemm
// before it takes it as a fused post-op. Only where the backend being built for has a Gelu kernel.
#include <cmath>

#include "ir/op_def.h"
#include "passes/pass.h"

namespace mpq::passes {

namespace {

constexpr float kSqrt2 = 1.41421356f;

bool scalar_near(const Value* v, float want) {
  if (!v || !v->is_constant() || v->constant->numel() != 1) return false;
  return std::fabs(v->constant->to_floats()[0] - want) <= 1e-4f * std::fabs(want);
}

// The operand of binary node n other than v (nullptr if v is not exactly one operand).
const Value* other(const Node& n, const Value* v) {
  if (n.inputs.size() != 2 || n.outputs.size() != 1) return nullptr;
  if (n.inputs[0] == v && n.inputs[1] != v) return n.inputs[1];
  if (n.inputs[1] == v && n.inputs[0] != v) return n.inputs[0];
  return nullptr;
}

Node* sole_of(const Graph& g, const Value* v, OpKind k) {
  Node* c = sole_consumer(g, v);
  return c && c->op == k ? c : nullptr;
}

// The nodes from the scaling of x to the final Mul, first to last, or empty.
std::vector<Node*> match(const Graph& g, Node* scale) {
  if (scale->inputs.empty()) return {};
  const Value* x = scale->inputs[0];
  const bool div = scale->op == OpKind::Div && scalar_near(scale->inputs.at(1), kSqrt2);
  const bool mul = scale->op == OpKind::Mul && scalar_near(other(*scale, x), 1.f / kSqrt2);
  if ((!div && !mul) || x->consumers.size() != 2) return {};
  Node* erf = sole_of(g, scale->outputs[0], OpKind::Erf);
  if (!erf) return {};
  Node* plus1 = sole_of(g, erf->outputs[0], OpKind::Add);
  if (!plus1 || !scalar_near(other(*plus1, erf->outputs[0]), 1.f)) return {};
  const Value* e1 = plus1->outputs[0];
  Node* xm = x->consumers[0] == scale ? x->consumers[1] : x->consumers[0];
  if (xm->op != OpKind::Mul) return {};
  // x * (1 + erf) then * 0.5
  if (other(*xm, x) == e1) {
    Node* half = sole_of(g, xm->outputs[0], OpKind::Mul);
    if (!half || !scalar_near(other(*half, xm->outputs[0]), 0.5f)) return {};
    if (sole_consumer(g, e1) != xm) return {};
    return {scale, erf, plus1, xm, half};
  }
  // (x * 0.5) * (1 + erf)
  if (!scalar_near(other(*xm, x), 0.5f)) return {};
  Node* last = sole_of(g, xm->outputs[0], OpKind::Mul);
  if (!last || other(*last, xm->outputs[0]) != e1 || sole_consumer(g, e1) != last) return {};
  return {scale, erf, plus1, xm, last};
}

class FuseGelu : public Pass {
 public:
  const char* name() const override { return "fuse-gelu"; }
  bool run(Graph& g, PassContext& ctx) const override {
    if (!ctx.backend_has(OpKind::Gelu)) return false;
    for (const auto& up : g.nodes()) {
      if (up->op != OpKind::Div && up->op != OpKind::Mul) continue;
      const std::vector<Node*> m = match(g, up.get());
      if (m.empty()) continue;
      Value* x = m.front()->inputs[0];
      Value* y = m.back()->outputs[0];
      const std::string base = m.front()->name;
      Node* gelu = g.add_node(OpKind::Gelu, g.unique_node_name(base + "_gelu"), {x}, 1);
      ctx.log.push_back("fused the GELU at " + base);
      replace_chain(g, ctx, gelu, m, y);
      return true;
    }
    return false;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_gelu() {
  return std::make_unique<FuseGelu>();
}

}  // namespace mpq::passes
