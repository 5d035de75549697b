// Each graph pass leaves the model's outputs unchanged (reference executor before vs after), and
// does the rewrite it promises.
#include <gtest/gtest.h>

#include "engine_test_util.h"
#include "ir/post_op.h"
#include "ir/verifier.h"
#include "passes/pass.h"
#include "zoo/zoo.h"

namespace mpq {
namespace {

using testing::add;
using testing::attrs_ints;
using testing::random_tensor;

int count_op(const Graph& g, const char* op) {
  int c = 0;
  for (const auto& n : g.nodes()) c += n->def().name == op;
  return c;
}

void expect_same_outputs(const Graph& a, const Graph& b, const std::vector<Tensor>& in,
                         float tol = 1e-4f) {
  auto ya = ReferenceExecutor(a).run(in);
  auto yb = ReferenceExecutor(b).run(in);
  ASSERT_EQ(ya.size(), yb.size());
  for (size_t i = 0; i < ya.size(); ++i)
    EXPECT_LE(testing::max_diff(ya[i], yb[i]), tol * (1.f + testing::max_abs(ya[i])));
}

void run_one(Graph& g, std::unique_ptr<passes::Pass> p, passes::PassContext* ctx = nullptr) {
  passes::PassContext local;
  std::vector<std::unique_ptr<passes::Pass>> v;
  v.push_back(std::move(p));
  passes::run_passes(g, ctx ? *ctx : local, v);
}

// auto_pad SAME_UPPER / SAME_LOWER / VALID become explicit pads (and defaults explicit attributes)
// with the same outputs; a CPU engine then runs them on oneDNN, not on the reference executor.
TEST(Passes, CanonicalizeResolvesAutoPad) {
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER", "VALID"}) {
    SCOPED_TRACE(mode);
    Rng rng(5);
    Graph g;
    Value* x = g.add_input("x", DType::f32, {2, 3, 6, 6});
    Attributes ca = attrs_ints({{"strides", {2, 2}}});
    ca.set("auto_pad", std::string(mode));
    Node* c = add(g, "Conv", {x, g.add_constant("w", random_tensor(rng, {4, 3, 3, 2}))}, ca, "c");
    Attributes pa = attrs_ints({{"kernel_shape", {2, 2}}, {"strides", {2, 1}}});
    pa.set("auto_pad", std::string(mode));
    Node* p = add(g, "MaxPool", {c->outputs[0]}, pa, "p");
    g.add_output(p->outputs[0]);
    auto before = g.clone();
    run_one(g, passes::make_canonicalize());
    for (const char* n : {"c", "p"}) {
      const Node& node = *g.find_node(n);
      EXPECT_EQ(node.attrs.s("auto_pad"), "NOTSET") << n;
      EXPECT_EQ(node.attrs.ints("pads").size(), 4u) << n;
      EXPECT_EQ(node.attrs.ints("kernel_shape").size(), 2u) << n;
    }
    // 6 rows, stride 2, k 3: one row of padding, at the end (UPPER) or the beginning (LOWER);
    // 6 columns, stride 2, k 2: none.
    if (std::string(mode) == "SAME_UPPER")
      EXPECT_EQ(g.find_node("c")->attrs.ints("pads"), (std::vector<int64_t>{0, 0, 1, 0}));
    if (std::string(mode) == "SAME_LOWER")
      EXPECT_EQ(g.find_node("c")->attrs.ints("pads"), (std::vector<int64_t>{1, 0, 0, 0}));
    if (std::string(mode) == "VALID")
      EXPECT_EQ(g.find_node("c")->attrs.ints("pads"), (std::vector<int64_t>{0, 0, 0, 0}));
    expect_same_outputs(*before, g, {random_tensor(rng, {2, 3, 6, 6})});
  }
}

// The exporters' decomposed layer normalization (with and without the affine Mul/Add) becomes one
// LayerNormalization with the same outputs; a second consumer of an intermediate keeps it apart.
TEST(Passes, DecomposedLayerNormBecomesOneOp) {
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    Rng rng(6);
    Graph g;
    Value* x = g.add_input("x", DType::f32, {2, 5, 8});
    Attributes last = attrs_ints({{"axes", {-1}}});
    Node* m = add(g, "ReduceMean", {x}, last, "mean");
    Node* d = add(g, "Sub", {x, m->outputs[0]}, {}, "sub");
    Node* p = add(g, "Pow", {d->outputs[0], g.add_constant("two", Tensor::from<float>({}, {2.f}))});
    Node* v = add(g, "ReduceMean", {p->outputs[0]}, last, "var");
    Node* e =
        add(g, "Add", {v->outputs[0], g.add_constant("eps", Tensor::from<float>({}, {1e-6f}))});
    Node* s = add(g, "Sqrt", {e->outputs[0]});
    Value* y = add(g, "Div", {d->outputs[0], s->outputs[0]}, {}, "div")->outputs[0];
    if (variant >= 1) {
      y = add(g, "Mul", {y, g.add_constant("gamma", random_tensor(rng, {8}))})->outputs[0];
      y = add(g, "Add", {y, g.add_constant("beta", random_tensor(rng, {8}))}, {}, "y")->outputs[0];
    }
    g.add_output(y);
    if (variant == 2) g.add_output(v->outputs[0]);  // the variance is used elsewhere
    auto before = g.clone();
    run_one(g, passes::make_fuse_layernorm());
    EXPECT_EQ(count_op(g, "LayerNormalization"), variant == 2 ? 0 : 1);
    EXPECT_EQ(count_op(g, "Sqrt"), variant == 2 ? 1 : 0);
    expect_same_outputs(*before, g, {random_tensor(rng, {2, 5, 8}, -3.f, 3.f)});
  }
}

// The exporters' GELU (both Mul orders, Div by sqrt 2 or Mul by its inverse) becomes one Gelu with
// the same outputs; a second consumer of the Erf keeps the pattern apart.
TEST(Passes, DecomposedGeluBecomesOneOp) {
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    Rng rng(8);
    Graph g;
    Value* x = g.add_input("x", DType::f32, {2, 5, 8});
    auto k = [&](const char* name, float v) {
      return g.add_constant(name, Tensor::from<float>({}, {v}));
    };
    Node* sc = variant == 1 ? add(g, "Mul", {x, k("r2", 0.70710678f)}, {}, "scale")
                            : add(g, "Div", {x, k("s2", 1.41421356f)}, {}, "scale");
    Node* e = add(g, "Erf", {sc->outputs[0]}, {}, "erf");
    Node* p1 = add(g, "Add", {e->outputs[0], k("one", 1.f)}, {}, "plus1");
    Value* y;
    if (variant == 1) {
      Node* h = add(g, "Mul", {x, k("half", 0.5f)}, {}, "half");
      y = add(g, "Mul", {h->outputs[0], p1->outputs[0]}, {}, "y")->outputs[0];
    } else {
      Node* m = add(g, "Mul", {x, p1->outputs[0]}, {}, "xm");
      y = add(g, "Mul", {m->outputs[0], k("half", 0.5f)}, {}, "y")->outputs[0];
    }
    g.add_output(y);
    if (variant == 2) g.add_output(e->outputs[0]);
    auto before = g.clone();
    run_one(g, passes::make_fuse_gelu());
    EXPECT_EQ(count_op(g, "Gelu"), variant == 2 ? 0 : 1);
    EXPECT_EQ(count_op(g, "Erf"), variant == 2 ? 1 : 0);
    expect_same_outputs(*before, g, {random_tensor(rng, {2, 5, 8}, -3.f, 3.f)});
  }
}

// A Linear on [N, H, W, C] (MatMul by a constant matrix + bias Add) becomes a FusedGemm with the
// bias; the activation after it then fuses as after any Gemm, and the outputs stay the same.
TEST(Passes, DenseMatMulBecomesFusedGemmWithBias) {
  Rng rng(9);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2, 3, 4, 8});
  Node* mm = add(g, "MatMul", {x, g.add_constant("w", random_tensor(rng, {8, 6}))}, {}, "fc");
  Node* b =
      add(g, "Add", {g.add_constant("b", random_tensor(rng, {6})), mm->outputs[0]}, {}, "bias");
  Node* r = add(g, "Relu", {b->outputs[0]}, {}, "act");
  Value* y = g.add_input("y", DType::f32, {2, 3, 6, 5});
  Node* act = add(g, "MatMul", {r->outputs[0], y}, {}, "not_dense");  // B is not a constant
  g.add_output(act->outputs[0]);
  g.add_output(r->outputs[0]);
  auto before = g.clone();
  run_one(g, passes::make_fuse_dense_matmul());
  run_one(g, passes::make_fuse_activation());
  EXPECT_EQ(count_op(g, "FusedGemm"), 1);
  EXPECT_EQ(count_op(g, "MatMul"), 1);
  EXPECT_EQ(count_op(g, "Add"), 0);
  EXPECT_EQ(count_op(g, "Relu"), 0);
  const Node* fc = g.find_node("fc");
  ASSERT_NE(fc, nullptr);
  EXPECT_EQ(fc->outputs[0]->shape, (Shape{2, 3, 4, 6}));
  expect_same_outputs(*before, g,
                      {random_tensor(rng, {2, 3, 4, 8}), random_tensor(rng, {2, 3, 6, 5})});
}

TEST(Passes, ConstantFoldingEvaluatesConstantSubgraphs) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2, 3});
  Node* c = add(g, "Mul",
                {g.add_constant("a", Tensor::from<float>({3}, {1.f, 2.f, 3.f})),
                 g.add_constant("b", Tensor::from<float>({3}, {2.f, 2.f, 2.f}))});
  Node* y = add(g, "Add", {x, c->outputs[0]}, {}, "y");
  g.add_output(y->outputs[0]);
  auto before = g.clone();
  run_one(g, passes::make_constant_folding());
  EXPECT_EQ(count_op(g, "Mul"), 0);
  EXPECT_TRUE(g.find_node("y")->inputs[1]->is_constant());
  Rng rng(1);
  expect_same_outputs(*before, g, {random_tensor(rng, {2, 3})});
}

TEST(Passes, BatchNormFoldsIntoConvAndGemm) {
  Rng rng(2);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2, 4, 5, 5});
  auto bn = [&](Value* v, int64_t c, const std::string& name) {
    return add(g, "BatchNormalization",
               {v, g.add_constant(name + "g", random_tensor(rng, {c}, 0.5f, 1.5f)),
                g.add_constant(name + "b", random_tensor(rng, {c})),
                g.add_constant(name + "m", random_tensor(rng, {c})),
                g.add_constant(name + "v", random_tensor(rng, {c}, 0.5f, 2.f))},
               {}, name);
  };
  Node* c = add(g, "Conv", {x, g.add_constant("w", random_tensor(rng, {6, 4, 3, 3}))}, {}, "conv");
  Node* b1 = bn(c->outputs[0], 6, "bn1");
  Node* f = add(g, "Flatten", {b1->outputs[0]});
  Attributes ga;
  ga.set("transB", int64_t{1});
  ga.set("beta", 0.5f);
  Node* fc = add(g, "Gemm",
                 {f->outputs[0], g.add_constant("fw", random_tensor(rng, {3, 54})),
                  g.add_constant("fb", random_tensor(rng, {3}))},
                 ga, "fc");
  Node* b2 = bn(fc->outputs[0], 3, "bn2");
  g.add_output(b2->outputs[0]);
  auto before = g.clone();
  passes::PassContext ctx;
  run_one(g, passes::make_fold_batchnorm(), &ctx);
  EXPECT_EQ(count_op(g, "BatchNormalization"), 0);
  // The folded producers output the BN outputs' values (names kept for calibration).
  EXPECT_EQ(g.find_node("conv")->outputs[0]->name, "bn1_out");
  EXPECT_EQ(g.find_node("fc")->outputs[0]->name, "bn2_out");
  EXPECT_EQ(ctx.absorbed["conv"], std::vector<std::string>{"bn1"});
  expect_same_outputs(*before, g, {random_tensor(rng, {2, 4, 5, 5})});
}

TEST(Passes, DeadCodeEliminationDropsUnusedNodes) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2, 3});
  add(g, "Relu", {x}, {}, "unused");
  Node* y = add(g, "Sigmoid", {x}, {}, "y");
  g.add_output(y->outputs[0]);
  run_one(g, passes::make_dead_code_elimination());
  EXPECT_EQ(g.nodes().size(), 1u);
  EXPECT_EQ(g.find_node("unused"), nullptr);
}

TEST(Passes, FusionKeepsOutputsAndLastValueNames) {
  Rng rng(3);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2, 4, 6, 6});
  Node* c1 = add(g, "Conv", {x, g.add_constant("w1", random_tensor(rng, {4, 4, 3, 3}))},
                 attrs_ints({{"pads", {1, 1, 1, 1}}}), "c1");
  Node* r1 = add(g, "Relu", {c1->outputs[0]}, {}, "r1");
  Node* c2 =
      add(g, "Conv", {r1->outputs[0], g.add_constant("w2", random_tensor(rng, {4, 4, 3, 3}))},
          attrs_ints({{"pads", {1, 1, 1, 1}}}), "c2");
  Node* s = add(g, "Add", {c2->outputs[0], x}, {}, "sum");
  Node* r2 = add(g, "Relu", {s->outputs[0]}, {}, "r2");
  Node* lr = add(g, "Exp", {r2->outputs[0]}, {}, "exp");  // not a post-op: stays
  g.add_output(lr->outputs[0]);
  auto before = g.clone();
  passes::PassContext ctx;
  std::vector<std::unique_ptr<passes::Pass>> ps;
  ps.push_back(passes::make_fuse_activation());
  ps.push_back(passes::make_fuse_residual());
  ps.push_back(passes::make_fuse_activation());
  passes::run_passes(g, ctx, ps);
  EXPECT_EQ(count_op(g, "FusedConv"), 2);
  EXPECT_EQ(count_op(g, "Relu") + count_op(g, "Add"), 0);
  EXPECT_EQ(count_op(g, "Exp"), 1);
  const Node* f2 = g.find_node("c2");
  EXPECT_EQ(post_ops(*f2), (std::vector<PostOp>{{OpKind::Add}, {OpKind::Relu}}));
  EXPECT_EQ(f2->outputs[0]->name, "r2_out");
  EXPECT_EQ(f2->inputs.at(3)->name, "x");
  EXPECT_EQ(g.find_node("c1")->outputs[0]->name, "r1_out");
  EXPECT_EQ(ctx.absorbed["c2"], (std::vector<std::string>{"sum", "r2"}));
  verify(g);
  expect_same_outputs(*before, g, {random_tensor(rng, {2, 4, 6, 6})});
}

TEST(Passes, FusionVetoKeepsNodesApart) {
  Rng rng(4);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2, 4, 6, 6});
  Node* c = add(g, "Conv", {x, g.add_constant("w", random_tensor(rng, {4, 4, 1, 1}))}, {}, "c");
  Node* r = add(g, "Relu", {c->outputs[0]}, {}, "r");
  g.add_output(r->outputs[0]);
  passes::PassContext ctx;
  ctx.can_fuse = [](const Node&, const Node& b) { return b.name != "r"; };
  run_one(g, passes::make_fuse_activation(), &ctx);
  EXPECT_EQ(count_op(g, "Relu"), 1);
  EXPECT_EQ(count_op(g, "FusedConv"), 0);
}

TEST(Passes, OptimizeZooModelsKeepsOutputs) {
  Rng rng(5);
  for (const char* name : {"mnist_naive", "resnet18_cifar"}) {
    zoo::ZooModel m = zoo::build_zoo_model(name, {.batch = 2, .seed = 1});
    auto before = m.graph->clone();
    passes::PassContext ctx;
    passes::optimize(*m.graph, ctx);
    Shape in = m.graph->inputs()[0]->shape;
    expect_same_outputs(*before, *m.graph, {random_tensor(rng, in)}, 1e-3f);
    if (std::string(name) == "resnet18_cifar") {
      EXPECT_EQ(count_op(*m.graph, "BatchNormalization"), 0);
      EXPECT_EQ(count_op(*m.graph, "Add"), 0);
      EXPECT_EQ(count_op(*m.graph, "Relu"), 0);
      // 17 convs absorb their activation/residual; in the 3 downsampling blocks one of the two
      // convs feeding the Add takes the sum, the other stays a Conv (its BN folded).
      EXPECT_EQ(count_op(*m.graph, "FusedConv"), 17);
      EXPECT_EQ(count_op(*m.graph, "Conv"), 3);
    } else {
      EXPECT_EQ(count_op(*m.graph, "Clip"), 0);
    }
  }
}

}  // namespace
}  // namespace mpq
