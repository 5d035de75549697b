// NNI's own config_list snippet, verbatim, through the C++ API: QAT with weight and output
// quantization on conv1 (no "input" type, as NNI v2.2-2.4 configs were written) must record
// conv1's input range, so that the engine runs conv1 in int8.
#include <gtest/gtest.h>

#include <algorithm>

#include "mpq/model_speedup.h"
#include "mpq/qat_quantizer.h"
#include "quant/calibration_table.h"
#include "quant/config_list.h"
#include "train_nets.h"
#include "zoo/zoo.h"

namespace mpq {
namespace {

// The snippet NNI's speedup documentation uses, character for character.
const char* kSeedConfig =
    R"([{"quant_types": ["weight", "output"], "quant_bits": {"weight": 8, "output": 8}, )"
    R"("op_names": ["conv1"]}, {"quant_types": ["output"], "quant_bits": {"output": 8}, )"
    R"("op_names": ["relu1"]}])";

TEST(NniSeedConfig, WeightQuantizedLayerRecordsItsInputRangeAndBuildsInt8) {
  testing::one_thread();
  auto model = zoo::build_zoo_model("mnist_naive").graph;
  QatOptions o;
  o.quiet = true;
  QatQuantizer q(*model, quant::ConfigList::parse_string(kSeedConfig), SGD{.lr = 0.01}, o);
  q.compress();
  // The input is tracked, not fake-quantized: conv1 weight, conv1 output, relu1 output.
  int fq = 0;
  for (const auto& n : q.qat_graph().nodes()) fq += n->op == OpKind::FakeQuantize;
  EXPECT_EQ(fq, 3);

  const Tensor x = testing::random_tensor({8, 1, 28, 28}, 5, 1.5f);
  const Tensor y = Tensor::from<int64_t>({8}, {0, 1, 2, 3, 4, 5, 6, 7});
  q.train_step(x, y);
  const std::vector<float> v = x.to_floats();
  const float lo = *std::min_element(v.begin(), v.end());
  const float hi = *std::max_element(v.begin(), v.end());

  quant::CalibrationTable t = q.export_model("", "");
  const quant::LayerPrecision& conv1 = t.layers.at("conv1");
  EXPECT_EQ(conv1.weight_bits, 8);
  EXPECT_EQ(conv1.output_bits, 8);
  EXPECT_EQ(conv1.input_bits, 0);  // NNI v2.4 exported the range without bits
  ASSERT_TRUE(conv1.tracked_min_input && conv1.tracked_max_input);
  EXPECT_FLOAT_EQ(*conv1.tracked_min_input, lo);  // step 1: the batch's range
  EXPECT_FLOAT_EQ(*conv1.tracked_max_input, hi);
  // conv1 reads the model input: its tracked range is the model input's range.
  ASSERT_EQ(t.tensors.count("input"), 1u);
  EXPECT_FLOAT_EQ(t.tensors.at("input").min, lo);
  EXPECT_FLOAT_EQ(t.tensors.at("input").max, hi);
  EXPECT_FALSE(t.layers.at("relu1").tracked_min_input.has_value());

  // A second step moves the range by NNI's EMA.
  const Tensor x2 = testing::random_tensor({8, 1, 28, 28}, 6, 0.5f);
  q.train_step(x2, y);
  const std::vector<float> v2 = x2.to_floats();
  const float lo2 = 0.99f * lo + 0.01f * *std::min_element(v2.begin(), v2.end());
  quant::CalibrationTable t2 = q.export_model("", "");
  EXPECT_NEAR(*t2.layers.at("conv1").tracked_min_input, lo2, 1e-6);

  ModelSpeedup speed(q.float_graph(), {8, 1, 28, 28}, t2, {.batch_size = 8, .backend = "cpu"});
  speed.compress();
  bool conv1_int8 = false;
  for (const auto& l : speed.manifest().layers)
    if (l.module_path == "conv1" && l.op.find("Conv") != std::string::npos)
      conv1_int8 = l.executed == Precision::kInt8;
  EXPECT_TRUE(conv1_int8) << speed.manifest().to_table();
  EXPECT_EQ(speed.inference(x).output.shape(), (Shape{8, 10}));
}

}  // namespace
}  // namespace mpq
