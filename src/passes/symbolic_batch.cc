// Symbolic batch. Representation: the graph is evaluated at three concrete sample batches (dim 0
// of every graph input set to the sample). At a concrete batch every shape is known, so every
// shape computation folds with each op's reference forward. A value is then batch-independent if
// it is the same at all samples (it becomes a constant), and affine in the batch if each element
// (or each dim of a shape) is k * batch + c at all three. The samples are large primes, so the
// floor or modulo of a batch-dependent division breaks the affine fit instead of matching it by
// accident (B // 7 is 144, 286, 428 at the samples: not affine, so never folded).
#include "passes/symbolic_batch.h"

#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "ir/op_def.h"
#include "ir/sample_batch.h"

namespace mpq::passes {

namespace {

constexpr std::array<int64_t, 3> kSamples{1009, 2003, 3001};

using Samples = std::array<Tensor, 3>;

struct Affine {
  int64_t k = 0, c = 0;  // value = k * batch + c
};

bool same_tensor(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

std::optional<Affine> affine_fit(const std::array<int64_t, 3>& v) {
  const int64_t d = v[1] - v[0], db = kSamples[1] - kSamples[0];
  if (d % db != 0) return std::nullopt;
  const int64_t k = d / db;
  if (v[2] - v[1] != k * (kSamples[2] - kSamples[1])) return std::nullopt;
  return Affine{k, v[0] - k * kSamples[0]};
}

// Each element as k * batch + c, or nullopt if the samples do not fit one (or are not integers).
std::optional<std::vector<Affine>> affine_of(const Samples& s) {
  if (!dtype_info(s[0].dtype()).is_integer) return std::nullopt;
  for (const Tensor& t : s)
    if (t.shape() != s[0].shape()) return std::nullopt;
  std::array<std::vector<int64_t>, 3> v{s[0].to_int64s(), s[1].to_int64s(), s[2].to_int64s()};
  std::vector<Affine> out(v[0].size());
  for (size_t i = 0; i < out.size(); ++i) {
    auto a = affine_fit({v[0][i], v[1][i], v[2][i]});
    if (!a) return std::nullopt;
    out[i] = *a;
  }
  return out;
}

std::string affine_str(const Affine& a) {
  if (a.k == 0) return str(a.c);
  std::string s = a.k == 1 ? "batch" : str(a.k, "*batch");
  return a.c == 0 ? s : str(s, a.c > 0 ? "+" : "", a.c);
}

class SymbolicBatch : public Pass {
 public:
  const char* name() const override { return "symbolic-batch"; }
  bool run(Graph& g, PassContext& ctx) const override {
    bool batched = false;
    for (const Value* v : g.inputs()) batched |= is_batched_input(v);
    if (!batched) return false;
    for (size_t s = 0; s < kSamples.size(); ++s) at_[s] = graph_at_batch(g, kSamples[s]);
    bool changed = false;
    std::vector<Node*> nodes;
    for (const auto& n : g.nodes()) nodes.push_back(n.get());
    for (Node* n : nodes) {
      if ((n->op == OpKind::Reshape || n->op == OpKind::Expand) && rewrite_target(g, *n, ctx))
        changed = true;
      else if (fold(g, n, ctx))
        changed = true;
    }
    for (auto& c : at_) c.reset();
    if (changed) infer_shapes(g);
    return changed;
  }

 private:
  // The value of v at each sample batch, if it folded to a constant at all of them.
  std::optional<Samples> samples_of(const Value* v) const {
    Samples s;
    for (size_t i = 0; i < kSamples.size(); ++i) {
      const Value* c = at_[i]->find_value(v->name);
      if (!c || !c->is_constant()) return std::nullopt;
      s[i] = *c->constant;
    }
    return s;
  }

  // A node whose outputs are the same at every sample batch becomes constants.
  bool fold(Graph& g, Node* n, PassContext& ctx) const {
    if (n->outputs.empty()) return false;
    std::vector<Tensor> out;
    for (const Value* v : n->outputs) {
      auto s = samples_of(v);
      if (!s || !same_tensor((*s)[0], (*s)[1]) || !same_tensor((*s)[0], (*s)[2])) return false;
      out.push_back((*s)[0]);
    }
    std::vector<Value*> outs = n->outputs;
    const std::string nname = n->name;
    g.remove_node(n);
    for (size_t i = 0; i < outs.size(); ++i) {
      outs[i]->constant = out[i];
      outs[i]->dtype = out[i].dtype();
      outs[i]->shape = out[i].shape();
      outs[i]->has_type = true;
    }
    ctx.log.push_back("folded batch-independent shape computation " + nname);
    return true;
  }

  // Whether dim 0 of v is the batch itself at every sample.
  bool dim0_is_batch(const Value* v) const {
    for (size_t i = 0; i < kSamples.size(); ++i) {
      const Value* c = at_[i]->find_value(v->name);
      if (!c || c->shape.empty() || c->shape[0] != kSamples[i]) return false;
    }
    return true;
  }

  // Replaces a Reshape/Expand target computed from the batch by a constant in mpq's
  // batch-independent form. Returns whether it rewrote the node.
  bool rewrite_target(Graph& g, Node& n, PassContext& ctx) const {
    const Value* target = n.input(1);
    if (!target || target->is_constant()) return false;
    auto s = samples_of(target);
    if (!s) return false;
    auto aff = affine_of(*s);
    if (!aff) return false;
    std::vector<int64_t> spec;
    std::vector<size_t> batch_at;
    for (size_t i = 0; i < aff->size(); ++i) {
      spec.push_back((*aff)[i].c);
      if ((*aff)[i].k != 0) batch_at.push_back(i);
    }
    auto fail = [&](const std::string& why) {
      unsupported(str(n.op_name(), " target '", target->name,
                      "' depends on the batch in a way mpq cannot express: ", why))
          .node(n.name)
          .raise();
    };
    if (n.op == OpKind::Reshape) {
      if (batch_at.size() > 1)
        fail(str(batch_at.size(), " entries depend on the batch (at most one can be inferred)"));
      if (!batch_at.empty()) {
        const size_t i = batch_at[0];
        const Affine& a = (*aff)[i];
        const bool copy = n.attrs.i("allowzero", 0) == 0 && i == 0 && a.k == 1 && a.c == 0 &&
                          dim0_is_batch(n.inputs[0]);
        bool has_infer = false;
        for (size_t j = 0; j < spec.size(); ++j) has_infer |= j != i && spec[j] == -1;
        if (!copy && has_infer)
          fail(str("entry ", i, " is ", affine_str(a), " and another entry is -1"));
        spec[i] = copy ? 0 : -1;  // -1 is exact: the element count determines the one free dim
      }
    } else {
      Value* ref = nullptr;
      for (Value* v : g.inputs())
        if (!ref && is_batched_input(v)) ref = v;
      for (size_t i : batch_at)
        if ((*aff)[i].k != 1 || (*aff)[i].c != 0)
          fail(str("entry ", i, " is ", affine_str((*aff)[i]),
                   " (only the batch itself can be expanded to)"));
      for (size_t i : batch_at) spec[i] = -1;
      if (!batch_at.empty()) {
        n.inputs.resize(3, nullptr);
        g.set_input(&n, 2, ref);
      }
    }
    Value* c = g.add_constant(g.unique_value_name(n.name + "_target"),
                              Tensor::from<int64_t>({static_cast<int64_t>(spec.size())}, spec));
    g.set_input(&n, 1, c);
    ctx.log.push_back("batch-independent target for " + n.name);
    return true;
  }

  mutable std::array<std::unique_ptr<Graph>, 3> at_;
};

// Why `v` (produced by `p`) has dim `dim` unknown.
std::string unknown_dim_cause(const Value& v, const Node* p, size_t dim) {
  if (!p)
    return str("graph input '", v.name, "' has dim ", dim,
               " unknown; export the model with a fixed size there (only the batch may vary)");
  if ((p->op == OpKind::Reshape || p->op == OpKind::Expand) && p->has_input(1) &&
      !p->inputs[1]->is_constant())
    return str("its target shape '", p->inputs[1]->name,
               "' is computed at run time and is not a batch-independent or k*batch value");
  return "its inputs' shapes do not determine it at build time";
}

}  // namespace

std::unique_ptr<Pass> make_symbolic_batch() {
  return std::make_unique<SymbolicBatch>();
}

std::map<std::string, BatchDim> batch_layout(const Graph& g) {
  std::array<std::unique_ptr<Graph>, 3> at;
  for (size_t i = 0; i < kSamples.size(); ++i) at[i] = graph_at_batch(g, kSamples[i]);
  // Dim d of v as k * batch (nullopt if it is not known at the samples or not affine).
  auto fit = [&at](const Value& v, size_t d) -> std::optional<Affine> {
    std::array<int64_t, 3> s{};
    for (size_t i = 0; i < kSamples.size(); ++i) {
      const Value* cv = at[i]->find_value(v.name);
      if (!cv || cv->shape.size() <= d || cv->shape[d] < 0) return std::nullopt;
      s[i] = cv->shape[d];
    }
    return affine_fit(s);
  };
  std::map<std::string, BatchDim> out;
  auto visit = [&](const Value& v) {
    if (v.is_constant() || !v.has_type) return;
    std::optional<BatchDim> found;
    for (size_t d = 0; d < v.shape.size(); ++d) {
      if (v.shape[d] >= 0) continue;
      auto a = fit(v, d);
      const bool ok = a && a->k >= 1 && a->c == 0 && !found && !(v.producer == nullptr && d != 0);
      if (ok) {
        found = BatchDim{static_cast<int>(d), a->k};
        continue;
      }
      const Node* p = v.producer;
      std::string what = a ? str(" (", affine_str(*a), ")") : std::string();
      std::string cause = found && a ? "a second dim scales with the batch; an engine sizes one"
                                     : unknown_dim_cause(v, p, d);
      auto e = unsupported(str(
          "cannot resolve the shape of '", v.name, "' ", shape_str(v.shape),
          p ? str(", produced by ", p->op_name(), " node '", p->name, "'") : std::string(),
          ": dim ", d, what, " is unknown at build time even with a symbolic batch (", cause, ")"));
      e.key(v.name);
      if (p) e.node(p->name);
      e.raise();
    }
    if (found) out[v.name] = *found;
  };
  for (const Value* v : g.inputs()) visit(*v);
  for (const auto& n : g.nodes())
    for (const Value* v : n->outputs) visit(*v);
  return out;
}

}  // namespace mpq::passes
