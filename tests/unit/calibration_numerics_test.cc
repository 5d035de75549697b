// Calibration on degenerate data: a largest value that is a subnormal float, tiny and huge
// magnitudes, constant and all-zero tensors. Every method gives a finite range inside the
// observed one, the histogram counts every value, and the scale derived from it is usable.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "quant/observers.h"
#include "core/quant_math.h"

namespace mpq::quant {
namespace {

constexpr CalibMethod kMethods[] = {CalibMethod::kMinMax, CalibMethod::kPercentile,
                                    CalibMethod::kEntropy, CalibMethod::kMse};

int64_t counted(const HistogramObserver& h) {
  int64_t n = h.zero_count();
  for (int64_t c : h.bins()) n += c;
  return n;
}

// Observes `batches` (one observe call each) and checks what every method makes of them.
void expect_sane(const std::vector<std::vector<float>>& batches) {
  HistogramObserver h;
  int64_t total = 0;
  float amax = 0.f;
  for (const auto& b : batches) {
    ASSERT_EQ(h.observe(b.data(), static_cast<int64_t>(b.size()), 2), -1);
    total += static_cast<int64_t>(b.size());
    for (float x : b) amax = std::max(amax, std::fabs(x));
  }
  EXPECT_EQ(counted(h), total);  // no value lost (or written outside the bins)
  EXPECT_EQ(h.amax(), amax);
  EXPECT_TRUE(std::isfinite(h.range()));
  for (CalibMethod m : kMethods) {
    SCOPED_TRACE(calib_method_name(m));
    TensorRange r = choose_range(h, m, {});
    ASSERT_TRUE(std::isfinite(r.min) && std::isfinite(r.max)) << r.min << " " << r.max;
    EXPECT_LE(r.min, r.max);
    EXPECT_GE(r.min, std::min(h.min(), 0.f));  // inside the data's hull with 0
    EXPECT_LE(r.max, std::max(h.max(), 0.f));
    // Constant data keeps (nearly) its value: the range does not collapse to [0, 0].
    if (h.min() == h.max() && h.max() != 0.f)
      EXPECT_NEAR(std::fabs(h.max() > 0 ? r.max : r.min), std::fabs(h.max()),
                  1e-3f * std::fabs(h.max()));
    for (const auto& [k, v] : r.stats) EXPECT_FALSE(std::isnan(v)) << k;
    const ScaleZeroPoint s = compute_scale_zero_point(r.min, r.max, 8, QuantDtype::kInt, true);
    EXPECT_TRUE(std::isfinite(s.scale) && s.scale >= std::numeric_limits<float>::min()) << s.scale;
    EXPECT_TRUE(std::isfinite(1.f / s.scale));
  }
}

TEST(CalibrationNumerics, SubnormalMaximum) {
  std::vector<float> v(4096, 0.f);
  v[17] = 1e-45f;  // the smallest subnormal float
  expect_sane({v});
  v[17] = -1e-45f;
  expect_sane({v});
  // A subnormal batch after a zero one, and a normal batch after a subnormal one.
  expect_sane({std::vector<float>(100, 0.f), v, std::vector<float>(100, 1.f)});
}

TEST(CalibrationNumerics, TinyHugeConstantAndZero) {
  std::vector<float> tiny(1000), huge(1000);
  for (size_t i = 0; i < tiny.size(); ++i) {
    tiny[i] = 1e-38f * static_cast<float>(i % 7) - 3e-38f;
    huge[i] = 3e38f * (static_cast<float>(i % 11) / 10.f - 0.5f);
  }
  expect_sane({tiny});
  expect_sane({huge});
  // Growing past half of FLT_MAX (the histogram's range would double to inf).
  expect_sane({std::vector<float>(10, 1.f), huge, {std::numeric_limits<float>::max()}});
  expect_sane({std::vector<float>(1000, 5.f)});
  expect_sane({std::vector<float>(1000, -2.5f)});
  expect_sane({std::vector<float>(1000, 0.f)});
}

TEST(CalibrationNumerics, SubnormalRangeGetsAUsableScale) {
  // A range whose scale would be subnormal is treated as all-zero (scale 1), as [0, 0] is.
  for (bool symmetric : {true, false}) {
    const ScaleZeroPoint s = compute_scale_zero_point(0.f, 1e-40f, 8, QuantDtype::kInt, symmetric);
    EXPECT_EQ(s.scale, 1.f);
    EXPECT_GE(s.zero_point, -128);
    EXPECT_LE(s.zero_point, 127);
  }
  // A range wider than FLT_MAX (an affine scale computed in float would be inf).
  const float wide = compute_scale_zero_point(-3e38f, 3e38f, 8, QuantDtype::kInt, false).scale;
  EXPECT_TRUE(std::isfinite(wide) && wide > 1e36f) << wide;
  EXPECT_FLOAT_EQ(compute_scale_zero_point(-1.f, 1.f, 8, QuantDtype::kInt, true).scale,
                  1.f / 127.f);
}

}  // namespace
}  // namespace mpq::quant
