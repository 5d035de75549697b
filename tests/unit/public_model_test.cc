// mpq::Model and mpq::Trainer (include/mpq/model.h, trainer.h): the public handles over the graph
// and the float trainer. Input shapes as declared, bad input as mpq::Error with its code, an ONNX
// round trip, and a model that trains and then builds an engine at another batch size.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/rng.h"
#include "mpq/mpq.h"
#include "train/trainer.h"
#include "zoo/zoo.h"

namespace mpq {
namespace {

Code code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.status().code;
  }
  return Code::kOk;
}

TEST(PublicModel, ZooModelHasItsDeclaredInput) {
  Model m = Model::zoo("mnist_naive");
  EXPECT_EQ(m.num_inputs(), 1u);
  EXPECT_EQ(m.input_shape(), (Shape{-1, 1, 28, 28}));
  EXPECT_FALSE(m.input_name().empty());
  EXPECT_EQ(Model::zoo("mnist_naive", 8).input_shape(), (Shape{8, 1, 28, 28}));
}

TEST(PublicModel, BadInputIsAnErrorWithItsCode) {
  EXPECT_EQ(code_of([] { Model::load("/nonexistent/model.onnx"); }), Code::kNotFound);
  EXPECT_EQ(code_of([] { Model::zoo("no_such_model"); }), Code::kNotFound);
  Model m = Model::zoo("mnist_naive");
  EXPECT_EQ(code_of([&] { m.input_shape(1); }), Code::kInvalidInput);
}

TEST(PublicModel, SavesAndLoadsAsOnnx) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "mpq_public_model_test.onnx").string();
  Model::zoo("lenet5").save(path);
  Model back = Model::load(path);
  EXPECT_EQ(back.input_shape(), (Shape{-1, 1, 28, 28}));
  std::filesystem::remove(path);
}

TEST(PublicTrainer, TrainsAndGivesTheModelItsInputShapeBack) {
  Model m = Model::zoo("mnist_naive");
  Tensor x(DType::f32, {16, 1, 28, 28});
  Tensor labels(DType::i64, {16});
  Rng rng(3);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(rng.normal());
  for (int64_t i = 0; i < 16; ++i) labels.data<int64_t>()[i] = i % 10;

  Trainer trainer(m, {.optimizer = SGD{.lr = 0.01, .momentum = 0.5}, .quiet = true});
  // The library's own trainer on the same weights: restoring the input shape between steps must
  // not change what training computes.
  auto same = zoo::build_zoo_model("mnist_naive").graph;
  train::Trainer internal(*same, {.optimizer = SGD{.lr = 0.01, .momentum = 0.5}, .quiet = true});
  const TrainStats first = trainer.train_step(x, labels);
  EXPECT_TRUE(std::isfinite(first.loss));
  EXPECT_EQ(first.samples, 16);
  EXPECT_EQ(m.input_shape(), (Shape{-1, 1, 28, 28}));  // not left at the batch of 16
  EXPECT_EQ(first.loss, internal.train_step(x, labels).loss);
  double last = first.loss;
  for (int i = 0; i < 5; ++i) {
    last = trainer.train_step(x, labels).loss;
    EXPECT_EQ(last, internal.train_step(x, labels).loss) << "step " << i + 2;
  }
  EXPECT_LT(last, first.loss);
  EXPECT_EQ(trainer.predict(x).shape(), (Shape{16, 10}));

  // The trained model builds an engine at another batch size, and it computes what predict does.
  ModelSpeedup speed(m, {4, 1, 28, 28}, {}, {.batch_size = 4});
  const Tensor engine_out = speed.inference(x).output;
  const std::vector<float> a = engine_out.to_floats(), b = trainer.predict(x).to_floats();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-3f * (1 + std::fabs(b[i])));
}

}  // namespace
}  // namespace mpq
