#include "api/unconfigured.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "api/engine_timing.h"

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
