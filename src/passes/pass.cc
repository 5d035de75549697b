#include "passes/pass.h"

#include <algorithm>

#include "ir/op_def.h"
#include "ir/verifier.h"
#include "passes/symbolic_batch.h"

namespace mpq::passes {

void PassContext::record(const Node& host, const Node& absorbed_node) {
  auto& v = absorbed[host.name];
  // A host absorbing a node that had itself absorbed others inherits them.
  auto it = absorbed.find(absorbed_node.name);
  v.push_back(absorbed_node.name);
  if (it != absorbed.end() && it->first != host.name) {
    std::vector<std::string> inner = it->second;
    absorbed.erase(it);
    auto& hv = absorbed[host.name];
    hv.insert(hv.end(), inner.begin(), inner.end());
  }
}

void replace_chain(Graph& g, PassContext& ctx, Node* repl, const std::vector<Node*>& replaced,
                   Value* y) {
  for (Node* n : replaced) ctx.record(*repl, *n);
  g.remove_node(y->producer);  // y has no producer now; `repl` writes it
  set_output(repl, 0, y);
  g.remove_unused();
  infer_node(*repl);
  g.sort();
}

bool is_op(const Node& n, OpKind k) {
  return n.op == k;
}

void set_output(Node* node, size_t idx, Value* v) {
  Value* old = node->outputs.at(idx);
  if (old == v) return;
  if (v->producer && v->producer != node)
    internal_error("set_output: value '" + v->name + "' still has a producer").raise();
  old->producer = nullptr;
  node->outputs[idx] = v;
  v->producer = node;
  v->producer_index = static_cast<int>(idx);
}

Node* sole_consumer(const Graph& g, const Value* v) {
  if (v->consumers.size() != 1) return nullptr;
  for (const Value* o : g.outputs())
    if (o == v) return nullptr;
  Node* c = v->consumers[0];
  // The value must be used once by that consumer (Add(x, x) uses it twice).
  if (std::count(c->inputs.begin(), c->inputs.end(), v) != 1) return nullptr;
  return c;
}

void run_passes(Graph& g, PassContext& ctx, const std::vector<std::unique_ptr<Pass>>& passes) {
  for (const auto& p : passes) {
    // Each run rewrites at least one node when it returns true: bounded by the node count.
    for (size_t round = 0, cap = g.nodes().size() + 1; round < cap && p->run(g, ctx); ++round) {
    }
    g.sort();
    verify(g);
  }
}

void optimize(Graph& g, PassContext& ctx) {
  std::vector<std::unique_ptr<Pass>> ps;
  ps.push_back(make_symbolic_batch());
  ps.push_back(make_constant_folding());
  ps.push_back(make_canonicalize());
  ps.push_back(make_fuse_layernorm());
  ps.push_back(make_fuse_gelu());
  ps.push_back(make_fold_batchnorm());
  ps.push_back(make_dead_code_elimination());
  ps.push_back(make_fuse_dense_matmul());
  ps.push_back(make_fuse_activation());
  ps.push_back(make_fuse_residual());
  ps.push_back(make_fuse_activation());
  ps.push_back(make_dead_code_elimination());
  run_passes(g, ctx, ps);
}

}  // namespace mpq::passes
