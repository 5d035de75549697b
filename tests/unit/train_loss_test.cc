// Softmax cross-entropy: value, gradient, stability, and bad labels.
#include <gtest/gtest.h>

#include <cmath>

#include "train/loss.h"

namespace mpq::train {
namespace {

TEST(TrainLoss, ValueAndGradientMatchHandComputation) {
  Tensor x = Tensor::from<float>({2, 3}, {1.f, 2.f, 3.f, 0.f, 0.f, 0.f});
  Tensor y = Tensor::from<int64_t>({2}, {2, 1});
  Tensor g(DType::f32, {2, 3});
  LossResult r = softmax_cross_entropy(x, y, &g);
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double expect = ((lse0 - 3.0) + std::log(3.0)) / 2.0;
  EXPECT_NEAR(r.loss, expect, 1e-7);
  EXPECT_EQ(r.correct, 1);  // sample 0 arg-max 2 = label; sample 1 ties -> class 0 != 1
  const float* pg = g.data<float>();
  EXPECT_NEAR(pg[0], std::exp(1.0 - lse0) / 2, 1e-7);
  EXPECT_NEAR(pg[2], (std::exp(3.0 - lse0) - 1) / 2, 1e-7);
  EXPECT_NEAR(pg[4], (1.0 / 3 - 1) / 2, 1e-7);
  // Central differences of the loss agree with the analytic gradient.
  for (int i = 0; i < 6; ++i) {
    Tensor xp = x.clone(), xm = x.clone();
    xp.data<float>()[i] += 1e-2f;
    xm.data<float>()[i] -= 1e-2f;
    double fd =
        (softmax_cross_entropy(xp, y, nullptr).loss - softmax_cross_entropy(xm, y, nullptr).loss) /
        2e-2;
    EXPECT_NEAR(fd, pg[i], 1e-4) << i;
  }
}

TEST(TrainLoss, StableForHugeLogits) {
  Tensor x = Tensor::from<float>({1, 2}, {1e4f, -1e4f});
  Tensor y = Tensor::from<int64_t>({1}, {1});
  Tensor g(DType::f32, {1, 2});
  LossResult r = softmax_cross_entropy(x, y, &g);
  EXPECT_NEAR(r.loss, 2e4, 1e-2);
  EXPECT_NEAR(g.data<float>()[0], 1.f, 1e-6);
  EXPECT_NEAR(g.data<float>()[1], -1.f, 1e-6);
}

TEST(TrainLoss, LabelOutOfRangeIsInvalidInput) {
  Tensor x(DType::f32, {2, 10});
  try {
    softmax_cross_entropy(x, Tensor::from<int64_t>({2}, {3, 10}), nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    EXPECT_NE(e.status().message.find("label 10 of sample 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(softmax_cross_entropy(x, Tensor::from<int64_t>({2}, {-1, 0}), nullptr), Error);
  EXPECT_THROW(softmax_cross_entropy(x, Tensor::from<int64_t>({3}, {0, 0, 0}), nullptr), Error);
}

TEST(TrainLoss, NanLogitsGiveNanLoss) {
  Tensor x = Tensor::from<float>({1, 2}, {std::nanf(""), 0.f});
  LossResult r = softmax_cross_entropy(x, Tensor::from<int64_t>({1}, {0}), nullptr);
  EXPECT_TRUE(std::isnan(r.loss));
}

}  // namespace
}  // namespace mpq::train
