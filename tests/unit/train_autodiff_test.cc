// The whole autodiff against central differences: conv + batchnorm (training mode) + relu +
// maxpool + flatten + gemm + softmax cross-entropy, on oneDNN kernels and on the reference rules.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "gradcheck.h"
#include "ir/op_def.h"
#include "train/autodiff.h"
#include "train/loss.h"
#include "train_nets.h"

namespace mpq::train {
namespace {

using mpq::testing::mixed_net;
using mpq::testing::random_tensor;
using mpq::testing::small_net;

// Central differences of the softmax cross-entropy loss (accumulated in double) against the
// gradient of every element of every parameter.
int check_params_against_finite_differences(Autodiff& ad, const Tensor& x, const Tensor& y) {
  auto loss = [&]() {
    const Tensor& out = ad.forward(x, true);
    return softmax_cross_entropy(out, y, nullptr).loss;
  };
  const Tensor& out = ad.forward(x, true);
  softmax_cross_entropy(out, y, &ad.output_grad());
  ad.backward();
  const double h = 1e-3;
  int checked = 0;
  for (Param& p : ad.params()) {
    EXPECT_TRUE(p.has_grad) << p.value->name;
    if (!p.has_grad) continue;
    Tensor an = p.grad.clone();
    float* w = p.data.data<float>();
    for (int64_t i = 0; i < p.data.numel(); ++i) {
      const float keep = w[i];
      w[i] = keep + static_cast<float>(h);
      const double lp = loss();
      w[i] = keep - static_cast<float>(h);
      const double lm = loss();
      w[i] = keep;
      const double fd = (lp - lm) / (2 * h);
      const double a = an.data<float>()[i];
      EXPECT_NEAR(fd, a, 1e-3 + 1e-2 * std::abs(a)) << p.value->name << "[" << i << "]";
      ++checked;
    }
  }
  return checked;
}

void check_whole_graph(bool dnnl) {
  set_skip_cpu_train_kernels(!dnnl);
  auto g = small_net();
  Autodiff ad(*g);
  ASSERT_EQ(ad.params().size(), 6u);  // conv w/b, bn scale/bias, fc w/b (not the running stats)
  Tensor x = random_tensor({4, 2, 6, 6}, 21);
  Tensor y = Tensor::from<int64_t>({4}, {0, 3, 1, 2});
  EXPECT_EQ(check_params_against_finite_differences(ad, x, y), 3 * 2 * 9 + 3 + 3 + 3 + 4 * 27 + 4);
  set_skip_cpu_train_kernels(false);
}

TEST(TrainAutodiff, WholeGraphGradientMatchesFiniteDifferencesDnnl) {
  check_whole_graph(true);
}
TEST(TrainAutodiff, WholeGraphGradientMatchesFiniteDifferencesReference) {
  check_whole_graph(false);
}

// The remaining training rules (grouped dilated Conv, Clip, AveragePool, GlobalAveragePool,
// Softmax, Mul/Add/Sub with a residual, Concat, Reshape, MatMul, BN on the input) through the
// planned autodiff, with the oneDNN kernels and with the reference rules.
void check_mixed_graph(bool dnnl) {
  set_skip_cpu_train_kernels(!dnnl);
  auto g = mixed_net();
  Autodiff ad(*g);
  ad.set_profiling(true);
  ASSERT_EQ(ad.params().size(), 8u);
  Tensor x = random_tensor({3, 4, 5, 5}, 61, 1.5f, 0.5f);
  Tensor y = Tensor::from<int64_t>({3}, {4, 0, 2});
  EXPECT_EQ(check_params_against_finite_differences(ad, x, y),
            4 + 4 + 4 * 2 * 9 + 4 + 6 * 8 + 6 + 6 * 5 + 5);
  std::set<std::string> used;
  for (const auto& [k, t] : ad.timing()) used.insert(k);
  for (const char* k : {"dnnl.conv.bwd", "dnnl.pool.bwd", "dnnl.eltwise.bwd", "dnnl.batchnorm.bwd"})
    EXPECT_EQ(used.count(k), dnnl ? 1u : 0u) << k;
  set_skip_cpu_train_kernels(false);
}

TEST(TrainAutodiff, MixedGraphGradientMatchesFiniteDifferencesDnnl) {
  check_mixed_graph(true);
}
TEST(TrainAutodiff, MixedGraphGradientMatchesFiniteDifferencesReference) {
  check_mixed_graph(false);
}

// Training-mode BatchNormalization in the graph moves its running statistics by ONNX momentum
// 0.9 towards the batch mean and unbiased variance; eval mode leaves them alone.
TEST(TrainAutodiff, BatchNormRunningStatisticsUpdateInTrainingOnly) {
  for (bool dnnl : {true, false}) {
    set_skip_cpu_train_kernels(!dnnl);
    auto g = mixed_net();
    Autodiff ad(*g);
    Tensor x = random_tensor({3, 4, 5, 5}, 62, 1.5f, 0.5f);
    const std::vector<float> m0 = g->find_value("bn.mean")->constant->to_floats();
    const std::vector<float> v0 = g->find_value("bn.var")->constant->to_floats();
    ad.forward(x, false);
    EXPECT_EQ(g->find_value("bn.mean")->constant->to_floats(), m0);
    ad.forward(x, true);
    const std::vector<float> m1 = g->find_value("bn.mean")->constant->to_floats();
    const std::vector<float> v1 = g->find_value("bn.var")->constant->to_floats();
    const float* p = x.data<float>();
    const int64_t per = 25, n = 3 * per;
    for (int64_t c = 0; c < 4; ++c) {
      double s = 0, s2 = 0;
      for (int64_t b = 0; b < 3; ++b)
        for (int64_t i = 0; i < per; ++i) s += p[(b * 4 + c) * per + i];
      const double mean = s / n;
      for (int64_t b = 0; b < 3; ++b)
        for (int64_t i = 0; i < per; ++i) s2 += std::pow(p[(b * 4 + c) * per + i] - mean, 2);
      EXPECT_NEAR(m1[c], 0.9 * m0[c] + 0.1 * mean, 1e-5) << c << (dnnl ? " dnnl" : " reference");
      EXPECT_NEAR(v1[c], 0.9 * v0[c] + 0.1 * s2 / (n - 1), 1e-4) << c;
    }
  }
  set_skip_cpu_train_kernels(false);
}

// The oneDNN kernels and the reference rules agree on outputs and gradients, and training-mode
// BatchNormalization updates its running statistics in place.
TEST(TrainAutodiff, DnnlAndReferenceKernelsAgree) {
  std::vector<std::vector<float>> grads[2];
  std::vector<float> outs[2], stats[2];
  for (int mode = 0; mode < 2; ++mode) {
    set_skip_cpu_train_kernels(mode == 1);
    auto g = small_net();
    Autodiff ad(*g);
    Tensor x = random_tensor({5, 2, 6, 6}, 31);
    const Tensor& out = ad.forward(x, true);
    outs[mode] = out.to_floats();
    softmax_cross_entropy(out, Tensor::from<int64_t>({5}, {0, 1, 2, 3, 0}), &ad.output_grad());
    ad.backward();
    for (Param& p : ad.params()) grads[mode].push_back(p.grad.to_floats());
    stats[mode] = g->find_value("bn.var")->constant->to_floats();
  }
  set_skip_cpu_train_kernels(false);
  for (size_t i = 0; i < outs[0].size(); ++i) EXPECT_NEAR(outs[0][i], outs[1][i], 1e-4);
  for (size_t p = 0; p < grads[0].size(); ++p)
    for (size_t i = 0; i < grads[0][p].size(); ++i)
      EXPECT_NEAR(grads[0][p][i], grads[1][p][i], 1e-4 + 1e-3 * std::abs(grads[1][p][i]));
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(stats[0][c], stats[1][c], 1e-5);
    EXPECT_NE(stats[0][c], 1.f);  // moved from its initial value
  }
}

TEST(TrainAutodiff, EvalUsesRunningStatisticsAndBatchSizesReplan) {
  auto g = small_net();
  Autodiff ad(*g);
  Tensor x = random_tensor({3, 2, 6, 6}, 41);
  // Eval mode with mean 0 / var 1 equals the same net with the BN as an affine map.
  std::vector<float> a = ad.forward(x, false).to_floats();
  Tensor x1 = random_tensor({1, 2, 6, 6}, 41);
  std::memcpy(x1.raw(), x.raw(), x1.nbytes());
  std::vector<float> b = ad.forward(x1, false).to_floats();  // batch 1: another plan
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(a[k], b[k], 1e-5);
  EXPECT_EQ(g->find_value("bn.mean")->constant->to_floats()[0], 0.f);  // eval: no update
}

TEST(TrainAutodiff, DataShapeMismatchIsInvalidInput) {
  auto g = small_net();
  Autodiff ad(*g);
  try {
    ad.forward(Tensor(DType::f32, {2, 1, 6, 6}), true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    EXPECT_EQ(e.status().key, "x");
    EXPECT_NE(e.status().message.find("[2,1,6,6]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mpq::train
