// NNI's post-training path in ModelSpeedup: a PTQ dict {layer: {weight_bits, output_bits}} plus
// calibration data (calib_data, calibrate_type, calibration_cache) builds the engine in one call;
// the cache is reused only for the same model, data and options; bad dicts and methods are
// refused before calibrating.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/rng.h"
#include "data/npy.h"
#include "mpq/model_speedup.h"
#include "runtime/calibrator.h"
#include "train_nets.h"
#include "zoo/zoo.h"

namespace mpq {
namespace {

namespace fs = std::filesystem;

class PtqSpeedup : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::one_thread();
    model_ = zoo::build_zoo_model("mnist_naive").graph;
    dir_ = fs::temp_directory_path() / str("mpq_ptq_", ::getpid());
    fs::create_directories(dir_);
    x_ = Tensor(DType::f32, {64, 1, 28, 28});
    Rng rng(8);
    for (int64_t i = 0; i < x_.numel(); ++i) x_.data<float>()[i] = static_cast<float>(rng.normal());
    data::write_npy(f("x.npy"), x_);
    dict_ = quant::parse_calibration_table(
        R"({"conv1": {"weight_bits": 8, "output_bits": 8}, "fc2": {"weight_bits": 8,
            "output_bits": 8}})",
        "ptq.json");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string f(const std::string& n) const { return (dir_ / n).string(); }
  SpeedupOptions options(const std::string& method = "minmax") const {
    return {.batch_size = 16,
            .calib_data = f("x.npy"),
            .calibrate_type = method,
            .calibration_cache = f("cache.json"),
            .calib_images = 32};
  }
  static std::string note(const ModelSpeedup& s) {
    for (const auto& n : s.manifest().notes)
      if (n.find("calibrat") != std::string::npos) return n;
    return "";
  }

  std::unique_ptr<Graph> model_;
  fs::path dir_;
  Tensor x_;
  quant::CalibrationTable dict_;
};

TEST_F(PtqSpeedup, DictAndDataBuildOneEngineAndTheCacheIsKeyed) {
  ModelSpeedup s(*model_, {16, 1, 28, 28}, dict_, options());
  s.compress();
  std::map<std::string, Precision> ex;
  for (const auto& l : s.manifest().layers)
    if (l.op != "Reorder") ex[l.module_path] = l.executed;
  EXPECT_EQ(ex["conv1"], Precision::kInt8);
  EXPECT_EQ(ex["fc2"], Precision::kInt8);
  EXPECT_EQ(ex["conv2"], Precision::kFp32);  // not in the dict
  EXPECT_NE(note(s).find("calibrated on 32 images"), std::string::npos) << note(s);
  // The cache holds every tensor's range: the input's is the min/max of the 32 sampled images.
  const quant::CalibrationTable cache = quant::read_calibration_table(f("cache.json"));
  float lo = 1e30f, hi = -1e30f;
  for (int64_t i : quant::sample_indices(64, 32, 0))
    for (int64_t k = 0; k < 28 * 28; ++k) {
      lo = std::min(lo, x_.data<float>()[i * 784 + k]);
      hi = std::max(hi, x_.data<float>()[i * 784 + k]);
    }
  EXPECT_EQ(cache.tensors.at("input").min, lo);
  EXPECT_EQ(cache.tensors.at("input").max, hi);

  ModelSpeedup again(*model_, {16, 1, 28, 28}, dict_, options());
  again.compress();
  EXPECT_NE(note(again).find("reused it"), std::string::npos) << note(again);
  ModelSpeedup other(*model_, {16, 1, 28, 28}, dict_, options("percentile"));
  other.compress();
  EXPECT_NE(note(other).find("not used"), std::string::npos) << note(other);
}

TEST_F(PtqSpeedup, BadDictsAndMethodsAreRefusedBeforeCalibrating) {
  quant::CalibrationTable bad = quant::parse_calibration_table(
      R"({"conv_1": {"weight_bits": 8, "output_bits": 8}})", "ptq.json");
  try {
    ModelSpeedup(*model_, {16, 1, 28, 28}, bad, options()).compress();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.status().message.find("near matches: 'conv1'"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(f("cache.json")));  // nothing calibrated
  try {
    ModelSpeedup(*model_, {16, 1, 28, 28}, dict_, options("kl")).compress();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().key, "calibrate_type");
  }
  data::write_npy(f("small.npy"), Tensor(DType::f32, {4, 1, 27, 27}));
  SpeedupOptions o = options();
  o.calib_data = f("small.npy");
  try {
    ModelSpeedup(*model_, {16, 1, 28, 28}, dict_, o).compress();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.status().message.find("[1,27,27] cannot feed the model input"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace mpq
