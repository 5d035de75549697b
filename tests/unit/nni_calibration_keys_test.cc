// NNI calibration configs of every version read as one table: ObserverQuantizer's weight ranges
// and integer ranges (v2.5+ names and the v2.4 ones), the v2.4 input_bit, and the values NNI's
// torch tensors turn into (a float zero point, a per-channel scale list).
#include <gtest/gtest.h>

#include "quant/calibration_table.h"

namespace mpq::quant {
namespace {

Status parse_status(const std::string& json) {
  try {
    parse_calibration_table(json, "nni.json");
  } catch (const Error& e) {
    return e.status();
  }
  return Status::Ok();
}

// ObserverQuantizer.export_model, v2.5-v2.10 names.
const char* kObserverV25 = R"({"conv1": {
  "weight_bits": 8, "tracked_max_weight": 0.254, "tracked_min_weight": -0.254,
  "tracked_qmin_weight": -127, "tracked_qmax_weight": 127,
  "input_bits": 8, "tracked_min_input": -0.4242, "tracked_max_input": 2.8215,
  "tracked_qmin_input": 0, "tracked_qmax_input": 127,
  "output_bits": 8, "tracked_min_output": -3.5, "tracked_max_output": 7.25,
  "tracked_qmin_output": 0, "tracked_qmax_output": 127}})";

// The same values under ObserverQuantizer v2.4's names.
const char* kObserverV24 = R"({"conv1": {
  "weight_bit": 8, "tracked_max_weight": 0.254, "tracked_min_weight": -0.254,
  "tracked_weight_qmin": -127, "tracked_weight_qmax": 127,
  "input_bit": 8, "tracked_min_input": -0.4242, "tracked_max_input": 2.8215,
  "tracked_input_qmin": 0, "tracked_input_qmax": 127,
  "activation_bit": 8, "tracked_min_activation": -3.5, "tracked_max_activation": 7.25,
  "tracked_activation_qmin": 0, "tracked_activation_qmax": 127}})";

void expect_observer_layer(const CalibrationTable& t) {
  ASSERT_EQ(t.layers.count("conv1"), 1u);
  const LayerPrecision& l = t.layers.at("conv1");
  EXPECT_EQ(l.weight_bits, 8);
  EXPECT_EQ(l.input_bits, 8);
  EXPECT_EQ(l.output_bits, 8);
  EXPECT_FLOAT_EQ(*l.tracked_min_weight, -0.254f);
  EXPECT_FLOAT_EQ(*l.tracked_max_weight, 0.254f);
  EXPECT_FLOAT_EQ(*l.tracked_min_input, -0.4242f);
  EXPECT_FLOAT_EQ(*l.tracked_max_input, 2.8215f);
  EXPECT_FLOAT_EQ(*l.tracked_min_output, -3.5f);
  EXPECT_FLOAT_EQ(*l.tracked_max_output, 7.25f);
  EXPECT_EQ(l.qrange_weight, std::make_pair(-127, 127));
  EXPECT_EQ(l.qrange_input, std::make_pair(0, 127));
  EXPECT_EQ(l.qrange_output, std::make_pair(0, 127));
}

TEST(NniCalibrationKeys, ObserverQuantizerV25Keys) {
  CalibrationTable t = parse_calibration_table(kObserverV25, "nni.json");
  EXPECT_EQ(t.origin, "nni-v2.5");
  expect_observer_layer(t);
}

TEST(NniCalibrationKeys, ObserverQuantizerV24NamesReadAsTheirV25Names) {
  CalibrationTable t = parse_calibration_table(kObserverV24, "nni.json");
  EXPECT_EQ(t.origin, "nni-v2.2");
  expect_observer_layer(t);
  // Written back (v2.5+ names) and read again: nothing lost.
  CalibrationTable back = parse_calibration_table(calibration_table_to_json(t), "back.json");
  expect_observer_layer(back);
  EXPECT_EQ(calibration_table_to_json(back), calibration_table_to_json(t));
}

// What nni_to_mpq.py writes for NNI's torch tensors: weight_zero_point tensor([97.]) becomes
// 97.0, a per-channel weight_scale [C,1,1,1] a list.
TEST(NniCalibrationKeys, TensorValuesAsListsAndIntegralFloats) {
  CalibrationTable t = parse_calibration_table(
      R"({"conv1": {"weight_bits": 8, "weight_scale": [0.0029, 0.0031],
          "weight_zero_point": [97.0, 0.0], "input_bits": 8, "tracked_min_input": -0.4242,
          "tracked_max_input": 2.8215}})",
      "nni.json");
  const LayerPrecision& l = t.layers.at("conv1");
  EXPECT_EQ(l.weight_scale, (std::vector<float>{0.0029f, 0.0031f}));
  EXPECT_EQ(l.weight_zero_point, (std::vector<int32_t>{97, 0}));
  EXPECT_EQ(parse_status(R"({"c": {"weight_bits": 8, "weight_scale": [0.1],
      "weight_zero_point": [97.5]}})")
                .key,
            "c.weight_zero_point[0]");
}

TEST(NniCalibrationKeys, BadVariantsNameTheKeyAsGiven) {
  Status s = parse_status(R"({"c": {"input_bit": 8, "input_bits": 8}})");
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_NE(s.message.find("both 'input_bit' and 'input_bits'"), std::string::npos) << s.message;
  s = parse_status(R"({"c": {"output_bits": 8, "tracked_qmin_output": 127,
      "tracked_qmax_output": 0}})");
  EXPECT_EQ(s.key, "c.tracked_qmin_output");
  EXPECT_NE(s.message.find("[127, 0] is empty"), std::string::npos) << s.message;
  s = parse_status(R"({"c": {"activation_bit": 8, "tracked_activation_qmin": 0}})");
  EXPECT_EQ(s.key, "c.tracked_activation_qmin");
  EXPECT_NE(s.message.find("without 'tracked_qmax_output'"), std::string::npos) << s.message;
  s = parse_status(R"({"c": {"weight_bit": 8, "tracked_min_weight": 0.5,
      "tracked_max_weight": -0.5}})");
  EXPECT_EQ(s.key, "c.tracked_min_weight");
  s = parse_status(R"({"c": {"input_bits": 8, "tracked_qmax_inpt": 127}})");
  EXPECT_EQ(s.key, "c.tracked_qmax_inpt");
  EXPECT_NE(s.message.find("did you mean 'tracked_qmax_input'"), std::string::npos) << s.message;
}

}  // namespace
}  // namespace mpq::quant
