// Typed post-ops and activation fusions: the post-op accessor, ranges through the epilogue traits,
// each fusion pattern (and what keeps it from fusing), the CPU engine against the reference at
// fp32/bf16/int8, and the engine-file round trip of the new post-ops.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "engine_test_util.h"
#include "ir/post_op.h"
#include "ir/verifier.h"
#include "passes/pass.h"
#include "runtime/engine_file.h"

namespace mpq {
namespace {

using testing::add;
using testing::attrs_ints;
using testing::random_tensor;

int count_op(const Graph& g, OpKind k) {
  int c = 0;
  for (const auto& n : g.nodes()) c += n->op == k;
  return c;
}

Attributes attrs_floats(std::initializer_list<std::pair<const char*, float>> l) {
  Attributes a;
  for (auto& [k, v] : l) a.set(k, v);
  return a;
}

Value* conv(Graph& g, Rng& rng, Value* x, int64_t ci, int64_t co, int64_t k, const char* name) {
  const int64_t p = k / 2;
  return add(g, "Conv",
             {x, g.add_constant(std::string(name) + "_w", random_tensor(rng, {co, ci, k, k})),
              g.add_constant(std::string(name) + "_b", random_tensor(rng, {co}))},
             attrs_ints({{"pads", {p, p, p, p}}}), name)
      ->outputs[0];
}

Value* mul(Graph& g, Value* a, Value* b, const std::string& name) {
  return add(g, "Mul", {a, b}, {}, name)->outputs[0];
}

// The exporters' forms of the activations, applied to v.
Value* silu(Graph& g, Value* v, const std::string& name) {
  return mul(g, v, add(g, "Sigmoid", {v}, {}, name + "_sig")->outputs[0], name);
}
Value* hardswish13(Graph& g, Value* v, const std::string& name) {
  Value* h =
      add(g, "HardSigmoid", {v}, attrs_floats({{"alpha", 1.f / 6.f}, {"beta", 0.5f}}), name + "_hs")
          ->outputs[0];
  return mul(g, h, v, name);  // operands in the other order
}

void fuse(Graph& g, passes::PassContext& ctx) {
  std::vector<std::unique_ptr<passes::Pass>> ps;
  ps.push_back(passes::make_fuse_activation());
  passes::run_passes(g, ctx, ps);
}

void expect_same_outputs(const Graph& a, const Graph& b, const std::vector<Tensor>& in) {
  auto ya = ReferenceExecutor(a).run(in);
  auto yb = ReferenceExecutor(b).run(in);
  ASSERT_EQ(ya.size(), yb.size());
  for (size_t i = 0; i < ya.size(); ++i)
    EXPECT_LE(testing::max_diff(ya[i], yb[i]), 1e-5f * (1.f + testing::max_abs(ya[i])));
}

TEST(FusionEpilogue, PostOpAccessorRoundTripsAndRejectsBadLists) {
  Graph g;
  Rng rng(1);
  Value* x = g.add_input("x", DType::f32, {1, 2, 4, 4});
  Node* n = add(g, "Conv", {x, g.add_constant("w", random_tensor(rng, {2, 2, 1, 1}))}, {}, "c");
  const std::vector<PostOp> ops{
      {OpKind::Silu}, {OpKind::HardSigmoid, 0.2f, 0.5f}, {OpKind::Clip, -1.f, 2.f}};
  set_post_ops(*n, ops);
  EXPECT_EQ(post_ops(*n), ops);
  set_post_ops(*n, {});
  EXPECT_TRUE(post_ops(*n).empty());

  auto error_of = [&](Attributes a) {
    n->attrs = std::move(a);
    try {
      post_ops(*n);
    } catch (const Error& e) {
      return e.status();
    }
    ADD_FAILURE() << "no error";
    return Status{};
  };
  Attributes unknown;
  unknown.set("post_ops", std::vector<std::string>{"Softmax"});
  unknown.set("post_op_params", std::vector<float>{0.f, 0.f});
  Status s = error_of(unknown);
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_EQ(s.node, "c");
  EXPECT_NE(s.message.find("Softmax"), std::string::npos);
  Attributes short_params;
  short_params.set("post_ops", std::vector<std::string>{"Relu", "Sigmoid"});
  short_params.set("post_op_params", std::vector<float>{0.f, 0.f});
  s = error_of(short_params);
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_EQ(s.key, "post_op_params");
}

// Every op with an epilogue trait: the range it derives holds the values of f sampled over the
// interval, and is tight (reached by a sample up to the grid spacing).
TEST(FusionEpilogue, RangesThroughEveryTraitMatchSampling) {
  const std::pair<float, float> params[] = {{0.f, 0.f},   {0.1f, 0.f},       {-0.3f, 0.f},
                                            {0.2f, 0.5f}, {1.f / 6.f, 0.5f}, {-0.5f, 0.2f},
                                            {-1.f, 2.f}};
  const ValueRange ranges[] = {
      {-6.f, 6.f}, {-2.f, -1.f}, {-1.f, 0.5f}, {0.3f, 4.f}, {-0.9f, -0.6f}};
  int ops = 0;
  for (const OpDef* d : all_op_defs()) {
    if (!d->epilogue) continue;
    ++ops;
    for (auto [a, b] : params) {
      if (d->kind == OpKind::Clip && a > b) continue;
      for (ValueRange r : ranges) {
        SCOPED_TRACE(str(d->name, " a=", a, " b=", b, " [", r.lo, ", ", r.hi, "]"));
        const PostOp p{d->kind, a, b};
        const ValueRange got = post_op_range(p, r);
        float lo = std::numeric_limits<float>::infinity(), hi = -lo;
        constexpr int kSteps = 20000;
        for (int i = 0; i <= kSteps; ++i) {
          const float v = apply_post_op(p, r.lo + (r.hi - r.lo) * i / kSteps);
          lo = std::min(lo, v), hi = std::max(hi, v);
        }
        EXPECT_LE(got.lo, lo + 1e-6f);
        EXPECT_GE(got.hi, hi - 1e-6f);
        EXPECT_NEAR(got.lo, lo, 1e-4f);
        EXPECT_NEAR(got.hi, hi, 1e-4f);
      }
    }
  }
  EXPECT_GE(ops, 9);  // Relu Clip LeakyRelu Sigmoid Tanh HardSigmoid HardSwish Silu Gelu
}

TEST(FusionEpilogue, KnownMinimaOfTheGatedActivations) {
  const ValueRange wide{-10.f, 10.f};
  EXPECT_NEAR(post_op_range({OpKind::Silu}, wide).lo, -0.2784645f, 1e-6f);
  EXPECT_NEAR(post_op_range({OpKind::HardSwish}, wide).lo, -0.375f, 1e-7f);
  EXPECT_NEAR(post_op_range({OpKind::Gelu}, wide).lo, -0.1699712f, 1e-6f);
  const ValueRange s = post_op_range({OpKind::Sigmoid}, {-2.f, 3.f});
  EXPECT_NEAR(s.lo, 1.f / (1.f + std::exp(2.f)), 1e-7f);
  EXPECT_NEAR(s.hi, 1.f / (1.f + std::exp(-3.f)), 1e-7f);
}

struct Pattern {
  const char* name;
  std::function<Value*(Graph&, Value*)> make;
  std::vector<PostOp> want;
  std::vector<std::string> absorbed;
};

TEST(FusionEpilogue, EachPatternFusesIntoConvAndGemm) {
  const Pattern patterns[] = {
      {"sigmoid",
       [](Graph& g, Value* v) { return add(g, "Sigmoid", {v}, {}, "a")->outputs[0]; },
       {{OpKind::Sigmoid}},
       {"a"}},
      {"silu",
       [](Graph& g, Value* v) { return silu(g, v, "m"); },
       {{OpKind::Silu}},
       {"m_sig", "m"}},
      {"hardswish",
       [](Graph& g, Value* v) { return add(g, "HardSwish", {v}, {}, "a")->outputs[0]; },
       {{OpKind::HardSwish}},
       {"a"}},
      {"hardswish13",
       [](Graph& g, Value* v) { return hardswish13(g, v, "m"); },
       {{OpKind::HardSwish}},
       {"m_hs", "m"}},
      {"hardsigmoid",
       [](Graph& g, Value* v) {
         return add(g, "HardSigmoid", {v}, attrs_floats({{"alpha", 0.2f}, {"beta", 0.4f}}), "a")
             ->outputs[0];
       },
       {{OpKind::HardSigmoid, 0.2f, 0.4f}},
       {"a"}},
      {"tanh",
       [](Graph& g, Value* v) { return add(g, "Tanh", {v}, {}, "a")->outputs[0]; },
       {{OpKind::Tanh}},
       {"a"}},
      {"silu+relu",
       [](Graph& g, Value* v) { return add(g, "Relu", {silu(g, v, "m")}, {}, "r")->outputs[0]; },
       {{OpKind::Silu}, {OpKind::Relu}},
       {"m_sig", "m", "r"}},
  };
  for (bool gemm : {false, true}) {
    for (const Pattern& p : patterns) {
      SCOPED_TRACE(str(p.name, gemm ? " gemm" : " conv"));
      Rng rng(2);
      Graph g;
      Value* x = g.add_input("x", DType::f32, gemm ? Shape{3, 5} : Shape{2, 3, 5, 5});
      Value* h = gemm
                     ? add(g, "Gemm", {x, g.add_constant("w", random_tensor(rng, {5, 4}))}, {}, "h")
                           ->outputs[0]
                     : conv(g, rng, x, 3, 4, 3, "h");
      Value* y = p.make(g, h);
      g.add_output(y);
      auto before = g.clone();
      passes::PassContext ctx;
      fuse(g, ctx);
      ASSERT_EQ(g.nodes().size(), 1u);
      const Node& f = *g.nodes()[0];
      EXPECT_EQ(f.op, gemm ? OpKind::FusedGemm : OpKind::FusedConv);
      EXPECT_EQ(post_ops(f), p.want);
      EXPECT_EQ(f.outputs[0]->name, y->name);
      EXPECT_EQ(ctx.absorbed["h"], p.absorbed);
      verify(g);
      expect_same_outputs(*before, g, {random_tensor(rng, before->inputs()[0]->shape, -4.f, 4.f)});
    }
  }
}

TEST(FusionEpilogue, ExtraConsumersOrOtherParametersDoNotFuse) {
  struct Case {
    const char* name;
    std::function<void(Graph&, Value*)> make;
  };
  const Case cases[] = {
      // The conv output is read by something else too.
      {"sigmoid+other",
       [](Graph& g, Value* v) {
         g.add_output(add(g, "Sigmoid", {v}, {}, "a")->outputs[0]);
         g.add_output(add(g, "Exp", {v}, {}, "e")->outputs[0]);
       }},
      // The gate's output is read by something else too.
      {"silu, gate read twice",
       [](Graph& g, Value* v) {
         Value* s = add(g, "Sigmoid", {v}, {}, "a")->outputs[0];
         g.add_output(mul(g, v, s, "m"));
         g.add_output(s);
       }},
      // The conv output is a graph output.
      {"silu, conv output kept",
       [](Graph& g, Value* v) {
         g.add_output(silu(g, v, "m"));
         g.add_output(v);
       }},
      // x * HardSigmoid(x) with other parameters is no HardSwish.
      {"hardsigmoid(0.2)*x",
       [](Graph& g, Value* v) {
         Value* h = add(g, "HardSigmoid", {v}, attrs_floats({{"alpha", 0.2f}, {"beta", 0.5f}}), "a")
                        ->outputs[0];
         g.add_output(mul(g, v, h, "m"));
       }},
      // The gate scales another tensor: the conv output has two consumers and no x * f(x).
      {"sigmoid*other",
       [](Graph& g, Value* v) {
         Value* s = add(g, "Sigmoid", {v}, {}, "a")->outputs[0];
         g.add_output(mul(g, add(g, "Exp", {v}, {}, "e")->outputs[0], s, "m"));
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Rng rng(3);
    Graph g;
    Value* x = g.add_input("x", DType::f32, {2, 3, 5, 5});
    c.make(g, conv(g, rng, x, 3, 4, 1, "h"));
    passes::PassContext ctx;
    fuse(g, ctx);
    EXPECT_EQ(count_op(g, OpKind::FusedConv), 0);
    EXPECT_EQ(count_op(g, OpKind::Conv), 1);
  }
}

// conv -> SiLU -> conv -> HardSwish (opset-13 form) -> conv -> Sigmoid -> conv -> HardSwish (op)
std::unique_ptr<Graph> activation_net(Rng& rng) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input("input", DType::f32, {-1, 3, 8, 8});
  Value* v = silu(*g, conv(*g, rng, x, 3, 16, 3, "c1"), "silu1");
  v = hardswish13(*g, conv(*g, rng, v, 16, 16, 1, "c2"), "hswish2");
  v = add(*g, "Sigmoid", {conv(*g, rng, v, 16, 16, 3, "c3")}, {}, "sig3")->outputs[0];
  v = add(*g, "HardSwish", {conv(*g, rng, v, 16, 8, 3, "c4")}, {}, "hswish4")->outputs[0];
  g->add_output(v);
  infer_shapes(*g);
  return g;
}

TEST(FusionEpilogue, CpuEngineMatchesReferenceAtEveryPrecision) {
  Rng rng(4);
  auto g = activation_net(rng);
  std::vector<Tensor> calib{random_tensor(rng, {4, 3, 8, 8}, -2.f, 2.f)};
  std::vector<Tensor> test{random_tensor(rng, {4, 3, 8, 8}, -2.f, 2.f)};
  quant::CalibrationTable table = testing::minmax_table(*g, calib);
  const Tensor ref = ReferenceExecutor(*g).run(test)[0];
  const float mx = testing::max_abs(ref);
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    SCOPED_TRACE(precision_name(p));
    auto e = testing::build_engine(*g, &table, p, 4);
    int fused = 0, reorders = 0;
    for (const plan::Step& st : e->plan().steps) {
      EXPECT_EQ(st.backend, "cpu") << st.node->name;
      if (st.node->op == OpKind::FusedConv) {
        ++fused;
        EXPECT_EQ(st.precision, p) << st.node->name;
      }
      reorders += st.node->op == OpKind::Reorder;
    }
    EXPECT_EQ(fused, 4);
    // Only at the graph's input and output: no precision boundary around the activations.
    EXPECT_LE(reorders, 2) << e->manifest().to_table();
    runtime::ExecutionContext ctx(e);
    const Tensor y = ctx.run(test)[0];
    const Tensor sim = testing::simulate_plan(e->plan(), test)[0];
    if (p == Precision::kFp32) {
      EXPECT_LE(testing::max_diff(y, ref), 1e-4f * (1.f + mx));
    } else if (p == Precision::kBf16) {
      EXPECT_LE(testing::max_diff(y, sim), 0.03f * (1.f + mx));
    } else {
      // Rounding flips aside, the kernels compute what the plan says (one output step), and
      // stay close to the float model.
      const float step = testing::max_int8_scale(e->plan());
      EXPECT_LE(testing::frac_above(y, sim, 1.01f * step), 0.01);
      EXPECT_LE(testing::max_diff(y, ref), 0.1f * (1.f + mx));
    }
  }
}

// One FusedConv per post-op chain, made directly (GELU, which no pattern makes yet, included),
// then GAP, flatten and a FusedGemm with Silu.
std::unique_ptr<Graph> post_op_net(Rng& rng) {
  auto g = std::make_unique<Graph>();
  auto fused = [&](OpKind k, const std::string& name, std::vector<Value*> in, Attributes a,
                   const std::vector<PostOp>& post) {
    Node* n = g->add_node(k, name, std::move(in), 1, std::move(a));
    set_post_ops(*n, post);
    apply_attr_schema(*n);
    infer_node(*n);
    return n->outputs[0];
  };
  const std::vector<PostOp> chains[] = {{{OpKind::Gelu}},
                                        {{OpKind::HardSigmoid, 0.2f, 0.5f}},
                                        {{OpKind::Tanh}, {OpKind::LeakyRelu, 0.1f}},
                                        {{OpKind::Silu}, {OpKind::Add}},
                                        {{OpKind::Clip, -0.5f, 1.5f}, {OpKind::Sigmoid}}};
  Value* v = g->add_input("input", DType::f32, {-1, 8, 6, 6});
  int64_t c = 8;
  int i = 0;
  for (const auto& post : chains) {
    const std::string name = "conv" + std::to_string(i++);
    std::vector<Value*> in{v, g->add_constant(name + "_w", random_tensor(rng, {16, c, 3, 3})),
                           g->add_constant(name + "_b", random_tensor(rng, {16}))};
    if (post.back().kind == OpKind::Add) in.push_back(v);  // residual: the conv's input
    v = fused(OpKind::FusedConv, name, in, attrs_ints({{"pads", {1, 1, 1, 1}}}), post);
    c = 16;
  }
  v = add(*g, "GlobalAveragePool", {v}, {}, "gap")->outputs[0];
  v = add(*g, "Flatten", {v}, {}, "flat")->outputs[0];
  Attributes gemm;
  gemm.set("transB", int64_t{1});
  v = fused(OpKind::FusedGemm, "fc",
            {v, g->add_constant("fc_w", random_tensor(rng, {10, 16})),
             g->add_constant("fc_b", random_tensor(rng, {10}))},
            gemm, {{OpKind::Silu}});
  g->add_output(v);
  infer_shapes(*g);
  return g;
}

TEST(FusionEpilogue, CpuEngineRunsEveryPostOpKind) {
  Rng rng(6);
  auto g = post_op_net(rng);
  std::vector<Tensor> calib{random_tensor(rng, {4, 8, 6, 6}, -2.f, 2.f)};
  std::vector<Tensor> test{random_tensor(rng, {4, 8, 6, 6}, -2.f, 2.f)};
  quant::CalibrationTable table = testing::minmax_table(*g, calib);
  const Tensor ref = ReferenceExecutor(*g).run(test)[0];
  const float mx = testing::max_abs(ref);
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    SCOPED_TRACE(precision_name(p));
    auto e = testing::build_engine(*g, &table, p, 4);
    for (const plan::Step& st : e->plan().steps) {
      EXPECT_EQ(st.backend, "cpu") << st.node->name;
      if (st.node->op == OpKind::FusedConv || st.node->op == OpKind::FusedGemm) {
        EXPECT_EQ(st.precision, p) << st.node->name;
      }
    }
    runtime::ExecutionContext ctx(e);
    const Tensor y = ctx.run(test)[0];
    const Tensor sim = testing::simulate_plan(e->plan(), test)[0];
    if (p == Precision::kFp32) {
      EXPECT_LE(testing::max_diff(y, ref), 1e-4f * (1.f + mx));
    } else if (p == Precision::kBf16) {
      EXPECT_LE(testing::max_diff(y, sim), 0.03f * (1.f + mx));
    } else {
      EXPECT_LE(testing::max_diff(y, sim), 2.01f * testing::max_int8_scale(e->plan()));
      EXPECT_LE(testing::max_diff(y, ref), 0.1f * (1.f + mx));
    }
  }
}

// oneDNN 2.6 gives every eltwise post-op of one algorithm the first one's parameters: a chain
// that repeats clip_v2 with other bounds is refused by the CPU kernel, and the layer runs (right)
// elsewhere, with the reason in the manifest.
TEST(FusionEpilogue, RepeatedOneDnnAlgorithmIsRefusedNotMiscomputed) {
  Rng rng(7);
  Graph g;
  Value* x = g.add_input("input", DType::f32, {-1, 4, 5, 5});
  Node* n =
      g.add_node(OpKind::FusedConv, "c", {x, g.add_constant("w", random_tensor(rng, {4, 4, 3, 3}))},
                 1, attrs_ints({{"pads", {1, 1, 1, 1}}}));
  set_post_ops(*n, {{OpKind::HardSigmoid, 0.2f, 0.5f}, {OpKind::Clip, 0.f, 0.6f}});
  apply_attr_schema(*n);
  g.add_output(n->outputs[0]);
  infer_shapes(g);
  std::vector<Tensor> in{random_tensor(rng, {2, 4, 5, 5}, -3.f, 3.f)};
  const Tensor ref = ReferenceExecutor(g).run(in)[0];
  auto e = testing::build_engine(g, nullptr, Precision::kFp32, 2);
  bool noted = false;
  for (const auto& r : e->manifest().layers)
    if (r.name == "c") noted = r.reason.find("repeat an eltwise algorithm") != std::string::npos;
  EXPECT_TRUE(noted) << e->manifest().to_table();
  runtime::ExecutionContext ctx(e);
  EXPECT_LE(testing::max_diff(ctx.run(in)[0], ref), 1e-5f);
}

TEST(FusionEpilogue, EngineFileRoundTripKeepsTheNewPostOps) {
  Rng rng(5);
  auto g = activation_net(rng);
  std::vector<Tensor> x{random_tensor(rng, {2, 3, 8, 8}, -2.f, 2.f)};
  quant::CalibrationTable table = testing::minmax_table(*g, x);
  for (Precision p : {Precision::kFp32, Precision::kInt8}) {
    SCOPED_TRACE(precision_name(p));
    auto e = testing::build_engine(*g, &table, p, 2);
    runtime::EngineFileInfo info;
    info.producer = "mpq test";
    info.model_name = "activation_net";
    info.model_hash = "fnv1a64:0000000000000002";
    const std::string bytes = runtime::serialize_engine(*e, info);
    runtime::EngineFileContents c = runtime::parse_engine_bytes(bytes, "act.mpqe");
    ASSERT_EQ(c.plan.steps.size(), e->plan().steps.size());
    std::vector<std::vector<PostOp>> kinds;
    for (size_t i = 0; i < c.plan.steps.size(); ++i) {
      EXPECT_EQ(post_ops(*c.plan.steps[i].node), post_ops(*e->plan().steps[i].node));
      if (c.plan.steps[i].node->op == OpKind::FusedConv)
        kinds.push_back(post_ops(*c.plan.steps[i].node));
    }
    EXPECT_EQ(
        kinds,
        (std::vector<std::vector<PostOp>>{
            {{OpKind::Silu}}, {{OpKind::HardSwish}}, {{OpKind::Sigmoid}}, {{OpKind::HardSwish}}}));
    auto loaded = runtime::Engine::from_plan(std::move(c.plan));
    runtime::ExecutionContext c1(e), c2(loaded);
    const Tensor a = c1.run(x)[0], b = c2.run(x)[0];
    ASSERT_EQ(a.nbytes(), b.nbytes());
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0);
    EXPECT_EQ(runtime::serialize_engine(*loaded, info), bytes);
  }
}

}  // namespace
}  // namespace mpq
