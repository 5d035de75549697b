// The check every oneDNN kernel test runs: builds a small graph into a cpu engine at a precision
// and compares its outputs with the plan simulation and the float reference (tolerances per dtype).
#pragma once

#include <gtest/gtest.h>

#include <cstring>

#include "engine_test_util.h"

namespace mpq::testing {

inline const Precision kAll[] = {Precision::kFp32, Precision::kBf16, Precision::kInt8};

// Builds g at precision p, runs `inputs`, compares with the plan simulation and (loosely) with
// the float reference; checks that the op `main_op` ran on the cpu backend at `p`.
// `variant` forces the algorithm of every step of `main_op` (the engine is then re-prepared from
// its plan, as a loaded engine file is).
inline void check(const Graph& g, const std::vector<Tensor>& inputs, Precision p,
                  const char* main_op, int64_t max_batch = 4, const std::string& variant = "") {
  SCOPED_TRACE(std::string(main_op) + " at " + precision_name(p) + " " + variant);
  quant::CalibrationTable table = testing::minmax_table(g, inputs);
  auto engine = testing::build_engine(g, &table, p, max_batch);
  if (!variant.empty()) {
    plan::BuildOptions o = engine->plan().options;
    plan::PreparedPlan pp = plan::build_plan(g, &table, o);
    for (auto& st : pp.plan.steps)
      if (st.node->def().name == main_op) st.variant = variant;
    engine = runtime::Engine::from_plan(std::move(pp.plan));
    for (const auto& st : engine->plan().steps)
      if (st.node->def().name == main_op) EXPECT_EQ(st.variant, variant);
  }
  bool found = false;
  for (const auto& r : engine->manifest().layers) {
    if (r.op != main_op) continue;
    found = true;
    EXPECT_EQ(r.backend, "cpu") << r.name << ": " << r.reason;
    EXPECT_EQ(r.executed, p) << r.name << ": " << r.reason;
    EXPECT_FALSE(r.impl.empty());
  }
  EXPECT_TRUE(found) << "no step runs " << main_op << "\n" << engine->manifest().to_table();
  runtime::ExecutionContext ctx(engine);
  std::vector<Tensor> out = ctx.run(inputs);
  std::vector<Tensor> sim = testing::simulate_plan(engine->plan(), inputs);
  std::vector<Tensor> ref = ReferenceExecutor(g).run(inputs);
  ASSERT_EQ(out.size(), ref.size());
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i].shape(), ref[i].shape());
    const float m = testing::max_abs(ref[i]);
    float tol = 1e-4f * (1.f + m);
    float ref_tol = tol;
    if (p == Precision::kBf16) tol = 1.5e-2f * (1.f + m), ref_tol = 4e-2f * (1.f + m);
    if (p == Precision::kInt8) {
      const float step = testing::max_int8_scale(engine->plan());
      tol = 2.f * step + 2e-3f * m;
      ref_tol = 0.1f * m + 4.f * step;
    }
    EXPECT_LE(testing::max_diff(out[i], sim[i]), tol) << engine->manifest().to_table();
    EXPECT_LE(testing::max_diff(out[i], ref[i]), ref_tol) << engine->manifest().to_table();
  }
  // A smaller batch (its own primitives, weights reused) gives the same first rows.
  const int64_t b = inputs[0].dim(0) - 1;
  if (b < 1) return;
  std::vector<Tensor> part;
  for (const Tensor& t : inputs) {
    Shape s = t.shape();
    s[0] = b;
    Tensor x(t.dtype(), s);
    std::memcpy(x.raw(), t.raw(), x.nbytes());
    part.push_back(x);
  }
  std::vector<Tensor> out_b = ctx.run(part);
  for (size_t i = 0; i < out_b.size(); ++i) {
    ASSERT_EQ(out_b[i].dim(0), b);
    auto x = out_b[i].to_floats(), y = out[i].to_floats();
    float d = 0.f;
    for (size_t j = 0; j < x.size(); ++j) d = std::max(d, std::fabs(x[j] - y[j]));
    EXPECT_LE(d, p == Precision::kInt8 ? 2.f * testing::max_int8_scale(engine->plan()) + 1e-4f
                                       : 1e-3f * (1.f + testing::max_abs(out[i])));
  }
}

}  // namespace mpq::testing
