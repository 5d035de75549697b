// BatchNormalization training math: batch statistics, running-stat updates (PyTorch's unbiased
// running variance), and the backward against central differences.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/reference/train_batchnorm.h"

namespace mpq::train {
namespace {

std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.f, float shift = 0.f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = shift + scale * d(g);
  return v;
}

TEST(TrainBatchNorm, ForwardNormalizesWithBatchStatistics) {
  const Shape s = {4, 3, 2, 5};
  BnDims d = bn_dims(s, Layout::kPlain);
  auto x = randn(120, 1, 3.f, 2.f);
  std::vector<float> g = {1.f, 2.f, 0.5f}, b = {0.f, 1.f, -1.f}, y(120), mean(3), var(3);
  bn_forward_train(x.data(), d, g.data(), b.data(), 1e-5f, y.data(), mean.data(), var.data());
  for (int c = 0; c < 3; ++c) {
    double m = 0, m2 = 0, ym = 0, yv = 0;
    for (int n = 0; n < 4; ++n)
      for (int k = 0; k < 10; ++k) {
        double v = x[(n * 3 + c) * 10 + k];
        m += v, m2 += v * v;
        double w = y[(n * 3 + c) * 10 + k];
        ym += w, yv += (w - b[c]) * (w - b[c]);
      }
    m /= 40, m2 = m2 / 40 - m * m;
    EXPECT_NEAR(mean[c], m, 1e-5);
    EXPECT_NEAR(var[c], m2, 1e-4);  // biased
    EXPECT_NEAR(ym / 40, b[c], 1e-5);
    EXPECT_NEAR(yv / 40, g[c] * g[c] * m2 / (m2 + 1e-5), 1e-3);
  }
}

TEST(TrainBatchNorm, RunningStatsUseOnnxMomentumAndUnbiasedVariance) {
  std::vector<float> rm = {1.f}, rv = {2.f}, mean = {3.f}, var = {4.f};
  bn_update_running(rm.data(), rv.data(), mean.data(), var.data(), 1, 5, 0.9f);
  EXPECT_NEAR(rm[0], 0.9 * 1 + 0.1 * 3, 1e-6);
  EXPECT_NEAR(rv[0], 0.9 * 2 + 0.1 * 4 * 5.0 / 4.0, 1e-6);
}

TEST(TrainBatchNorm, NhwcLayoutGivesTheSameResult) {
  const Shape s = {2, 3, 2, 2};
  auto x = randn(24, 2);
  std::vector<float> xh(24);  // NHWC copy
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < 4; ++k) xh[(n * 4 + k) * 3 + c] = x[(n * 3 + c) * 4 + k];
  std::vector<float> g = {1.f, 2.f, 3.f}, b = {0.f, 0.f, 1.f}, y(24), yh(24), m(3), v(3), mh(3),
                     vh(3);
  bn_forward_train(x.data(), bn_dims(s, Layout::kPlain), g.data(), b.data(), 1e-5f, y.data(),
                   m.data(), v.data());
  bn_forward_train(xh.data(), bn_dims(s, Layout::kNHWC), g.data(), b.data(), 1e-5f, yh.data(),
                   mh.data(), vh.data());
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < 4; ++k)
        EXPECT_NEAR(yh[(n * 4 + k) * 3 + c], y[(n * 3 + c) * 4 + k], 1e-6);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(mh[c], m[c], 1e-6);
}

// L = sum(y * r): its gradient w.r.t. x, gamma and beta against central differences (float data,
// double loss accumulation).
TEST(TrainBatchNorm, BackwardMatchesFiniteDifferences) {
  const Shape s = {3, 2, 2, 3};
  const BnDims d = bn_dims(s, Layout::kPlain);
  auto x = randn(36, 3, 1.5f, 0.5f);
  auto r = randn(36, 4);
  std::vector<float> g = {1.3f, -0.7f}, b = {0.2f, 0.1f};
  auto loss = [&](const std::vector<float>& xx, const std::vector<float>& gg,
                  const std::vector<float>& bb) {
    std::vector<float> y(36), m(2), v(2);
    bn_forward_train(xx.data(), d, gg.data(), bb.data(), 1e-5f, y.data(), m.data(), v.data());
    double l = 0;
    for (int i = 0; i < 36; ++i) l += static_cast<double>(y[i]) * r[i];
    return l;
  };
  std::vector<float> y(36), m(2), v(2), dx(36), dg(2), db(2);
  bn_forward_train(x.data(), d, g.data(), b.data(), 1e-5f, y.data(), m.data(), v.data());
  bn_backward_train(x.data(), r.data(), d, g.data(), m.data(), v.data(), 1e-5f, dx.data(),
                    dg.data(), db.data());
  const float h = 1e-2f;
  for (int i = 0; i < 36; ++i) {
    auto xp = x, xm = x;
    xp[i] += h, xm[i] -= h;
    EXPECT_NEAR((loss(xp, g, b) - loss(xm, g, b)) / (2 * h), dx[i], 2e-3) << "x" << i;
  }
  for (int c = 0; c < 2; ++c) {
    auto gp = g, gm = g, bp = b, bm = b;
    gp[c] += h, gm[c] -= h, bp[c] += h, bm[c] -= h;
    EXPECT_NEAR((loss(x, gp, b) - loss(x, gm, b)) / (2 * h), dg[c], 2e-3) << "gamma" << c;
    EXPECT_NEAR((loss(x, g, bp) - loss(x, g, bm)) / (2 * h), db[c], 2e-3) << "beta" << c;
  }
}

}  // namespace
}  // namespace mpq::train
