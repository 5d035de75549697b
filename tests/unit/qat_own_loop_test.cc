// QAT in the user's own loop with any loss (NNI wraps the user's training loop): forward,
// backward from a user-supplied output gradient, step. The built-in losses' values and
// gradients; the loop with cross-entropy equals train_step; a regression model learns with MSE;
// a gradient of the wrong shape names both shapes.
#include <gtest/gtest.h>

#include "mpq/losses.h"
#include "mpq/qat_quantizer.h"
#include "quant/calibration_table.h"
#include "quant/config_list.h"
#include "train_nets.h"
#include "zoo/graph_builder.h"

namespace mpq {
namespace {

using testing::random_tensor;

TEST(QatOwnLoop, LossValuesAndGradients) {
  const Tensor y = Tensor::from<float>({2, 2}, {1.f, 2.f, 3.f, 4.f});
  const Tensor t = Tensor::from<float>({2, 2}, {0.f, 2.f, 5.f, 4.f});
  const Loss mse = mse_loss(y, t);
  EXPECT_DOUBLE_EQ(mse.value, 1.25);  // (1 + 0 + 4 + 0) / 4
  EXPECT_EQ(mse.grad.to_floats(), (std::vector<float>{0.5f, 0.f, -1.f, 0.f}));
  const Loss l1 = l1_loss(y, t);
  EXPECT_DOUBLE_EQ(l1.value, 0.75);
  EXPECT_EQ(l1.grad.to_floats(), (std::vector<float>{0.25f, 0.f, -0.25f, 0.f}));
  const Loss ce =
      cross_entropy_loss(Tensor::from<float>({1, 2}, {0.f, 0.f}), Tensor::from<int64_t>({1}, {1}));
  EXPECT_NEAR(ce.value, std::log(2.0), 1e-7);
  EXPECT_EQ(ce.grad.to_floats(), (std::vector<float>{0.5f, -0.5f}));
  try {
    mse_loss(y, Tensor::from<float>({4}, {0.f, 0.f, 0.f, 0.f}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.status().message.find("the target is f32[4] but the model output is f32[2,2]"),
              std::string::npos)
        << e.what();
  }
}

const char* kConfig = R"([
  {"quant_types": ["input", "weight"], "quant_bits": 8, "op_names": ["conv", "fc"]},
  {"quant_types": ["output"], "quant_bits": 8, "op_names": ["relu"]}
])";

TEST(QatOwnLoop, CrossEntropyLoopEqualsTrainStep) {
  auto g = testing::small_net();
  QatOptions o;
  o.quiet = true;
  QatQuantizer a(*g, quant::ConfigList::parse_string(kConfig), SGD{.lr = 0.1, .momentum = 0.5}, o);
  QatQuantizer b(*g, quant::ConfigList::parse_string(kConfig), SGD{.lr = 0.1, .momentum = 0.5}, o);
  const Tensor y = Tensor::from<int64_t>({4}, {0, 1, 2, 3});
  for (uint32_t i = 0; i < 3; ++i) {
    const Tensor x = random_tensor({4, 2, 6, 6}, 20 + i);
    a.train_step(x, y);
    const Tensor& out = b.forward(x);
    const Loss l = cross_entropy_loss(out, y);
    b.backward(l.grad);
    b.step();
  }
  EXPECT_EQ(b.steps(), 3);
  for (const char* w : {"conv.w", "fc.w", "bn.scale", "bn.var"})
    EXPECT_EQ(a.float_graph().find_value(w)->constant->to_floats(),
              b.float_graph().find_value(w)->constant->to_floats())
        << w;
  const quant::CalibrationTable ta = a.export_model("", ""), tb = b.export_model("", "");
  EXPECT_EQ(quant::calibration_table_to_json(ta), quant::calibration_table_to_json(tb));
}

// x[N, 8] -> fc1 (16) -> relu -> fc2 (1): y = sum of the inputs' first half minus the second.
std::unique_ptr<Graph> regression_net() {
  testing::one_thread();
  auto g = std::make_unique<Graph>();
  zoo::GraphBuilder b(*g, 5);
  Value* x = b.input("x", {-1, 8});
  Value* h = b.relu(b.linear(x, "fc1", 16), "relu");
  b.name_next("y");
  b.output(b.linear(h, "fc2", 1));
  return g;
}

Tensor regression_target(const Tensor& x) {
  Tensor t(DType::f32, {x.dim(0), 1});
  for (int64_t i = 0; i < x.dim(0); ++i) {
    float s = 0.f;
    for (int64_t k = 0; k < 8; ++k) s += (k < 4 ? 0.5f : -0.5f) * x.data<float>()[i * 8 + k];
    t.data<float>()[i] = s;
  }
  return t;
}

TEST(QatOwnLoop, RegressionLearnsWithMse) {
  auto g = regression_net();
  QatOptions o;
  o.quiet = true;
  QatQuantizer q(*g, quant::ConfigList::parse_string(R"([
      {"quant_types": ["input", "weight"], "quant_bits": 8, "op_types": ["Linear"]},
      {"quant_types": ["output"], "quant_bits": 8, "op_names": ["relu"]}])"),
                 SGD{.lr = 0.05, .momentum = 0.9}, o);
  const Tensor probe = random_tensor({64, 8}, 99);
  const double before = mse_loss(q.predict(probe), regression_target(probe)).value;
  for (uint32_t i = 0; i < 150; ++i) {
    const Tensor x = random_tensor({32, 8}, 100 + i);
    const Tensor& y = q.forward(x);
    q.backward(mse_loss(y, regression_target(x)).grad);
    q.step();
  }
  const double after = mse_loss(q.predict(probe), regression_target(probe)).value;
  EXPECT_LT(after, before / 10) << before << " -> " << after;
  EXPECT_EQ(q.steps(), 150);
  const quant::CalibrationTable t = q.export_model("", "");
  EXPECT_EQ(t.layers.at("fc2").input_bits, 8);
  EXPECT_EQ(t.layers.at("relu").output_bits, 8);
}

TEST(QatOwnLoop, MisuseIsAnErrorNamingTheShapes) {
  auto g = regression_net();
  QatOptions o;
  o.quiet = true;
  QatQuantizer q(*g,
                 quant::ConfigList::parse_string(
                     R"([{"quant_types": ["weight"], "quant_bits": 8, "op_names": ["fc1"]}])"),
                 SGD{}, o);
  auto status = [](auto f) {
    try {
      f();
    } catch (const Error& e) {
      return e.status();
    }
    return Status::Ok();
  };
  EXPECT_EQ(status([&] { q.backward(Tensor(DType::f32, {4, 1})); }).key, "output_grad");
  EXPECT_EQ(status([&] { q.step(); }).key, "step");
  q.forward(random_tensor({4, 8}, 1));
  const Status s = status([&] { q.backward(Tensor(DType::f32, {4, 2})); });
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_NE(s.message.find("the output gradient is f32[4,2] but the model output is f32[4,1]"),
            std::string::npos)
      << s.message;
  Tensor nan = Tensor::from<float>({4, 1}, {0.f, std::nanf(""), 0.f, 0.f});
  EXPECT_NE(status([&] { q.backward(nan); }).message.find("at element 1"), std::string::npos);
  q.backward(Tensor(DType::f32, {4, 1}));
  q.step();
  EXPECT_EQ(q.steps(), 1);
}

}  // namespace
}  // namespace mpq
