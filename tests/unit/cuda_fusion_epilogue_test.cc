// The CUDA epilogue's non-linear post-ops (Sigmoid, SiLU, HardSwish, HardSigmoid, Tanh, GELU):
// conv and gemm layers with each fused activation, built for the cuda backend at fp32, fp16 and
// int8, against the reference executor.
#ifdef MPQ_HAVE_CUDA
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "backends/cuda/cuda_util.h"
#include "backends/reference/executor.h"
#include "cuda_test_util.h"
#include "ir/op_def.h"
#include "ir/post_op.h"
#include "runtime/engine.h"

namespace mpq {
namespace {

// x[N,8,6,6] -> one FusedConv per post-op (3x3, 16 channels), then GAP, flatten, a FusedGemm
// with Silu. Made fused directly, so that every post-op kind is covered, GELU included.
std::unique_ptr<Graph> post_op_net() {
  auto g = std::make_unique<Graph>();
  unsigned seed = 1;
  auto node = [&](OpKind k, const std::string& name, std::vector<Value*> in, Attributes a,
                  std::vector<PostOp> post) {
    Node* n = g->add_node(k, name, std::move(in), 1, std::move(a));
    set_post_ops(*n, post);
    apply_attr_schema(*n);
    return n->outputs[0];
  };
  Attributes conv;
  conv.set("kernel_shape", std::vector<int64_t>{3, 3});
  conv.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value* v = g->add_input("x", DType::f32, {-1, 8, 6, 6});
  int64_t c = 8;
  const std::vector<PostOp> chain[] = {{{OpKind::Silu}},    {{OpKind::HardSwish}},
                                       {{OpKind::Sigmoid}}, {{OpKind::HardSigmoid, 0.2f, 0.5f}},
                                       {{OpKind::Tanh}},    {{OpKind::Gelu}, {OpKind::Relu}}};
  int i = 0;
  for (const auto& post : chain) {
    const std::string name = "conv" + std::to_string(i++);
    v = node(
        OpKind::FusedConv, name,
        {v, g->add_constant(name + "_w", cuda_testing::rnd({16, c, 3, 3}, -0.3f, 0.3f, seed++)),
         g->add_constant(name + "_b", cuda_testing::rnd({16}, -0.5f, 0.5f, seed++))},
        conv, post);
    c = 16;
  }
  v = g->add_node(OpKind::GlobalAveragePool, "gap", {v}, 1)->outputs[0];
  Attributes flat;
  flat.set("axis", int64_t{1});
  v = g->add_node(OpKind::Flatten, "flat", {v}, 1, flat)->outputs[0];
  Attributes gemm;
  gemm.set("transB", int64_t{1});
  v = node(OpKind::FusedGemm, "fc",
           {v, g->add_constant("fc_w", cuda_testing::rnd({10, 16}, -0.5f, 0.5f, seed++)),
            g->add_constant("fc_b", cuda_testing::rnd({10}, -0.5f, 0.5f, seed++))},
           gemm, {{OpKind::Silu}});
  g->add_output(v);
  for (auto& n : g->nodes()) apply_attr_schema(*n);
  infer_shapes(*g);
  return g;
}

quant::CalibrationTable minmax(const Graph& g, const Tensor& x) {
  quant::CalibrationTable t;
  ReferenceExecutor ex(g);
  ex.run({x}, [&](const Value& v, const Tensor& val) {
    if (v.is_constant() || val.dtype() != DType::f32) return;
    auto f = val.to_floats();
    auto [lo, hi] = std::minmax_element(f.begin(), f.end());
    quant::TensorRange r;
    r.min = *lo, r.max = *hi, r.method = "minmax";
    t.tensors[v.name] = r;
  });
  return t;
}

TEST(CudaFusionEpilogue, EveryPostOpMatchesReference) {
  SKIP_WITHOUT_GPU();
  auto g = post_op_net();
  const Tensor x = cuda_testing::rnd({8, 8, 6, 6}, -2.f, 2.f, 99);
  const Tensor want = ReferenceExecutor(*g).run({x})[0];
  const quant::CalibrationTable table = minmax(*g, x);
  for (Precision p : {Precision::kFp32, Precision::kFp16, Precision::kInt8}) {
    SCOPED_TRACE(precision_name(p));
    plan::BuildOptions o;
    o.backend = "cuda";
    o.max_batch = 8;
    o.default_precision = p;
    auto e = runtime::Engine::build(*g, &table, o);
    for (const auto& l : e->manifest().layers) {
      EXPECT_EQ(l.backend, "cuda") << l.name << " " << l.kernel << " " << l.reason;
      if (l.op == "FusedConv" || l.op == "FusedGemm") {
        EXPECT_EQ(l.executed, p) << l.name;
      }
    }
    runtime::ExecutionContext ctx(e);
    const Tensor y = ctx.run({x})[0];
    float maxabs = 1e-6f, maxerr = 0.f;
    for (int64_t i = 0; i < y.numel(); ++i) {
      const float w = want.data<float>()[i], v = y.data<float>()[i];
      maxabs = std::max(maxabs, std::fabs(w));
      maxerr = std::max(maxerr, std::isnan(v) ? 1e30f : std::fabs(w - v));
    }
    const float tol = p == Precision::kFp32 ? 1e-4f : p == Precision::kFp16 ? 1e-2f : 0.1f;
    EXPECT_LE(maxerr, tol * maxabs);
  }
}

}  // namespace
}  // namespace mpq
#endif
