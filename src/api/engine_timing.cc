#include "api/engine_timing.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "core/rng.h"

namespace mpq::api {

namespace {

std::vector<Tensor> random_inputs(const runtime::Engine& engine) {
  std::vector<Tensor> inputs;
  Rng rng(1);
  for (const TensorSpec& s : engine.input_specs()) {
    Tensor t(s.dtype, s.shape);  // zeros for non-float inputs
    if (s.dtype == DType::f32)
      for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(rng.normal());
    inputs.push_back(std::move(t));
  }
  return inputs;
}

double run_ms(runtime::ExecutionContext& ctx, const std::vector<Tensor>& inputs) {
  const auto t0 = std::chrono::steady_clock::now();
  ctx.run(inputs);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::pair<double, double> time_engines_ms(std::shared_ptr<const runtime::Engine> a,
                                          std::shared_ptr<const runtime::Engine> b, int iters) {
  const std::vector<Tensor> in_a = random_inputs(*a), in_b = random_inputs(*b);
  runtime::ExecutionContext ca(std::move(a)), cb(std::move(b));
  run_ms(ca, in_a);  // warm-up: first touch of the arenas, primitive caches
  run_ms(cb, in_b);
  double best_a = 1e300, best_b = 1e300;
  for (int i = 0; i < iters; ++i) {
    best_a = std::min(best_a, run_ms(ca, in_a));
    best_b = std::min(best_b, run_ms(cb, in_b));
  }
  return {best_a, best_b};
}

double time_engine_ms(std::shared_ptr<const runtime::Engine> e, int iters) {
  const std::vector<Tensor> in = random_inputs(*e);
  runtime::ExecutionContext ctx(std::move(e));
  run_ms(ctx, in);  // warm-up: first touch of the arenas, primitive caches
  double best = 1e300;
  for (int i = 0; i < iters; ++i) best = std::min(best, run_ms(ctx, in));
  return best;
}

}  // namespace mpq::api
