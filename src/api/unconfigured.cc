#include "api/unconfigured.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "core/rng.h"

namespace mpq::api {

void check_unconfigured(const std::string& unconfigured, const std::string& key) {
  if (unconfigured != "fp32" && unconfigured != "fastest")
    invalid_input(str("unknown choice '", unconfigured,
                      "' for unconfigured layers (expected fp32 or fastest)"))
        .key(key)
        .raise();
}

std::optional<Precision> extra_layer_precision(int bits, const std::string& key) {
  switch (bits) {
    case 0:
      return std::nullopt;
    case 8:
      return Precision::kInt8;
    case 16:
      return Precision::kFp16;
    case 32:
      return Precision::kFp32;
  }
  invalid_input(str("extra_layer_bits must be 8, 16 or 32 (as in NNI), got ", bits))
      .key(key)
      .raise();
}

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
  // Alternated, keeping each one's fastest run: load from other processes slows both alike and
  // inflates single runs, never shortens them.
  double best_a = 1e300, best_b = 1e300;
  for (int i = 0; i < iters; ++i) {
    best_a = std::min(best_a, run_ms(ca, in_a));
    best_b = std::min(best_b, run_ms(cb, in_b));
  }
  return {best_a, best_b};
}

std::shared_ptr<const runtime::Engine> build_fastest_float(const Graph& g,
                                                           const quant::CalibrationTable* table,
                                                           plan::BuildOptions opt) {
  if (opt.default_precision)
    internal_error("build_fastest_float: the default precision is already chosen").raise();
  opt.default_precision = Precision::kFp32;
  auto fp32 = runtime::Engine::build(g, table, opt);
  int unconfigured = 0;
  for (const plan::LayerReport& l : fp32->manifest().layers) unconfigured += l.source == "default";
  if (unconfigured == 0)
    return runtime::Engine::with_note(std::move(fp32),
                                      "unconfigured: fastest float: no unconfigured layer");
  opt.default_precision = Precision::kFp16;  // bf16 where the backend has no fp16 kernels
  auto half = runtime::Engine::build(g, table, opt);
  const auto [t32, t16] = time_engines_ms(fp32, half, 7);
  std::string half_name = "fp16";
  for (const plan::LayerReport& l : half->manifest().layers)
    if (l.source == "default") half_name = precision_name(l.executed);
  const bool pick_half = t16 < t32;
  const std::string note =
      str("unconfigured: fastest float: ", pick_half ? half_name : "fp32", " for ", unconfigured,
          " unconfigured layer(s) (", half_name, " ", t16, " ms, fp32 ", t32, " ms at batch ",
          opt.max_batch, ", measured at build)");
  return runtime::Engine::with_note(pick_half ? std::move(half) : std::move(fp32), note);
}

}  // namespace mpq::api
