// --layer-precision 'conv1:int8,fc*:fp16': entries parsed, globs over node names and module
// paths applied over a calibration table (the last match wins), and patterns matching nothing
// rejected with near matches.
#include "api/layer_precision.h"

#include <gtest/gtest.h>

#include "zoo/zoo.h"

namespace mpq::api {
namespace {

TEST(LayerPrecision, ParsesEntries) {
  auto r = parse_layer_precisions("conv1:int8,fc*:fp16,/conv2/Conv:bf16,x:fp32", "k");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].pattern, "conv1");
  EXPECT_EQ(r[0].bits, 8);
  EXPECT_EQ(r[1].pattern, "fc*");
  EXPECT_EQ(r[1].bits, 16);
  EXPECT_EQ(r[2].pattern, "/conv2/Conv");
  EXPECT_EQ(r[2].bits, 16);
  EXPECT_EQ(r[3].bits, 32);
  for (const char* bad : {"conv1", "conv1:int4", ":int8", "conv1:int8,", ""}) {
    try {
      parse_layer_precisions(bad, "--layer-precision");
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.status().key, "--layer-precision") << bad;
    }
  }
}

TEST(LayerPrecision, GlobsSetBitsAndTheLastMatchWins) {
  auto g = zoo::build_zoo_model("mnist_naive").graph;
  quant::CalibrationTable t;
  t.layers["conv1"].weight_bits = 32;
  t.layers["conv1"].output_bits = 32;
  t.layers["conv1"].tracked_min_input = -1.f;
  t.layers["conv1"].tracked_max_input = 1.f;
  apply_layer_precisions(
      t, *g, parse_layer_precisions("conv1:int8,fc*:fp16,fc2:fp32,relu1:int8", "k"), "k");
  EXPECT_EQ(t.layers.at("conv1").weight_bits, 8);
  EXPECT_EQ(t.layers.at("conv1").output_bits, 0);  // a weighted layer's bits are its weight's
  EXPECT_EQ(*t.layers.at("conv1").tracked_max_input, 1.f);  // ranges are kept
  EXPECT_EQ(t.layers.at("fc1").weight_bits, 16);
  EXPECT_EQ(t.layers.at("fc2").weight_bits, 32);
  EXPECT_EQ(t.layers.at("relu1").output_bits, 8);  // weightless: its output
  EXPECT_EQ(t.layers.at("fc1").source, "layer-precision");
  EXPECT_EQ(t.layers.count("conv2"), 0u);
  try {
    apply_layer_precisions(t, *g, parse_layer_precisions("conv1:int8,relu_*:fp16", "k"), "k");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.status().message.find("'relu_*' matches no layer"), std::string::npos);
    EXPECT_NE(e.status().message.find("near matches: 'relu1'"), std::string::npos)
        << e.status().message;
  }
}

}  // namespace
}  // namespace mpq::api
