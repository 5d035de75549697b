// Epilogue fusion into Conv/Gemm (oneDNN post-ops):
//   * activation: Conv|Gemm|Fused* -> Relu | Clip(constant bounds) | LeakyRelu
//   * residual:   Conv|Gemm|Fused* -> Add(that, other), when the host has no sum yet; `other`
//                 becomes the host's input 3 and is added in the epilogue.
// The host becomes FusedConv/FusedGemm (keeping its name and attributes), and produces the
// absorbed op's output value, so the value name seen by calibration is the one of the last op.
#include <limits>

#include "ir/op_def.h"
#include "passes/pass.h"

namespace mpq::passes {

namespace {

bool is_host(const Node& n) {
  return is_op(n, OpKind::Conv) || is_op(n, OpKind::Gemm) || is_op(n, OpKind::FusedConv) ||
         is_op(n, OpKind::FusedGemm);
}

bool has_sum(const Node& n) {
  if (!n.attrs.has("post_ops")) return false;
  for (const auto& s : n.attrs.strings("post_ops"))
    if (s == "Add") return true;
  return false;
}

// Turns a Conv/Gemm into its fused form (no-op if already fused).
void make_fused(Node* host) {
  if (is_op(*host, OpKind::Conv)) host->op = OpKind::FusedConv;
  if (is_op(*host, OpKind::Gemm)) host->op = OpKind::FusedGemm;
}

void append_post_op(Node* host, const std::string& op, float a, float b) {
  std::vector<std::string> ops =
      host->attrs.has("post_ops") ? host->attrs.strings("post_ops") : std::vector<std::string>{};
  std::vector<float> params = host->attrs.has("post_op_params")
                                  ? host->attrs.floats("post_op_params")
                                  : std::vector<float>{};
  params.resize(ops.size() * 2, 0.f);
  ops.push_back(op);
  params.push_back(a);
  params.push_back(b);
  host->attrs.set("post_ops", ops);
  host->attrs.set("post_op_params", params);
}

// Bounds of a Clip from its constant inputs; false if a bound is not a constant scalar.
bool clip_bounds(const Node& clip, float* lo, float* hi) {
  *lo = -std::numeric_limits<float>::infinity();
  *hi = std::numeric_limits<float>::infinity();
  for (size_t i = 1; i < 3; ++i) {
    if (!clip.has_input(i)) continue;
    const Value* v = clip.inputs[i];
    if (!v->is_constant() || v->constant->numel() != 1) return false;
    (i == 1 ? *lo : *hi) = v->constant->to_floats()[0];
  }
  return true;
}

// Moves `absorbed`'s output onto `host` and drops `absorbed`.
void absorb(Graph& g, Node* host, Node* absorbed, PassContext& ctx) {
  ctx.record(*host, *absorbed);
  ctx.log.push_back("fused " + absorbed->name + " into " + host->name);
  Value* y = absorbed->outputs[0];
  g.remove_node(absorbed);
  set_output(host, 0, y);
  g.remove_unused();
}

class FuseActivation : public Pass {
 public:
  const char* name() const override { return "fuse-activation"; }
  bool run(Graph& g, PassContext& ctx) const override {
    for (const auto& up : g.nodes()) {
      Node* host = up.get();
      if (!is_host(*host) || host->outputs.size() != 1) continue;
      Node* act = sole_consumer(g, host->outputs[0]);
      if (!act || act->inputs[0] != host->outputs[0] || act->outputs.size() != 1) continue;
      float a = 0.f, b = 0.f;
      std::string kind;
      if (is_op(*act, OpKind::Relu)) {
        kind = "Relu";
      } else if (is_op(*act, OpKind::Clip) && clip_bounds(*act, &a, &b)) {
        kind = "Clip";
      } else if (is_op(*act, OpKind::LeakyRelu)) {
        kind = "LeakyRelu";
        a = act->attrs.f("alpha", 0.01f);
      } else {
        continue;
      }
      if (!ctx.allowed(*host, *act)) continue;
      make_fused(host);
      append_post_op(host, kind, a, b);
      absorb(g, host, act, ctx);
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
        append_post_op(host, "Add", 0.f, 0.f);
        absorb(g, host, add, ctx);
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
std::unique_ptr<Pass> make_fuse_residual() {
  return std::make_unique<FuseResidual>();
}

}  // namespace mpq::passes
