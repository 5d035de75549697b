// Optimizers and LR schedules on hand-computed steps (PyTorch's update rules).
#include <gtest/gtest.h>

#include <cmath>

#include "train/optimizer.h"

namespace mpq::train {
namespace {

struct OneParam {
  Value v;
  std::vector<Param> params;
  explicit OneParam(std::vector<float> w) {
    v.name = "w";
    Param p;
    p.value = &v;
    p.data = Tensor::from<float>({static_cast<int64_t>(w.size())}, w);
    p.grad = Tensor(DType::f32, {static_cast<int64_t>(w.size())});
    params.push_back(p);
  }
  void grad(std::vector<float> g) {
    std::copy(g.begin(), g.end(), params[0].grad.data<float>());
    params[0].has_grad = true;
  }
  float w(int i) { return params[0].data.data<float>()[i]; }
};

TEST(TrainOptimizer, SgdMomentumMatchesHandComputedSteps) {
  OneParam p({1.0f, -2.0f});
  auto opt = make_optimizer(SGD{.lr = 0.1, .momentum = 0.5});
  p.grad({0.2f, 1.0f});
  opt->step(p.params);  // buf = g; w -= lr * buf
  EXPECT_FLOAT_EQ(p.w(0), 1.0f - 0.1f * 0.2f);
  EXPECT_FLOAT_EQ(p.w(1), -2.0f - 0.1f * 1.0f);
  p.grad({0.4f, -1.0f});
  opt->step(p.params);  // buf = 0.5*buf + g
  EXPECT_FLOAT_EQ(p.w(0), 0.98f - 0.1f * (0.5f * 0.2f + 0.4f));
  EXPECT_FLOAT_EQ(p.w(1), -2.1f - 0.1f * (0.5f * 1.0f - 1.0f));
}

TEST(TrainOptimizer, SgdNesterovAndWeightDecay) {
  OneParam p({2.0f});
  auto opt =
      make_optimizer(SGD{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
  p.grad({1.0f});
  opt->step(p.params);
  // d = 1 + 0.01*2 = 1.02; buf = 1.02; step = d + 0.9*buf = 1.938
  EXPECT_NEAR(p.w(0), 2.0f - 0.1f * 1.938f, 1e-6);
  const float w1 = p.w(0);
  p.grad({-0.5f});
  opt->step(p.params);
  const float d = -0.5f + 0.01f * w1;
  const float buf = 0.9f * 1.02f + d;
  EXPECT_NEAR(p.w(0), w1 - 0.1f * (d + 0.9f * buf), 1e-6);
}

TEST(TrainOptimizer, SgdSkipsParamsWithoutGradient) {
  OneParam p({3.0f});
  auto opt = make_optimizer(SGD{.lr = 1.0});
  p.params[0].has_grad = false;
  opt->step(p.params);
  EXPECT_EQ(p.w(0), 3.0f);
}

TEST(TrainOptimizer, AdamMatchesHandComputedSteps) {
  OneParam p({1.0f});
  auto opt = make_optimizer(Adam{.lr = 0.01});
  double m = 0, v = 0, w = 1.0;
  const float grads[] = {0.5f, -0.25f, 2.0f};
  for (int t = 1; t <= 3; ++t) {
    p.grad({grads[t - 1]});
    opt->step(p.params);
    m = 0.9 * m + 0.1 * grads[t - 1];
    v = 0.999 * v + 0.001 * grads[t - 1] * grads[t - 1];
    const double mh = m / (1 - std::pow(0.9, t)), vh = v / (1 - std::pow(0.999, t));
    w -= 0.01 * mh / (std::sqrt(vh) + 1e-8);
    EXPECT_NEAR(p.w(0), w, 1e-6) << "step " << t;
  }
  // The first Adam step moves every weight by about lr regardless of the gradient's scale.
  OneParam q({0.0f});
  auto o2 = make_optimizer(Adam{.lr = 0.01});
  q.grad({1e-3f});
  o2->step(q.params);
  EXPECT_NEAR(q.w(0), -0.01f, 1e-6);
}

TEST(TrainOptimizer, AdamWDecaysDecoupled) {
  OneParam p({1.0f});
  auto opt = make_optimizer(AdamW{.lr = 0.1, .weight_decay = 0.5});
  p.grad({0.0f});
  opt->step(p.params);  // zero gradient: only the decay acts
  EXPECT_NEAR(p.w(0), 1.0f * (1 - 0.1f * 0.5f), 1e-7);
  // Adam's L2 form instead feeds wd*w into the moments: a step of about lr.
  OneParam q({1.0f});
  auto o2 = make_optimizer(Adam{.lr = 0.1, .weight_decay = 0.5});
  q.grad({0.0f});
  o2->step(q.params);
  EXPECT_NEAR(q.w(0), 0.9f, 1e-6);
}

TEST(TrainOptimizer, BadSettingsNameTheKey) {
  try {
    make_optimizer(SGD{.lr = -1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().key, "lr");
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
  }
  EXPECT_THROW(make_optimizer(SGD{.lr = 0.1, .momentum = 1.5}), Error);
  EXPECT_THROW(make_optimizer(SGD{.lr = 0.1, .nesterov = true}), Error);
  EXPECT_THROW(make_optimizer(Adam{.beta2 = 1.0}), Error);
}

TEST(TrainLrSchedule, StepMultiStepCosine) {
  EXPECT_DOUBLE_EQ(LrSchedule::constant().at(0.1, 5, 0, 10), 0.1);
  auto st = LrSchedule::step(2, 0.5);
  EXPECT_DOUBLE_EQ(st.at(0.1, 1, 0, 10), 0.1);
  EXPECT_DOUBLE_EQ(st.at(0.1, 2, 0, 10), 0.05);
  EXPECT_DOUBLE_EQ(st.at(0.1, 5, 0, 10), 0.025);
  auto ms = LrSchedule::multi_step({1, 3}, 0.1);
  EXPECT_NEAR(ms.at(1.0, 0, 0, 10), 1.0, 1e-12);
  EXPECT_NEAR(ms.at(1.0, 1, 0, 10), 0.1, 1e-12);
  EXPECT_NEAR(ms.at(1.0, 3, 0, 10), 0.01, 1e-12);
  auto cs = LrSchedule::cosine(4, 0.0);
  EXPECT_NEAR(cs.at(1.0, 0, 0, 10), 1.0, 1e-12);
  EXPECT_NEAR(cs.at(1.0, 2, 0, 10), 0.5, 1e-12);
  EXPECT_NEAR(cs.at(1.0, 4, 0, 10), 0.0, 1e-12);
  auto ci = LrSchedule::cosine(20, 0.1, true);  // per iteration over 2 epochs of 10 steps
  EXPECT_NEAR(ci.at(1.0, 1, 0, 10), 0.1 + 0.9 * 0.5, 1e-12);
}

}  // namespace
}  // namespace mpq::train
