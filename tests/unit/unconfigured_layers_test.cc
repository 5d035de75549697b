// NNI's precision for layers no config names: with a config, the faster of fp32 and 16-bit float
// as measured at build (SpeedupOptions::unconfigured = "fastest"; the manifest says which and
// why), or fp32; without any config, extra_layer_bits sets every layer.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/rng.h"
#include "engine_test_util.h"
#include "mpq/model_speedup.h"
#include "train_nets.h"
#include "zoo/zoo.h"

namespace mpq {
namespace {

class UnconfiguredLayers : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::one_thread();
    model_ = zoo::build_zoo_model("mnist_naive").graph;
    Tensor x(DType::f32, {8, 1, 28, 28});
    Rng rng(3);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(rng.normal());
    table_ = testing::minmax_table(*model_, {x});
    table_.layers["conv1"].weight_bits = 8;  // the only configured layer
    table_.layers["conv1"].output_bits = 8;
  }
  // Executed precision per module path of the weighted layers (conv1, conv2, fc1, fc2).
  static std::map<std::string, Precision> executed(const ModelSpeedup& s) {
    std::map<std::string, Precision> m;
    for (const auto& l : s.manifest().layers)
      if (l.op.find("Conv") != std::string::npos || l.op.find("Gemm") != std::string::npos)
        m[l.module_path] = l.executed;
    return m;
  }
  static std::string note(const ModelSpeedup& s, const std::string& prefix) {
    for (const auto& n : s.manifest().notes)
      if (n.rfind(prefix, 0) == 0) return n;
    return "";
  }

  std::unique_ptr<Graph> model_;
  quant::CalibrationTable table_;
};

TEST_F(UnconfiguredLayers, Fp32KeepsThemFp32) {
  ModelSpeedup s(*model_, {8, 1, 28, 28}, table_, {.batch_size = 8, .unconfigured = "fp32"});
  s.compress();
  auto ex = executed(s);
  EXPECT_EQ(ex["conv1"], Precision::kInt8);
  EXPECT_EQ(ex["conv2"], Precision::kFp32);
  EXPECT_EQ(ex["fc2"], Precision::kFp32);
  EXPECT_EQ(note(s, "unconfigured"), "");
}

TEST_F(UnconfiguredLayers, FastestTimesBothFloatsAndKeepsTheFaster) {
  ModelSpeedup s(*model_, {8, 1, 28, 28}, table_, {.batch_size = 8, .unconfigured = "fastest"});
  s.compress();
  const std::string n = note(s, "unconfigured: fastest float: ");
  ASSERT_FALSE(n.empty());
  // "unconfigured: fastest float: P for 4 unconfigured layer(s) (H t16 ms, fp32 t32 ms at ...)"
  const std::string chosen = n.substr(29, n.find(' ', 29) - 29);
  const size_t open = n.find("(", n.find("layer(s)") + 8);
  const std::string half = n.substr(open + 1, n.find(' ', open) - open - 1);
  const double t16 = std::atof(n.c_str() + n.find(' ', open) + 1);
  const double t32 = std::atof(n.c_str() + n.find("fp32 ", open) + 5);
  ASSERT_GT(t16, 0.0) << n;
  ASSERT_GT(t32, 0.0) << n;
  EXPECT_EQ(chosen, t16 < t32 ? half : "fp32") << n;
  EXPECT_NE(n.find("for 4 unconfigured layer(s)"), std::string::npos) << n;
  auto ex = executed(s);
  EXPECT_EQ(ex["conv1"], Precision::kInt8);  // configured layers are untouched
  for (const char* m : {"conv2", "fc1", "fc2"}) EXPECT_STREQ(precision_name(ex[m]), chosen.c_str());
}

TEST_F(UnconfiguredLayers, ExtraLayerBitsSetsEveryLayerOnlyWithoutAConfig) {
  ModelSpeedup all16(*model_, {8, 1, 28, 28}, {}, {.batch_size = 8, .extra_layer_bits = 16});
  all16.compress();
  for (const auto& [m, p] : executed(all16))
    EXPECT_TRUE(p == Precision::kBf16 || p == Precision::kFp16) << m;
  // With a config NNI ignores it; mpq says so.
  ModelSpeedup cfg(*model_, {8, 1, 28, 28}, table_, {.batch_size = 8, .extra_layer_bits = 16});
  cfg.compress();
  EXPECT_EQ(executed(cfg)["conv2"], Precision::kFp32);
  ASSERT_EQ(cfg.warnings().size(), 1u);
  EXPECT_NE(cfg.warnings()[0].find("extra_layer_bits 16 is ignored"), std::string::npos);
}

TEST_F(UnconfiguredLayers, BadChoicesAreErrorsNamingTheKey) {
  auto key_of = [&](SpeedupOptions o) {
    try {
      ModelSpeedup(*model_, {8, 1, 28, 28}, table_, o).compress();
    } catch (const Error& e) {
      return e.status().key;
    }
    return std::string("no error");
  };
  EXPECT_EQ(key_of({.batch_size = 8, .unconfigured = "fast"}), "unconfigured");
  EXPECT_EQ(key_of({.batch_size = 8, .default_precision = "fp32", .unconfigured = "fastest"}),
            "unconfigured");
  EXPECT_EQ(key_of({.batch_size = 8, .extra_layer_bits = 12}), "extra_layer_bits");
}

}  // namespace
}  // namespace mpq
