// Epilogue fusion into Conv/Gemm (oneDNN post-ops):
//   * activation: Conv|Gemm|Fused* -> an op with an epilogue trait (Relu, Clip with constant
//                 bounds, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh, ...)
//   * gated:      Conv|Gemm|Fused* -> y; Mul(y, f(y)) where the trait of f names the op x * f(x)
//                 (Sigmoid: Silu; HardSigmoid(1/6, 1/2): HardSwish)
//   * residual:   Conv|Gemm|Fused* -> Add(that, other), when the host has no sum yet; `other`
//                 becomes the host's input 3 and is added in the epilogue.
//   * dense:      MatMul(x, constant matrix) [-> Add(per-column constant)] becomes a FusedGemm
//                 (A of any rank >= 2: its leading dims are the rows) with that bias, so that
//                 the activations and residuals after a Linear on [N, L, C] fuse as after a Gemm.
// The host becomes FusedConv/FusedGemm (keeping its name and attributes), and produces the
// absorbed op's output value, so the value name seen by calibration is the one of the last op.
#include <algorithm>

#include "ir/op_def.h"
#include "ir/post_op.h"
#include "passes/pass.h"

namespace mpq::passes {

namespace {

bool is_host(const Node& n) {
  return is_op(n, OpKind::Conv) || is_op(n, OpKind::Gemm) || is_op(n, OpKind::FusedConv) ||
         is_op(n, OpKind::FusedGemm);
}

bool has_sum(const Node& n) {
  for (const PostOp& p : post_ops(n))
    if (p.kind == OpKind::Add) return true;
  return false;
}

// Turns a Conv/Gemm into its fused form (no-op if already fused).
void make_fused(Node* host) {
  if (is_op(*host, OpKind::Conv)) host->op = OpKind::FusedConv;
  if (is_op(*host, OpKind::Gemm)) host->op = OpKind::FusedGemm;
}

void append_post_op(Node* host, PostOp p) {
  std::vector<PostOp> ops = post_ops(*host);
  ops.push_back(p);
  set_post_ops(*host, ops);
}

// The post-op that a single-input element-wise node `act` of input v would be, if it is one.
std::optional<PostOp> as_post_op(const Node& act, const Value* v) {
  const auto& t = act.def().epilogue;
  if (!t || act.inputs.empty() || act.inputs[0] != v || act.outputs.size() != 1) return {};
  if (std::count(act.inputs.begin(), act.inputs.end(), v) != 1) return {};
  PostOp p{act.op};
  if (t->params && !t->params(act, &p.a, &p.b)) return {};
  return p;
}

// Moves the output of the last of `absorbed` (a chain fed by host) onto `host` and drops them.
void absorb(Graph& g, Node* host, const std::vector<Node*>& absorbed, PassContext& ctx) {
  for (Node* a : absorbed) {
    ctx.record(*host, *a);
    ctx.log.push_back("fused " + a->name + " into " + host->name);
  }
  Value* y = absorbed.back()->outputs[0];
  for (auto it = absorbed.rbegin(); it != absorbed.rend(); ++it) g.remove_node(*it);
  set_output(host, 0, y);
  g.remove_unused();
}

bool is_graph_output(const Graph& g, const Value* v) {
  return std::find(g.outputs().begin(), g.outputs().end(), v) != g.outputs().end();
}

// y -> f(y) -> Mul(y, f(y)) with no other consumer: the gate f and the Mul, or {nullptr, nullptr}.
std::pair<Node*, Node*> gated_pattern(const Graph& g, const Value* y) {
  if (y->consumers.size() != 2 || is_graph_output(g, y)) return {nullptr, nullptr};
  for (int i : {0, 1}) {
    Node* gate = y->consumers[i];
    Node* mul = y->consumers[1 - i];
    if (gate == mul || !is_op(*mul, OpKind::Mul) || mul->inputs.size() != 2) continue;
    if (!gate->def().epilogue || gate->outputs.size() != 1) continue;
    if (sole_consumer(g, gate->outputs[0]) != mul) continue;
    const bool wired = (mul->inputs[0] == y && mul->inputs[1] == gate->outputs[0]) ||
                       (mul->inputs[1] == y && mul->inputs[0] == gate->outputs[0]);
    if (wired && mul->outputs.size() == 1) return {gate, mul};
  }
  return {nullptr, nullptr};
}

class FuseActivation : public Pass {
 public:
  const char* name() const override { return "fuse-activation"; }
  bool run(Graph& g, PassContext& ctx) const override {
    for (const auto& up : g.nodes()) {
      Node* host = up.get();
      if (!is_host(*host) || host->outputs.size() != 1) continue;
      const Value* y = host->outputs[0];
      if (Node* act = sole_consumer(g, y)) {
        std::optional<PostOp> p = as_post_op(*act, y);
        if (!p || !ctx.allowed(*host, *act)) continue;
        make_fused(host);
        append_post_op(host, *p);
        absorb(g, host, {act}, ctx);
        return true;
      }
      auto [gate, mul] = gated_pattern(g, y);
      if (!gate) continue;
      std::optional<PostOp> f = as_post_op(*gate, y);
      if (!f || !gate->def().epilogue->gated) continue;
      std::optional<OpKind> k = gate->def().epilogue->gated(f->a, f->b);
      if (!k || !ctx.allowed(*host, *gate) || !ctx.allowed(*host, *mul)) continue;
      make_fused(host);
      append_post_op(host, PostOp{*k});
      absorb(g, host, {gate, mul}, ctx);
      return true;
    }
    return false;
  }
};

// The bias of a dense layer: a constant of N values broadcast along the last dim ([N] or
// [1, ..., 1, N]), as [N]; an empty tensor if `v` is not one.
Tensor column_bias(const Value* v, int64_t N, size_t out_rank) {
  if (!v || !v->is_constant() || v->constant->numel() != N || N < 1) return Tensor();
  const Shape& s = v->constant->shape();
  if (s.size() > out_rank) return Tensor();
  for (size_t i = 0; i + 1 < s.size(); ++i)
    if (s[i] != 1) return Tensor();
  return v->constant->cast(DType::f32).reshaped({N});
}

class FuseDenseMatMul : public Pass {
 public:
  const char* name() const override { return "fuse-dense-matmul"; }
  bool run(Graph& g, PassContext& ctx) const override {
    for (const auto& up : g.nodes()) {
      Node* mm = up.get();
      if (!is_op(*mm, OpKind::MatMul) || mm->inputs.size() != 2 || mm->outputs.size() != 1)
        continue;
      const Value* a = mm->inputs[0];
      const Value* w = mm->inputs[1];
      if (!a || !w || a->is_constant() || a->shape.size() < 2 || !w->is_constant() ||
          w->shape.size() != 2)
        continue;
      if (!ctx.backend_has(OpKind::FusedGemm)) return false;
      mm->op = OpKind::FusedGemm;
      set_post_ops(*mm, {});
      ctx.log.push_back("made the dense MatMul " + mm->name + " a Gemm");
      const Value* y = mm->outputs[0];
      Node* add = sole_consumer(g, y);
      if (add && is_op(*add, OpKind::Add) && add->inputs.size() == 2 && add->outputs.size() == 1 &&
          !is_graph_output(g, y) && ctx.allowed(*mm, *add)) {
        const Value* other = add->inputs[0] == y ? add->inputs[1] : add->inputs[0];
        Tensor bias = column_bias(other, w->shape[1], y->shape.size());
        if (!bias.empty() && add->outputs[0]->shape == y->shape) {
          mm->inputs.resize(3, nullptr);
          g.set_input(mm, 2, g.add_constant(g.unique_value_name(mm->name + "_bias"), bias));
          absorb(g, mm, {add}, ctx);
        }
      }
      return true;
    }
    return false;
  }
};

class FuseResidual : public Pass {
 public:
  const char* name() const override { return "fuse-residual"; }
  bool run(Graph& g, PassContext& ctx) const override {
    for (const auto& up : g.nodes()) {
      Node* add = up.get();
      if (!is_op(*add, OpKind::Add) || add->inputs.size() != 2 || add->outputs.size() != 1)
        continue;
      if (add->inputs[0] == add->inputs[1]) continue;
      // Prefer the host that comes later (its residual is then computed already).
      for (int side : {1, 0}) {
        Value* mine = add->inputs[side];
        Value* other = add->inputs[1 - side];
        Node* host = mine->producer;
        if (!host || !is_host(*host) || has_sum(*host) || other->is_constant()) continue;
        if (sole_consumer(g, mine) != add) continue;
        if (mine->shape != add->outputs[0]->shape || other->shape != add->outputs[0]->shape)
          continue;
        if (depends_on(other, host)) continue;
        if (!ctx.allowed(*host, *add)) continue;
        make_fused(host);
        if (host->inputs.size() < 4) host->inputs.resize(4, nullptr);
        g.set_input(host, 3, other);
        append_post_op(host, PostOp{OpKind::Add});
        absorb(g, host, {add}, ctx);
        g.sort();
        return true;
      }
    }
    return false;
  }

 private:
  // Whether value v is computed from node n's outputs (fusing would create a cycle).
  static bool depends_on(const Value* v, const Node* n) {
    std::vector<const Node*> stack;
    if (v->producer) stack.push_back(v->producer);
    std::vector<const Node*> seen;
    while (!stack.empty()) {
      const Node* p = stack.back();
      stack.pop_back();
      if (p == n) return true;
      if (std::find(seen.begin(), seen.end(), p) != seen.end()) continue;
      seen.push_back(p);
      for (const Value* in : p->inputs)
        if (in && in->producer) stack.push_back(in->producer);
    }
    return false;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_activation() {
  return std::make_unique<FuseActivation>();
}
std::unique_ptr<Pass> make_fuse_dense_matmul() {
  return std::make_unique<FuseDenseMatMul>();
}
std::unique_ptr<Pass> make_fuse_residual() {
  return std::make_unique<FuseResidual>();
}

}  // namespace mpq::passes
