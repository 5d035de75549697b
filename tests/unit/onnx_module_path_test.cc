// Module paths from exporter scopes, repeated calls, parameter names and mpq's own tag.
#include <gtest/gtest.h>

#include "frontend/onnx/module_path.h"

namespace mpq::onnx_io {
namespace {

std::vector<std::string> paths(const std::vector<NodeNaming>& n) {
  return derive_module_paths(n);
}

TEST(ModulePath, FromTorchScopes) {
  // What torch 1.13 writes for torchvision resnet18 (BN folded: weights named onnx::Conv_*).
  auto p = paths({{"/conv1/Conv", "", {"onnx::Conv_193", "onnx::Conv_194"}},
                  {"/layer1/layer1.0/conv1/Conv", "", {"onnx::Conv_196"}},
                  {"/layer1/layer1.0/relu/Relu", "", {}},
                  {"/layer1/layer1.0/Add", "", {}},
                  {"/layer1/layer1.0/relu_1/Relu", "", {}},
                  {"/layer2/layer2.0/downsample/downsample.0/Conv", "", {"onnx::Conv_214"}},
                  {"/features/features.1/conv/conv.0/conv.0.0/Conv", "", {}},
                  {"/Flatten", "", {}},
                  {"/fc/Gemm", "", {"fc.weight", "fc.bias"}}});
  EXPECT_EQ(p, (std::vector<std::string>{"conv1", "layer1.0.conv1", "layer1.0.relu", "layer1.0",
                                         "layer1.0.relu", "layer2.0.downsample.0",
                                         "features.1.conv.0.0", "", "fc"}));
}

TEST(ModulePath, RepeatedCallSuffix) {
  // relu_1 without a relu scope is a module really named relu_1.
  EXPECT_EQ(paths({{"/blk/relu_1/Relu", "", {}}})[0], "blk.relu_1");
  // A module with weights is a second call only when both calls read the same weights.
  auto p = paths({{"/conv/Conv", "", {"onnx::Conv_1"}},
                  {"/conv_1/Conv", "", {"onnx::Conv_2"}},
                  {"/shared/Conv", "", {"onnx::Conv_3"}},
                  {"/shared_1/Conv", "", {"onnx::Conv_3"}}});
  EXPECT_EQ(p, (std::vector<std::string>{"conv", "conv_1", "shared", "shared"}));
}

TEST(ModulePath, FromParameterNamesWithoutScope) {
  // torch < 1.13 named nodes "Conv_0": the weight's name gives the module.
  auto p = paths({{"Conv_0", "", {"layer1.0.conv1.weight"}},
                  {"Relu_1", "", {}},
                  {"", "", {"1", "2"}},
                  {"Gemm_3", "", {"onnx::Gemm_7"}}});
  EXPECT_EQ(p, (std::vector<std::string>{"layer1.0.conv1", "", "", ""}));
  EXPECT_EQ(module_path_from_param("features.0.weight"), "features.0");
  EXPECT_EQ(module_path_from_param("weight"), "");
  EXPECT_EQ(module_path_from_param("input.1"), "");
}

TEST(ModulePath, ParameterCompletesAScopeThatSkipsAParent) {
  // A forward that calls self.block.conv directly: the scope says "conv", the weight says more.
  auto p = paths({{"/conv/Conv", "", {"block.conv.weight"}}});
  EXPECT_EQ(p[0], "block.conv");
}

TEST(ModulePath, MpqTagWins) {
  auto p = paths({{"/a/Conv", module_path_tag("x.y"), {"z.weight"}}});
  EXPECT_EQ(p[0], "x.y");
}

}  // namespace
}  // namespace mpq::onnx_io
