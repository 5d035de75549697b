// Constant folding: a node whose inputs are all constants (and that has a reference forward) is
// evaluated once at build time; its outputs become constants.
#include "ir/op_def.h"
#include "passes/pass.h"

namespace mpq::passes {

namespace {

class ConstantFolding : public Pass {
 public:
  const char* name() const override { return "constant-folding"; }
  bool run(Graph& g, PassContext& ctx) const override {
    bool changed = false;
    std::vector<Node*> nodes;
    for (const auto& n : g.nodes()) nodes.push_back(n.get());
    for (Node* n : nodes) {
      // Input-less nodes (ONNX Constant, as torch.onnx.export writes Clip's min/max) fold too:
      // every registered op is deterministic.
      if (!n->def().forward) continue;
      bool all_const = true;
      for (const Value* v : n->inputs) all_const &= !v || v->is_constant();
      if (!all_const) continue;
      std::vector<Tensor> in;
      for (const Value* v : n->inputs) in.push_back(v ? *v->constant : Tensor());
      std::vector<Tensor> out;
      try {
        out = n->def().forward(*n, in);
      } catch (const Error& e) {
        throw e.with_node(n->name);
      }
      std::vector<Value*> outs = n->outputs;
      std::string nname = n->name;
      g.remove_node(n);
      for (size_t i = 0; i < outs.size() && i < out.size(); ++i) {
        outs[i]->constant = out[i];
        outs[i]->dtype = out[i].dtype();
        outs[i]->shape = out[i].shape();
        outs[i]->has_type = true;
      }
      ctx.log.push_back("folded constant node " + nname);
      changed = true;
    }
    return changed;
  }
};

class DeadCodeElimination : public Pass {
 public:
  const char* name() const override { return "dead-code-elimination"; }
  bool run(Graph& g, PassContext&) const override {
    size_t before = g.nodes().size() + g.values().size();
    g.remove_unused();
    return g.nodes().size() + g.values().size() != before;
  }
};

}  // namespace

std::unique_ptr<Pass> make_constant_folding() {
  return std::make_unique<ConstantFolding>();
}
std::unique_ptr<Pass> make_dead_code_elimination() {
  return std::make_unique<DeadCodeElimination>();
}

}  // namespace mpq::passes
