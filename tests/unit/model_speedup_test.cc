// mpq::ModelSpeedup (include/mpq/model_speedup.h): NNI's flow end to end on a zoo model —
// compress, inference over more rows than the batch (every row back, same values as running the
// batches directly), export/load round trip, NNI calibration config by path, and bad input.
#include "mpq/model_speedup.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "backends/reference/executor.h"
#include "core/rng.h"
#include "engine_test_util.h"
#include "frontend/onnx/exporter.h"
#include "mpq/mpq.h"
#include "zoo/zoo.h"

namespace mpq {
namespace {

namespace fs = std::filesystem;

Tensor random_input(Shape shape, uint64_t seed) {
  Tensor t(DType::f32, std::move(shape));
  Rng rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(rng.normal());
  return t;
}

// Per-tensor min/max over a reference run (what `mpq calibrate --method minmax` computes).
quant::CalibrationTable minmax_table(const Graph& g, const Tensor& x) {
  return testing::minmax_table(g, {x});
}

Tensor rows(const Tensor& x, int64_t begin, int64_t n) {
  Shape s = x.shape();
  s[0] = n;
  Tensor t(x.dtype(), s);
  const size_t row = x.nbytes() / static_cast<size_t>(x.dim(0));
  std::memcpy(t.raw(), static_cast<const char*>(x.raw()) + begin * row, n * row);
  return t;
}

class ModelSpeedupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = zoo::build_zoo_model("mnist_naive").graph;
    table_ = minmax_table(*model_, random_input({16, 1, 28, 28}, 9));
    dir_ = fs::temp_directory_path() / str("mpq_speedup_", ::getpid());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string f(const std::string& n) const { return (dir_ / n).string(); }

  std::unique_ptr<Graph> model_;
  quant::CalibrationTable table_;
  fs::path dir_;
};

TEST_F(ModelSpeedupTest, InferenceReturnsEveryRowAsTheBatchesDo) {
  ModelSpeedup speed(*model_, {16, 1, 28, 28}, table_,
                     {.batch_size = 16, .backend = "cpu", .default_precision = "int8"});
  EXPECT_FALSE(speed.compressed());
  EXPECT_GE(speed.compress(), 0.0);
  int int8 = 0;
  for (const auto& l : speed.manifest().layers) int8 += l.executed == Precision::kInt8;
  EXPECT_GE(int8, 4);
  const Tensor x = random_input({40, 1, 28, 28}, 1);  // 16 + 16 + 8: a partial last batch
  auto [output, seconds] = speed.inference(x);
  EXPECT_EQ(output.shape(), (Shape{40, 10}));
  EXPECT_GT(seconds, 0.0);
  runtime::ExecutionContext ctx(speed.engine());
  for (int64_t b : {0, 16, 32}) {
    const int64_t n = std::min<int64_t>(16, 40 - b);
    Tensor y = ctx.run({rows(x, b, n)})[0];
    EXPECT_EQ(std::memcmp(y.raw(), static_cast<const char*>(output.raw()) + b * 10 * 4, y.nbytes()),
              0)
        << "rows " << b;
  }
  // One row at a time gives the same as well (no padding with stale data).
  Tensor one = speed.inference(rows(x, 39, 1)).output;
  EXPECT_EQ(std::memcmp(one.raw(), static_cast<const char*>(output.raw()) + 39 * 40, 40), 0);
}

TEST_F(ModelSpeedupTest, Fp32MatchesTheReferenceAndInt8Agrees) {
  const Tensor x = random_input({24, 1, 28, 28}, 2);
  const std::vector<float> ref = ReferenceExecutor(*model_).run({x})[0].to_floats();
  ModelSpeedup fp32(*model_, {1, 1, 28, 28}, {}, {.batch_size = 8});
  const std::vector<float> y = fp32.inference(x).output.to_floats();
  ASSERT_EQ(y.size(), ref.size());
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-3f * (1 + std::fabs(ref[i])));
  ModelSpeedup int8(*model_, {1, 1, 28, 28}, table_,
                    {.batch_size = 8, .default_precision = "int8"});
  const std::vector<float> q = int8.inference(x).output.to_floats();
  int agree = 0;
  for (int r = 0; r < 24; ++r) {
    auto arg = [&](const std::vector<float>& v) {
      return std::max_element(v.begin() + r * 10, v.begin() + r * 10 + 10) - v.begin();
    };
    agree += arg(q) == arg(ref);
  }
  EXPECT_GE(agree, 20);  // int8 with min/max ranges of similar data keeps the top-1
}

TEST_F(ModelSpeedupTest, ExportAndLoadGiveTheSameOutputs) {
  const std::string onnx = f("m.onnx");
  export_onnx(*model_, onnx);
  // NNI's PTQ example config, as a file, by PyTorch module path.
  const std::string calib = f("calib.json");
  {
    std::ofstream o(calib);
    o << "{";
    const char* layers[] = {"conv1", "conv2", "fc1", "fc2"};
    const int bits[] = {8, 32, 16, 8};
    auto in_of = [&](const char* l) {
      for (const auto& n : model_->nodes())
        if (n->module_path == l) return n->inputs[0]->name;
      return std::string();
    };
    for (int i = 0; i < 4; ++i) {
      const auto& r = table_.tensors.at(in_of(layers[i]));
      o << (i ? "," : "") << "\"" << layers[i] << "\": {\"weight_bits\": " << bits[i]
        << ", \"output_bits\": " << bits[i] << ", \"tracked_min_input\": " << r.min
        << ", \"tracked_max_input\": " << r.max << "}";
    }
    o << "}";
  }
  SpeedupOptions opt{.batch_size = 32, .backend = "cpu", .default_precision = "fp32"};
  ModelSpeedup speed(onnx, {32, 1, 28, 28}, calib, opt);
  speed.compress();
  std::map<std::string, Precision> exec;
  for (const auto& l : speed.manifest().layers) exec[l.module_path] = l.executed;
  EXPECT_EQ(exec["conv1"], Precision::kInt8);
  EXPECT_EQ(exec["conv2"], Precision::kFp32);
  EXPECT_EQ(exec["fc1"], Precision::kBf16);
  EXPECT_EQ(exec["fc2"], Precision::kInt8);
  const Tensor x = random_input({50, 1, 28, 28}, 3);
  const Tensor y = speed.inference(x).output;
  speed.export_quantized_model(f("m.mpqe"));

  ModelSpeedup again(onnx, {32, 1, 28, 28}, calib, opt);
  again.load_quantized_model(f("m.mpqe"));
  EXPECT_TRUE(again.compressed());
  EXPECT_GT(again.load_ms(), 0.0);
  const Tensor y2 = again.inference(x).output;
  ASSERT_EQ(y2.shape(), y.shape());
  EXPECT_EQ(std::memcmp(y.raw(), y2.raw(), y.nbytes()), 0);

  // An engine of another model is refused unless forced.
  zoo::ZooModel lenet = zoo::build_zoo_model("lenet5");
  ModelSpeedup other(*lenet.graph, {1, 1, 28, 28}, {}, {.batch_size = 4});
  try {
    other.load_quantized_model(f("m.mpqe"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    EXPECT_NE(e.status().message.find("another model"), std::string::npos);
  }
  ModelSpeedup forced(*lenet.graph, {1, 1, 28, 28}, {}, {.batch_size = 4, .force = true});
  forced.load_quantized_model(f("m.mpqe"));
  EXPECT_EQ(forced.warnings().size(), 1u);
}

TEST_F(ModelSpeedupTest, BadInputIsAnErrorNamingWhatIsWrong) {
  auto code_of = [](auto&& fn) {
    Result<int> r = capture([&] {
      fn();
      return 0;
    });
    return r.status();
  };
  // Input shape disagreeing with the model.
  Status s = code_of([&] { ModelSpeedup(*model_, {1, 3, 28, 28}, {}, {}); });
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_NE(s.message.find("does not match the model input"), std::string::npos) << s.message;
  s = code_of([&] { ModelSpeedup(*model_, {1, 1, 28, 28}, {}, {.default_precision = "int4"}); });
  EXPECT_EQ(s.key, "default_precision");
  s = code_of([&] { ModelSpeedup(*model_, {1, 1, 28, 28}, "no_such_calib.json", {}); });
  EXPECT_EQ(s.code, Code::kNotFound);
  EXPECT_EQ(s.file, "no_such_calib.json");

  ModelSpeedup speed(*model_, {1, 1, 28, 28}, {}, {.batch_size = 4});
  s = code_of([&] { speed.inference(random_input({3, 1, 28, 27}, 1)); });
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_NE(s.message.find("f32[?,1,28,28]"), std::string::npos) << s.message;
  s = code_of([&] { speed.inference(Tensor(DType::u8, {3, 1, 28, 28})); });
  EXPECT_EQ(s.code, Code::kInvalidInput);
  // A table naming a layer that does not exist: the error lists near matches.
  quant::CalibrationTable t = table_;
  t.layers["conv3"].weight_bits = 8;
  ModelSpeedup bad(*model_, {1, 1, 28, 28}, t, {.batch_size = 4});
  s = code_of([&] { bad.compress(); });
  EXPECT_NE(s.code, Code::kOk);
  EXPECT_NE(s.to_string().find("conv"), std::string::npos) << s.to_string();
  s = code_of([&] { speed.load_quantized_model(f("missing.mpqe")); });
  EXPECT_EQ(s.code, Code::kNotFound);
}

}  // namespace
}  // namespace mpq
