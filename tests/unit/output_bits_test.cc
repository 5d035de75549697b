// output_bits honoured apart from weight_bits (NNI: set_output_type): conv1 with weight_bits 8
// and output_bits 32 (or 16) computes in int8 and writes an f32 (bf16 on the CPU) output,
// dequantized in its epilogue; its consumers then run float. With output_bits 8 it writes u8.
#include <gtest/gtest.h>

#include <cmath>

#include "backends/reference/executor.h"
#include "core/rng.h"
#include "engine_test_util.h"
#include "mpq/model_speedup.h"
#include "train_nets.h"
#include "zoo/zoo.h"

namespace mpq {
namespace {

class OutputBits : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::one_thread();
    model_ = zoo::build_zoo_model("mnist_naive").graph;
    x_ = Tensor(DType::f32, {16, 1, 28, 28});
    Rng rng(4);
    for (int64_t i = 0; i < x_.numel(); ++i) x_.data<float>()[i] = static_cast<float>(rng.normal());
    ranges_ = testing::minmax_table(*model_, {x_});
    reference_ = ReferenceExecutor(*model_).run({x_})[0].to_floats();
  }
  // Builds with conv1 at weight_bits 8 and the given output_bits; returns conv1's manifest row.
  plan::LayerReport build(int output_bits, std::vector<float>* out) {
    quant::CalibrationTable t = ranges_;
    t.layers["conv1"].weight_bits = 8;
    t.layers["conv1"].output_bits = output_bits;
    ModelSpeedup s(*model_, {16, 1, 28, 28}, t, {.batch_size = 16});
    s.compress();
    *out = s.inference(x_).output.to_floats();
    for (const auto& l : s.manifest().layers)
      if (l.module_path == "conv1") return l;
    ADD_FAILURE() << "no conv1 row";
    return {};
  }
  double error(const std::vector<float>& y) const {
    double e = 0;
    for (size_t i = 0; i < y.size(); ++i) e += std::fabs(y[i] - reference_[i]);
    return e / y.size();
  }

  std::unique_ptr<Graph> model_;
  Tensor x_;
  quant::CalibrationTable ranges_;
  std::vector<float> reference_;
};

TEST_F(OutputBits, Int8ComputeWithAFloatOutput) {
  std::vector<float> y8, y32, y16;
  const plan::LayerReport r8 = build(8, &y8), r32 = build(32, &y32), r16 = build(16, &y16);
  for (const auto* r : {&r8, &r32, &r16}) EXPECT_EQ(r->executed, Precision::kInt8);
  EXPECT_EQ(r8.output_dtype, "u8");
  EXPECT_EQ(r32.output_dtype, "f32");
  EXPECT_EQ(r16.output_dtype, "bf16");  // the CPU's 16-bit float
  EXPECT_NE(r32.reason.find("int8 compute, fp32 output (output_bits 32)"), std::string::npos)
      << r32.reason;
  // Dropping the output's quantization brings the engine closer to the float model.
  const double e8 = error(y8), e32 = error(y32), e16 = error(y16);
  EXPECT_LT(e32, e8);
  EXPECT_LT(e16, e8);
  EXPECT_LT(e32, 0.05) << e32;
}

}  // namespace
}  // namespace mpq
