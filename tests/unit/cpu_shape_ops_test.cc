// CPU kernels of Erf, LayerNormalization, Expand, Split, Where and Equal against
// the reference executor, through small graphs built into CPU engines: each op must run on the
// cpu backend (never the reference fallback) at the precisions it registers.
#include <gtest/gtest.h>

#include "engine_test_util.h"

namespace mpq {
namespace {

using testing::add;
using testing::random_tensor;

// Builds g at p, checks that every step of `op` runs on the cpu backend at p, and compares the
// outputs with the reference executor (fp32 tight, bf16 loose, others exact).
void check(const Graph& g, const std::vector<Tensor>& inputs, Precision p, const char* op) {
  SCOPED_TRACE(std::string(op) + " at " + precision_name(p));
  quant::CalibrationTable table = testing::minmax_table(g, inputs);
  auto engine = testing::build_engine(g, &table, p, 4);
  bool found = false;
  for (const auto& r : engine->manifest().layers) {
    if (r.op != op) continue;
    found = true;
    EXPECT_EQ(r.backend, "cpu") << r.name << ": " << r.reason;
    EXPECT_EQ(r.executed, p) << r.name << ": " << r.reason;
  }
  EXPECT_TRUE(found) << "no step runs " << op << "\n" << engine->manifest().to_table();
  runtime::ExecutionContext ctx(engine);
  std::vector<Tensor> out = ctx.run(inputs);
  std::vector<Tensor> ref = ReferenceExecutor(g).run(inputs);
  ASSERT_EQ(out.size(), ref.size());
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i].shape(), ref[i].shape());
    const float m = testing::max_abs(ref[i]);
    const float tol = p == Precision::kBf16 ? 2e-2f * (1.f + m) : 1e-5f * (1.f + m);
    EXPECT_LE(testing::max_diff(out[i], ref[i]), tol) << engine->manifest().to_table();
  }
}

Value* i64_const(Graph& g, const char* name, std::vector<int64_t> v) {
  return g.add_constant(name, Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v));
}

TEST(CpuShapeOps, Erf) {
  Rng rng(3);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {3, 5, 7});
  g.add_output(add(g, "Erf", {x}, {}, "erf")->outputs[0]);
  std::vector<Tensor> in{random_tensor(rng, {3, 5, 7}, -3.f, 3.f)};
  check(g, in, Precision::kFp32, "Erf");
  check(g, in, Precision::kBf16, "Erf");
}

TEST(CpuShapeOps, LayerNormalization) {
  Rng rng(4);
  for (int64_t axis : {-1, 1}) {
    Graph g;
    Value* x = g.add_input("x", DType::f32, {2, 4, 6});
    const Shape ps = axis == -1 ? Shape{6} : Shape{4, 6};
    Attributes a;
    a.set("axis", axis);
    a.set("epsilon", 1e-3f);
    Node* n = add(g, "LayerNormalization",
                  {x, g.add_constant("s", random_tensor(rng, ps)),
                   g.add_constant("b", random_tensor(rng, ps))},
                  a, "ln");
    g.add_output(n->outputs[0]);
    std::vector<Tensor> in{random_tensor(rng, {2, 4, 6}, -2.f, 3.f)};
    check(g, in, Precision::kFp32, "LayerNormalization");
    check(g, in, Precision::kBf16, "LayerNormalization");
  }
}

TEST(CpuShapeOps, ExpandAndSplit) {
  Rng rng(5);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2, 6, 1});
  Node* e = add(g, "Expand", {x, i64_const(g, "shape", {1, 1, 4})}, {}, "expand");
  Attributes a;
  a.set("axis", int64_t{2});
  Node* s = g.add_node(OpKind::Split, "split", {e->outputs[0], i64_const(g, "sizes", {1, 3})},
                       std::vector<std::string>{"s0", "s1"}, a);
  g.add_output(s->outputs[0]);
  g.add_output(s->outputs[1]);
  infer_shapes(g);
  std::vector<Tensor> in{random_tensor(rng, {2, 6, 1})};
  for (Precision p : {Precision::kFp32, Precision::kBf16}) {
    check(g, in, p, "Expand");
    check(g, in, p, "Split");
  }
}

// vit's class token: expand(x.size(0), -1, -1) as exported (Shape/Gather/Concat/ConstantOfShape/
// Equal/Where) becomes Expand([-1, 1, 1], batch from the graph input) on the cpu backend; runs at
// the maximum batch and a smaller one.
TEST(CpuShapeOps, ExpandToTheRunTimeBatch) {
  Rng rng(8);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {-1, 5, 6});
  Value* tok = g.add_constant("tok", random_tensor(rng, {1, 1, 6}));
  Node* sh = add(g, "Shape", {x}, {}, "shape");
  Node* b = add(g, "Gather", {sh->outputs[0], g.add_constant("i0", Tensor::from<int64_t>({}, {0}))},
                {}, "b");
  Node* bu = add(g, "Unsqueeze", {b->outputs[0], i64_const(g, "ax", {0})}, {}, "bu");
  Attributes axis0;
  axis0.set("axis", int64_t{0});
  Node* spec = add(g, "Concat", {bu->outputs[0], i64_const(g, "m1", {-1, -1})}, axis0, "spec");
  Attributes one;
  one.set("value", Tensor::from<int64_t>({1}, {1}));
  Node* ones = add(g, "ConstantOfShape", {i64_const(g, "len", {3})}, one, "ones");
  Node* eq = add(g, "Equal", {spec->outputs[0], i64_const(g, "m1b", {-1})}, {}, "eq");
  Node* w = add(g, "Where", {eq->outputs[0], ones->outputs[0], spec->outputs[0]}, {}, "where");
  Node* e = add(g, "Expand", {tok, w->outputs[0]}, {}, "expand");
  Attributes axis1;
  axis1.set("axis", int64_t{1});
  Node* cat = add(g, "Concat", {e->outputs[0], x}, axis1, "cat");
  g.add_output(cat->outputs[0]);
  for (int64_t batch : {4, 2}) {
    std::vector<Tensor> in{random_tensor(rng, {batch, 5, 6})};
    check(g, in, Precision::kFp32, "Expand");
  }
}

TEST(CpuShapeOps, WhereAndEqual) {
  Rng rng(6);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2, 3, 4});
  Value* y = g.add_input("y", DType::f32, {2, 3, 4});
  Node* eq = add(g, "Equal", {x, y}, {}, "eq");
  Node* w = add(g, "Where", {eq->outputs[0], g.add_constant("c", random_tensor(rng, {3, 4})), x},
                {}, "where");
  g.add_output(w->outputs[0]);
  // Half of y equals x, so both branches of Where are taken.
  Tensor tx = random_tensor(rng, {2, 3, 4}), ty = random_tensor(rng, {2, 3, 4});
  for (int64_t i = 0; i < ty.numel(); i += 2) ty.data<float>()[i] = tx.data<float>()[i];
  std::vector<Tensor> in{tx, ty};
  check(g, in, Precision::kFp32, "Where");
  check(g, in, Precision::kFp32, "Equal");
}

}  // namespace
}  // namespace mpq
