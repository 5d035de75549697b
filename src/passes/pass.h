// Graph rewrites the engine builder runs before precision assignment (DESIGN.md §1). Each is a
// small Pass: Graph -> Graph in place, returning whether it changed anything. Passes keep value
// names where the value survives (a fused chain's output keeps the name of its last op's output),
// so calibration ranges keyed by the original graph's value names still apply.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace mpq::passes {

struct PassContext {
  // Host node name -> names of the original nodes folded or fused into it, in order.
  std::map<std::string, std::vector<std::string>> absorbed;
  // Optional veto: `absorbed` is fused into `host` only if this returns true (the builder uses it
  // to keep layers with conflicting requested precisions apart).
  std::function<bool(const Node& host, const Node& absorbed)> can_fuse;
  // Optional: whether the backend being built for has a kernel for an op. Passes that introduce
  // an op (LayerNormalization for its decomposed form) ask first; unset: every op.
  std::function<bool(OpKind)> has_kernel;
  std::vector<std::string> log;  // one line per rewrite

  bool backend_has(OpKind k) const { return !has_kernel || has_kernel(k); }

  bool allowed(const Node& host, const Node& absorbed) const {
    return !can_fuse || can_fuse(host, absorbed);
  }
  void record(const Node& host, const Node& absorbed);
};

class Pass {
 public:
  virtual ~Pass() = default;
  virtual const char* name() const = 0;
  virtual bool run(Graph& g, PassContext& ctx) const = 0;
};

std::unique_ptr<Pass> make_fuse_layernorm();    // decomposed LayerNorm -> LayerNormalization
std::unique_ptr<Pass> make_fuse_gelu();         // x * 0.5 * (1 + Erf(x / sqrt 2)) -> Gelu
std::unique_ptr<Pass> make_canonicalize();      // auto_pad and window defaults made explicit
std::unique_ptr<Pass> make_constant_folding();  // nodes whose inputs are all constants
std::unique_ptr<Pass> make_fold_batchnorm();    // BatchNormalization into the preceding Conv/Gemm
std::unique_ptr<Pass> make_dead_code_elimination();
std::unique_ptr<Pass> make_fuse_dense_matmul();  // MatMul(x, constant matrix) [+ bias] -> FusedGemm
std::unique_ptr<Pass> make_fuse_activation();    // Conv/Gemm + element-wise activation -> Fused*
std::unique_ptr<Pass> make_fuse_residual();      // Conv/Gemm + Add(other) -> Fused* with a sum

// Runs the passes in order (each to a fixed point for the fusions) and verifies the graph after
// each one.
void run_passes(Graph& g, PassContext& ctx, const std::vector<std::unique_ptr<Pass>>& passes);
// The builder's pipeline: resolve batch-dependent shapes (symbolic_batch.h), fold constants, fold
// BN, DCE, fuse activations, residuals, activations.
void optimize(Graph& g, PassContext& ctx);

// Small graph-editing helpers shared by passes.
bool is_op(const Node& n, OpKind k);
// Makes `node` produce `v` as its output `idx` (v's old producer must be gone); the value it
// produced before is left without a producer (remove_unused drops it once unused).
void set_output(Node* node, size_t idx, Value* v);
// Makes `repl` (already added, fed by the chain's inputs) stand for the chain `replaced`, whose
// last node produces `y`: records the absorbed nodes, removes the chain, gives `y` to `repl`,
// re-infers `repl` and re-sorts the graph.
void replace_chain(Graph& g, PassContext& ctx, Node* repl, const std::vector<Node*>& replaced,
                   Value* y);
// The only consumer of v, or nullptr (several consumers, none, or v is a graph output).
Node* sole_consumer(const Graph& g, const Value* v);

}  // namespace mpq::passes
