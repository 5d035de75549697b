// PTQ end to end on real Fashion-MNIST: a zoo model trained briefly by
// mpq's trainer, entropy calibration on 1000 training images through the default executor (the
// CPU fp32 engine), an int8 engine built from the table, and its test accuracy against the same
// model run by the fp32 engine. The longer-trained figures are benchmarks (bench/calib/).
#include <gtest/gtest.h>
#include <omp.h>

#include <filesystem>

#include "mpq/calibrator.h"
#include "runtime/engine.h"
#include "train/trainer.h"
#include "zoo/zoo.h"

namespace mpq {
namespace {

bool have_fashion_mnist() {
  return std::filesystem::exists(data::fashion_mnist_dir() + "/train-images-idx3-ubyte.gz");
}

std::unique_ptr<data::Dataset> fashion(const char* split, int64_t limit, const Shape& input) {
  data::DataSpec s;
  s.source = std::string("fashion-mnist:") + split;
  s.limit = limit;
  return data::open_dataset(s, input);
}

// Top-1 accuracy of an engine over a labeled dataset.
double engine_accuracy(std::shared_ptr<const runtime::Engine> e, const data::Dataset& ds) {
  runtime::ExecutionContext ctx(std::move(e));
  const int64_t bs = ctx.engine().max_batch();
  int64_t correct = 0;
  for (int64_t b = 0; b < ds.size(); b += bs) {
    const int64_t n = std::min(bs, ds.size() - b);
    std::vector<float> y = ctx.run({ds.images(b, n)})[0].to_floats();
    const Tensor labels = ds.labels(b, n);
    const int64_t classes = static_cast<int64_t>(y.size()) / n;
    for (int64_t i = 0; i < n; ++i) {
      auto row = y.begin() + i * classes;
      correct += std::max_element(row, row + classes) - row == labels.data<int64_t>()[i];
    }
  }
  return static_cast<double>(correct) / ds.size();
}

struct PtqCase {
  const char* model;
  int64_t train_images;
  OptimizerConfig optimizer;
  double min_float_accuracy;  // the training worked (the comparison means something)
};

// gtest prints a parameter with this (its bytes otherwise).
void PrintTo(const PtqCase& c, std::ostream* os) {
  *os << c.model;
}

class PtqAccuracy : public ::testing::TestWithParam<PtqCase> {};

TEST_P(PtqAccuracy, EntropyInt8EngineLosesAtMostOnePoint) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const PtqCase& c = GetParam();
  auto g = zoo::build_zoo_model(c.model).graph;
  const Shape input = g->inputs()[0]->shape;
  auto train_set = fashion("train", c.train_images, input);
  auto test_set = fashion("test", 2000, input);
  {
    train::TrainOptions o;
    o.quiet = true;
    o.optimizer = c.optimizer;
    train::Trainer t(*g, o);
    t.train_epoch(*train_set, 0);
  }
  // Calibration samples its own 1000 images (seeded) from the whole training split.
  auto calib_set = fashion("train", -1, input);
  Calibrator calib(*g, {.method = "entropy", .calib_images = 1000});
  const quant::CalibrationTable table = calib.calibrate(*calib_set);
  EXPECT_EQ(table.header.num_samples, 1000);

  plan::BuildOptions fp32;
  fp32.max_batch = 250;
  plan::BuildOptions int8 = fp32;
  int8.default_precision = Precision::kInt8;
  auto int8_engine = runtime::Engine::build(*g, &table, int8);
  int64_t int8_layers = 0, weighted = 0;
  for (const auto& l : int8_engine->manifest().layers) {
    const bool w = l.op.find("Conv") != std::string::npos || l.op.find("Gemm") != std::string::npos;
    weighted += w;
    int8_layers += w && l.executed == Precision::kInt8;
  }
  EXPECT_EQ(int8_layers, weighted) << "every convolution and Gemm runs int8";
  const double float_acc = engine_accuracy(runtime::Engine::build(*g, nullptr, fp32), *test_set);
  const double int8_acc = engine_accuracy(int8_engine, *test_set);
  std::cerr << c.model << ": fp32 engine " << float_acc << ", int8 engine " << int8_acc << "\n";
  EXPECT_GT(float_acc, c.min_float_accuracy);
  EXPECT_GE(int8_acc, float_acc - 0.01);
}

INSTANTIATE_TEST_SUITE_P(Fashion, PtqAccuracy,
                         ::testing::Values(PtqCase{"mnist_naive", 6400,
                                                   SGD{.lr = 0.01, .momentum = 0.5}, 0.7},
                                           PtqCase{"resnet18_cifar", 3200, Adam{.lr = 1e-3}, 0.6}),
                         [](const auto& info) { return std::string(info.param.model); });

}  // namespace
}  // namespace mpq
