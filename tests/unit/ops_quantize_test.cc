// QuantizeLinear / DequantizeLinear: rounding half to even, saturation, per-tensor and per-axis,
// default uint8 output, and the round trip.
#include "op_harness.h"

namespace mpq {
namespace {

using testing::error_code;
using testing::infer_op;
using testing::run_op;

TEST(OpsQuantize, RoundsHalfToEvenAndSaturates) {
  Tensor x =
      Tensor::from<float>({9}, {2.5f, -2.5f, 3.5f, -3.5f, 0.5f, 1.49f, 200.f, -200.f, -0.5f});
  Tensor q =
      run_op({OpKind::QuantizeLinear, {x, Tensor::scalar(1.f), Tensor::from<int8_t>({}, {0})}})[0];
  ASSERT_EQ(q.dtype(), DType::i8);
  EXPECT_EQ(q.to_int64s(), (std::vector<int64_t>{2, -2, 4, -4, 0, 1, 127, -128, 0}));
  // Scale 2, zero point 128, uint8 (ONNX test_quantizelinear): 3/2 = 1.5 -> 2, -254/2 -> -127.
  Tensor x2 = Tensor::from<float>({6}, {0.f, 2.f, 3.f, 1000.f, -254.f, -1000.f});
  Tensor q2 = run_op(
      {OpKind::QuantizeLinear, {x2, Tensor::scalar(2.f), Tensor::from<uint8_t>({}, {128})}})[0];
  ASSERT_EQ(q2.dtype(), DType::u8);
  EXPECT_EQ(q2.to_int64s(), (std::vector<int64_t>{128, 129, 130, 255, 1, 0}));
  // No zero point: uint8 with zero point 0.
  Tensor q3 = run_op({OpKind::QuantizeLinear,
                      {Tensor::from<float>({3}, {-1.f, 0.25f, 0.75f}), Tensor::scalar(0.5f)}})[0];
  ASSERT_EQ(q3.dtype(), DType::u8);
  EXPECT_EQ(q3.to_int64s(), (std::vector<int64_t>{0, 0, 2}));  // 0.5 -> 0, 1.5 -> 2
  ASSERT_TRUE(q2.quant());
  EXPECT_EQ(q2.quant()->scale, (std::vector<float>{2.f}));
  EXPECT_EQ(q2.quant()->zero_point, (std::vector<int32_t>{128}));
}

TEST(OpsQuantize, PerAxis) {
  // ONNX test_quantizelinear_axis: x [1,3,3,2], scale/zero point per channel on axis 1.
  Tensor x = Tensor::from<float>({1, 3, 3, 2}, {-162, 10, -100, 232, -20, -50, -76, 0, 0, 252, 32,
                                                -44, 245, 485, -960, -270, -375, -470});
  Tensor scale = Tensor::from<float>({3}, {2, 4, 5});
  Tensor zp = Tensor::from<uint8_t>({3}, {84, 24, 196});
  Tensor q = run_op({OpKind::QuantizeLinear, {x, scale, zp}})[0];
  EXPECT_EQ(q.to_int64s(), (std::vector<int64_t>{3, 89, 34, 200, 74, 59, 5, 24, 24, 87, 32, 13, 245,
                                                 255, 4, 142, 121, 102}));
  Tensor y = run_op({OpKind::DequantizeLinear, {q, scale, zp}})[0];
  EXPECT_EQ(y.to_floats(), (std::vector<float>{-162, 10, -100, 232, -20, -50, -76, 0, 0, 252, 32,
                                               -44, 245, 295, -960, -270, -375, -470}));
  // axis 0 of a [2,2] int8 tensor, symmetric weights.
  Tensor w = Tensor::from<float>({2, 2}, {0.5f, -1.f, 10.f, -30.f});
  Attributes a;
  a.set("axis", int64_t{0});
  Tensor wq =
      run_op({OpKind::QuantizeLinear,
              {w, Tensor::from<float>({2}, {0.01f, 0.25f}), Tensor::from<int8_t>({2}, {0, 0})},
              a})[0];
  EXPECT_EQ(wq.to_int64s(), (std::vector<int64_t>{50, -100, 40, -120}));
  EXPECT_EQ(wq.quant()->axis, 0);
  std::string msg;
  EXPECT_EQ(error_code(
                [&] {
                  infer_op({OpKind::QuantizeLinear, {x, Tensor::from<float>({2}, {1, 1})}});
                },
                &msg),
            Code::kInvalidInput);
  EXPECT_NE(msg.find("scale has 2 values"), std::string::npos) << msg;
}

TEST(OpsQuantize, DequantizeTypes) {
  Tensor q = Tensor::from<int8_t>({3}, {-128, 0, 127});
  EXPECT_EQ(run_op({OpKind::DequantizeLinear,
                    {q, Tensor::scalar(0.5f), Tensor::from<int8_t>({}, {-1})}})[0]
                .to_floats(),
            (std::vector<float>{-63.5f, 0.5f, 64.f}));
  Tensor acc = Tensor::from<int32_t>({2}, {-1000, 3});
  EXPECT_EQ(run_op({OpKind::DequantizeLinear, {acc, Tensor::scalar(0.25f)}})[0].to_floats(),
            (std::vector<float>{-250.f, 0.75f}));
  EXPECT_EQ(error_code([&] {
              infer_op({OpKind::DequantizeLinear,
                        {q, Tensor::scalar(1.f), Tensor::from<uint8_t>({}, {0})}});
            }),
            Code::kInvalidInput);
  EXPECT_EQ(error_code([&] {
              infer_op({OpKind::DequantizeLinear, {Tensor::scalar(1.f), Tensor::scalar(1.f)}});
            }),
            Code::kInvalidInput);
}

TEST(OpsQuantize, RoundTripErrorIsAtMostHalfAStep) {
  std::mt19937 rng(3);
  Tensor x = testing::random_tensor({64}, rng, -3.f, 3.f);
  const float scale = 6.f / 255.f;
  Tensor q = run_op(
      {OpKind::QuantizeLinear, {x, Tensor::scalar(scale), Tensor::from<uint8_t>({}, {128})}})[0];
  Tensor y = run_op(
      {OpKind::DequantizeLinear, {q, Tensor::scalar(scale), Tensor::from<uint8_t>({}, {128})}})[0];
  auto xv = x.to_floats(), yv = y.to_floats();
  for (size_t i = 0; i < xv.size(); ++i)
    if (xv[i] < 127 * scale) EXPECT_LE(std::abs(xv[i] - yv[i]), scale / 2 + 1e-6f) << i;
}

}  // namespace
}  // namespace mpq
