// The fast per-output-channel weight quantization the CPU kernels run at engine load (it packs
// every int8 weight) gives exactly quant::quantize_value's result: half-to-even ties, saturation,
// zero rows, rows holding NaN (the exact path) and infinite weights (an error).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "backends/cpu/fused_common.h"
#include "core/rng.h"
#include "core/quant_math.h"

namespace mpq::cpu {
namespace {

void expect_same_as_reference(const std::vector<float>& w, int64_t oc, int64_t per_oc) {
  std::vector<int8_t> q(w.size());
  std::vector<float> s(oc);
  quantize_weights_per_oc(w.data(), oc, per_oc, q.data(), s.data());
  const quant::QRange r = quant::quant_range(8, quant::QuantDtype::kInt);
  for (int64_t o = 0; o < oc; ++o) {
    float m = 0.f;
    for (int64_t i = 0; i < per_oc; ++i)
      if (!std::isnan(w[o * per_oc + i])) m = std::max(m, std::fabs(w[o * per_oc + i]));
    const auto sz = quant::compute_scale_zero_point(-m, m, 8, quant::QuantDtype::kInt, true);
    ASSERT_EQ(s[o], sz.scale) << "row " << o;
    for (int64_t i = 0; i < per_oc; ++i)
      ASSERT_EQ(q[o * per_oc + i], quant::quantize_value(w[o * per_oc + i], sz.scale, 0, r))
          << "row " << o << " col " << i << " w " << w[o * per_oc + i];
  }
}

TEST(CpuWeightQuant, MatchesQuantizeValueExactly) {
  Rng rng(5);
  const int64_t oc = 64, per_oc = 3 * 3 * 37;  // odd length: vector tail too
  std::vector<float> w(oc * per_oc);
  for (auto& x : w) x = static_cast<float>(rng.normal() * 0.05);
  // Ties: with amax = 127 the scale is 1, so k + 0.5 must round to even.
  for (int64_t i = 0; i < per_oc; ++i) w[i] = static_cast<float>(i % 255) - 127.f + 0.5f;
  w[0] = 127.f;
  for (int64_t i = 0; i < per_oc; ++i) w[per_oc + i] = 0.f;  // an all-zero row
  expect_same_as_reference(w, oc, per_oc);
}

TEST(CpuWeightQuant, NanWeightsTakeTheExactPathAndInfIsAnError) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> w = {0.5f, -1.f, nan, 0.25f};
  std::vector<int8_t> q(w.size());
  std::vector<float> s(1);
  quantize_weights_per_oc(w.data(), 1, 4, q.data(), s.data());
  const quant::QRange r = quant::quant_range(8, quant::QuantDtype::kInt);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(q[i], quant::quantize_value(w[i], s[0], 0, r)) << i;
  EXPECT_EQ(q[2], 0);  // NaN -> the zero point
  // An infinite weight has no finite scale: an error, as before (not a crash).
  std::vector<float> inf = {1.f, std::numeric_limits<float>::infinity()};
  EXPECT_THROW(quantize_weights_per_oc(inf.data(), 1, 2, q.data(), s.data()), Error);
}

}  // namespace
}  // namespace mpq::cpu
