// Squeeze-excitation stays int8: Mul of an int8 activation by a per-channel gate (either operand
// order) and of two same-shape activations runs on the requantizing int8 kernel, with no precision
// boundary around it, and computes what the plan says.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine_test_util.h"

namespace mpq {
namespace {

using testing::add;
using testing::attrs_ints;
using testing::random_tensor;

Value* conv(Graph& g, Rng& rng, Value* x, int64_t ci, int64_t co, int64_t k, const char* name) {
  const int64_t p = k / 2;
  return add(g, "Conv",
             {x, g.add_constant(std::string(name) + "_w", random_tensor(rng, {co, ci, k, k})),
              g.add_constant(std::string(name) + "_b", random_tensor(rng, {co}))},
             attrs_ints({{"pads", {p, p, p, p}}}), name)
      ->outputs[0];
}

// conv -> relu -> SE (GAP, 1x1 conv, relu, 1x1 conv, sigmoid, Mul) -> conv, and a same-shape
// product of two branches before the last conv.
std::unique_ptr<Graph> se_net(Rng& rng, bool gate_first) {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input("x", DType::f32, {-1, 3, 8, 8});
  Value* y = add(*g, "Relu", {conv(*g, rng, x, 3, 16, 3, "c1")}, {}, "r1")->outputs[0];
  Value* s = add(*g, "GlobalAveragePool", {y}, {}, "gap")->outputs[0];
  s = add(*g, "Relu", {conv(*g, rng, s, 16, 4, 1, "se1")}, {}, "se_r")->outputs[0];
  s = add(*g, "Sigmoid", {conv(*g, rng, s, 4, 16, 1, "se2")}, {}, "se_sig")->outputs[0];
  Value* z = add(*g, "Mul", {gate_first ? s : y, gate_first ? y : s}, {}, "se_mul")->outputs[0];
  Value* w = add(*g, "Relu", {conv(*g, rng, z, 16, 16, 3, "c2")}, {}, "r2")->outputs[0];
  Value* v = add(*g, "Relu", {conv(*g, rng, z, 16, 16, 1, "c3")}, {}, "r3")->outputs[0];
  Value* p = add(*g, "Mul", {w, v}, {}, "prod")->outputs[0];
  g->add_output(conv(*g, rng, p, 16, 8, 3, "c4"));
  return g;
}

TEST(SeInt8, GateAndSameShapeMulRunInt8WithoutBoundaries) {
  for (bool gate_first : {true, false}) {
    SCOPED_TRACE(gate_first ? "Mul(gate, x)" : "Mul(x, gate)");
    Rng rng(9);
    auto g = se_net(rng, gate_first);
    std::vector<Tensor> calib{random_tensor(rng, {4, 3, 8, 8}, -2.f, 2.f)};
    std::vector<Tensor> test{random_tensor(rng, {4, 3, 8, 8}, -2.f, 2.f)};
    quant::CalibrationTable table = testing::minmax_table(*g, calib);
    auto e = testing::build_engine(*g, &table, Precision::kInt8, 4);
    int muls = 0, reorders = 0;
    for (const plan::Step& st : e->plan().steps) {
      EXPECT_EQ(st.backend, "cpu") << st.node->name;
      reorders += st.node->op == OpKind::Reorder;
      if (st.node->op != OpKind::Mul) continue;
      ++muls;
      EXPECT_EQ(st.precision, Precision::kInt8) << st.node->name;
      EXPECT_NE(e->plan().tensors[st.outputs[0]].dtype, DType::f32) << st.node->name;
    }
    EXPECT_EQ(muls, 2);
    EXPECT_LE(reorders, 2) << e->manifest().to_table();  // the graph's input and output only
    runtime::ExecutionContext ctx(e);
    const Tensor y = ctx.run(test)[0];
    const Tensor sim = testing::simulate_plan(e->plan(), test)[0];
    const Tensor ref = ReferenceExecutor(*g).run(test)[0];
    const float step = testing::max_int8_scale(e->plan());
    EXPECT_LE(testing::frac_above(y, sim, 1.01f * step), 0.01);
    // Close to the float model: the output's signal-to-quantization-noise ratio.
    double sig = 0, noise = 0;
    for (int64_t i = 0; i < ref.numel(); ++i) {
      const double r = ref.data<float>()[i], d = r - y.data<float>()[i];
      sig += r * r, noise += d * d;
    }
    const double sqnr_db = 10 * std::log10(sig / std::max(noise, 1e-30));
    EXPECT_GE(sqnr_db, 15.0);  // 17.6 dB: five random-weight convs, min/max ranges of other images
  }
}

TEST(SeInt8, MulByAConstantFallsBackToFloatWithAReason) {
  Rng rng(3);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {-1, 3, 4, 4});
  Value* y = conv(g, rng, x, 3, 4, 3, "c1");
  Value* z = add(g, "Mul", {y, g.add_constant("gamma", random_tensor(rng, {4, 1, 1}))}, {}, "ls")
                 ->outputs[0];
  g.add_output(conv(g, rng, z, 4, 4, 1, "c2"));
  std::vector<Tensor> calib{random_tensor(rng, {2, 3, 4, 4})};
  quant::CalibrationTable table = testing::minmax_table(g, calib);
  auto e = testing::build_engine(g, &table, Precision::kInt8, 2);
  bool seen = false;
  for (const auto& r : e->manifest().layers) {
    if (r.name != "ls") continue;
    seen = true;
    EXPECT_EQ(r.executed, Precision::kFp32);
    EXPECT_NE(r.reason.find("constant operand"), std::string::npos) << r.reason;
  }
  EXPECT_TRUE(seen);
  runtime::ExecutionContext ctx(e);
  const Tensor out = ctx.run(calib)[0];
  const Tensor ref = ReferenceExecutor(g).run(calib)[0];
  EXPECT_LE(testing::max_diff(out, ref), 0.1f * (1.f + testing::max_abs(ref)));
}

}  // namespace
}  // namespace mpq
