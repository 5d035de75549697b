// NNI's scale/zero-point formulas (nni.md §2.2) on hand-computed cases for each dtype x scheme,
// and the quantize step's rounding and saturation.
#include "core/quant_math.h"

#include <gtest/gtest.h>

#include "backends/reference/executor.h"
#include "ir/op_def.h"

namespace mpq::quant {
namespace {

TEST(QuantMath, Ranges) {
  EXPECT_EQ(quant_range(8, QuantDtype::kInt).qmin, -127);  // narrow, as NNI
  EXPECT_EQ(quant_range(8, QuantDtype::kInt).qmax, 127);
  EXPECT_EQ(quant_range(8, QuantDtype::kUint).qmin, 0);
  EXPECT_EQ(quant_range(8, QuantDtype::kUint).qmax, 255);
  EXPECT_EQ(quant_range(4, QuantDtype::kInt).qmax, 7);
  EXPECT_EQ(quant_range(16, QuantDtype::kUint).qmax, 65535);
  EXPECT_EQ(quant_range(32, QuantDtype::kUint).qmax, 4294967295LL);
  EXPECT_THROW(quant_range(0, QuantDtype::kInt), Error);
  EXPECT_THROW(quant_range(33, QuantDtype::kUint), Error);
}

TEST(QuantMath, UintAffine) {
  // [-1, 3]: scale 4/255; zp = 0 - round(-1 / (4/255)) = -round(-63.75) = 64.
  auto s = compute_scale_zero_point(-1.f, 3.f, 8, QuantDtype::kUint, false);
  EXPECT_FLOAT_EQ(s.scale, 4.f / 255.f);
  EXPECT_EQ(s.zero_point, 64);
}

TEST(QuantMath, IntAffine) {
  // [-1, 4]: scale 5/254; -1/scale = -50.8 -> -51; zp = -127 + 51 = -76.
  auto s = compute_scale_zero_point(-1.f, 4.f, 8, QuantDtype::kInt, false);
  EXPECT_FLOAT_EQ(s.scale, 5.f / 254.f);
  EXPECT_EQ(s.zero_point, -76);
}

TEST(QuantMath, IntSymmetric) {
  // max(|-1|, |3|) / ((127 - -127) / 2) = 3/127, zp 0.
  auto s = compute_scale_zero_point(-1.f, 3.f, 8, QuantDtype::kInt, true);
  EXPECT_FLOAT_EQ(s.scale, 3.f / 127.f);
  EXPECT_EQ(s.zero_point, 0);
}

TEST(QuantMath, UintSymmetric) {
  // 3 / (255/2) = 3/127.5; zp = (0 + 255) // 2 = 127.
  auto s = compute_scale_zero_point(-1.f, 3.f, 8, QuantDtype::kUint, true);
  EXPECT_FLOAT_EQ(s.scale, 3.f / 127.5f);
  EXPECT_EQ(s.zero_point, 127);
}

TEST(QuantMath, RangeWidenedToContainZero) {
  // [2, 6] -> [0, 6]: scale 6/255, zp 0 (uint affine); [-6, -2] -> [-6, 0]: zp 255.
  auto s = compute_scale_zero_point(2.f, 6.f, 8, QuantDtype::kUint, false);
  EXPECT_FLOAT_EQ(s.scale, 6.f / 255.f);
  EXPECT_EQ(s.zero_point, 0);
  auto t = compute_scale_zero_point(-6.f, -2.f, 8, QuantDtype::kUint, false);
  EXPECT_FLOAT_EQ(t.scale, 6.f / 255.f);
  EXPECT_EQ(t.zero_point, 255);
}

TEST(QuantMath, AllZeroRangeGetsUnitScale) {
  auto s = compute_scale_zero_point(0.f, 0.f, 8, QuantDtype::kUint, false);
  EXPECT_EQ(s.scale, 1.f);
  EXPECT_EQ(s.zero_point, 0);
  EXPECT_EQ(fake_quantize_value(0.f, s.scale, s.zero_point, quant_range(8, QuantDtype::kUint)),
            0.f);
}

TEST(QuantMath, BadRangesAreRejected) {
  EXPECT_THROW(compute_scale_zero_point(NAN, 1.f, 8, QuantDtype::kInt, true), Error);
  EXPECT_THROW(compute_scale_zero_point(0.f, INFINITY, 8, QuantDtype::kInt, true), Error);
  EXPECT_THROW(compute_scale_zero_point(2.f, 1.f, 8, QuantDtype::kInt, true), Error);
  EXPECT_THROW(compute_scale_zero_point(-1.f, 1.f, 1, QuantDtype::kInt, true), Error);  // one level
}

TEST(QuantMath, PerChannelSymmetricWeights) {
  Tensor w = Tensor::from<float>({2, 2}, {-1.f, 0.5f, 0.2f, 0.4f});
  auto q = tensor_quant_from_data(w, 8, QuantDtype::kInt, QuantScheme::kPerChannelSymmetric, 0);
  ASSERT_EQ(q.scale.size(), 2u);
  EXPECT_FLOAT_EQ(q.scale[0], 1.f / 127.f);
  EXPECT_FLOAT_EQ(q.scale[1], 0.4f / 127.f);
  EXPECT_EQ(q.axis, 0);
  auto v = quantize_tensor(w, q);
  EXPECT_EQ(v, (std::vector<int64_t>{-127, 64, 64, 127}));  // 63.5 -> 64 (half to even)
}

TEST(QuantMath, PerChannelAffineActivationsAxis1) {
  // [N=2, C=2, 1]: channel 0 holds {0, 2, 1, 3} -> [0,3]; channel 1 holds {-1, 1, -2, 0}.
  Tensor x = Tensor::from<float>({2, 2, 1}, {0.f, -1.f, 3.f, -2.f});
  auto q = tensor_quant_from_data(x, 8, QuantDtype::kUint, QuantScheme::kPerChannelAffine, 1);
  ASSERT_EQ(q.scale.size(), 2u);
  EXPECT_FLOAT_EQ(q.scale[0], 3.f / 255.f);
  EXPECT_EQ(q.zero_point[0], 0);
  EXPECT_FLOAT_EQ(q.scale[1], 2.f / 255.f);
  EXPECT_EQ(q.zero_point[1], 255);
  auto y = fake_quantize(x, q).to_floats();
  EXPECT_EQ(y[0], 0.f);  // range ends are exact
  EXPECT_EQ(y[2], 3.f);
  EXPECT_EQ(y[3], -2.f);
  EXPECT_NEAR(y[1], -1.f, q.scale[1] / 2);
}

// The other two per-channel combinations, at 4 bits (int: [-7, 7], uint: [0, 15]).
TEST(QuantMath, PerChannelIntAffineWeightsFourBits) {
  // Channel 0 [-1, 2]: scale 3/14, zp = -7 - round(-4.67) = -2. Channel 1 [0.3, 0.9] widened to
  // [0, 0.9]: scale 0.9/14, zp = -7 - round(0) = -7.
  Tensor w = Tensor::from<float>({2, 3}, {-1.f, 0.5f, 2.f, 0.3f, 0.6f, 0.9f});
  auto q = tensor_quant_from_data(w, 4, QuantDtype::kInt, QuantScheme::kPerChannelAffine, 0);
  ASSERT_EQ(q.scale.size(), 2u);
  EXPECT_FLOAT_EQ(q.scale[0], 3.f / 14.f);
  EXPECT_EQ(q.zero_point[0], -2);
  EXPECT_FLOAT_EQ(q.scale[1], 0.9f / 14.f);
  EXPECT_EQ(q.zero_point[1], -7);
  // -4.67 -> -5, 2.33 -> 2, 9.33 -> 9 (+ zp -2); 4.67 -> 5, 9.33 -> 9, 14 (+ zp -7).
  EXPECT_EQ(quantize_tensor(w, q), (std::vector<int64_t>{-7, 0, 7, -2, 2, 7}));
}

TEST(QuantMath, PerChannelUintSymmetricActivationsFourBits) {
  // [N=2, C=2, 1]: channel 0 {-3, 1.5}: scale 3 / 7.5 = 0.4; channel 1 {0.5, -0.2}: scale
  // 0.5 / 7.5; zp = (0 + 15) // 2 = 7 for both.
  Tensor x = Tensor::from<float>({2, 2, 1}, {-3.f, 0.5f, 1.5f, -0.2f});
  auto q = tensor_quant_from_data(x, 4, QuantDtype::kUint, QuantScheme::kPerChannelSymmetric, 1);
  ASSERT_EQ(q.scale.size(), 2u);
  EXPECT_FLOAT_EQ(q.scale[0], 0.4f);
  EXPECT_FLOAT_EQ(q.scale[1], 0.5f / 7.5f);
  EXPECT_EQ(q.zero_point, (std::vector<int64_t>{7, 7}));
  const std::vector<int64_t> v = quantize_tensor(x, q);
  EXPECT_EQ(v[0], 0);   // -7.5 + 7 saturates at qmin: uint symmetric loses its most negative level
  EXPECT_EQ(v[2], 11);  // 3.75 -> 4, + 7
  EXPECT_EQ(v[3], 4);   // -3 + 7
}

TEST(QuantMath, PerTensorSchemeIgnoresAxis) {
  Tensor w = Tensor::from<float>({2, 2}, {-1.f, 0.5f, 0.2f, 0.4f});
  auto q = tensor_quant_from_data(w, 8, QuantDtype::kInt, QuantScheme::kPerTensorSymmetric, 0);
  ASSERT_EQ(q.scale.size(), 1u);
  EXPECT_EQ(q.axis, -1);
  EXPECT_FLOAT_EQ(q.scale[0], 1.f / 127.f);
}

TEST(QuantMath, RoundHalfToEvenAndSaturate) {
  const QRange r = quant_range(8, QuantDtype::kInt);
  EXPECT_EQ(quantize_value(2.5f, 1.f, 0, r), 2);
  EXPECT_EQ(quantize_value(3.5f, 1.f, 0, r), 4);
  EXPECT_EQ(quantize_value(-2.5f, 1.f, 0, r), -2);
  EXPECT_EQ(quantize_value(200.f, 1.f, 0, r), 127);
  EXPECT_EQ(quantize_value(-300.f, 1.f, 0, r), -127);  // narrow range: never -128
  EXPECT_EQ(quantize_value(1e30f, 1e-30f, 0, r), 127);
  EXPECT_EQ(quantize_value(NAN, 1.f, 5, r), 5);
  // ONNX order: round(x/scale) + zp, so 0.5 with zp 1 gives 1 (NNI's round(1.5) would give 2).
  const QRange u = quant_range(8, QuantDtype::kUint);
  EXPECT_EQ(quantize_value(0.5f, 1.f, 1, u), 1);
  EXPECT_EQ(quantize_value(-10.f, 1.f, 3, u), 0);
  EXPECT_FLOAT_EQ(fake_quantize_value(0.26f, 0.1f, 3, u), 0.3f);
}

TEST(QuantMath, FakeQuantMatchesQuantizeThenDequantize) {
  auto s = compute_scale_zero_point(-0.7f, 2.3f, 8, QuantDtype::kUint, false);
  const QRange r = quant_range(8, QuantDtype::kUint);
  for (float x = -1.f; x < 3.f; x += 0.01f) {
    int64_t q = quantize_value(x, s.scale, s.zero_point, r);
    EXPECT_GE(q, 0);
    EXPECT_LE(q, 255);
    EXPECT_EQ(fake_quantize_value(x, s.scale, s.zero_point, r),
              dequantize_value(q, s.scale, s.zero_point));
    if (x >= -0.7f && x <= 2.3f)
      EXPECT_LE(std::fabs(dequantize_value(q, s.scale, s.zero_point) - x), s.scale * 0.5001f);
  }
}

}  // namespace
}  // namespace mpq::quant

namespace mpq::quant {
namespace {

// The graph's QuantizeLinear op (what an exported QDQ model and the engine's reference run) and
// quant_math's quantize_value agree; the one difference is int8's range: ONNX saturates at -128,
// NNI's narrow int at -127, so a value below -127.5 steps differs by one level.
TEST(QuantMath, AgreesWithQuantizeLinearOp) {
  for (bool is_signed : {false, true}) {
    const QuantDtype dt = is_signed ? QuantDtype::kInt : QuantDtype::kUint;
    auto s = compute_scale_zero_point(-1.3f, 2.9f, 8, dt, false);
    Graph g;
    Value* x = g.add_input("x", DType::f32, {-1});
    Value* sc = g.add_constant("s", Tensor::scalar(s.scale));
    Value* zp =
        is_signed
            ? g.add_constant("z", Tensor::from<int8_t>({}, {static_cast<int8_t>(s.zero_point)}))
            : g.add_constant("z", Tensor::from<uint8_t>({}, {static_cast<uint8_t>(s.zero_point)}));
    Node* q = g.add_node(OpKind::QuantizeLinear, "q", {x, sc, zp}, {"y"});
    g.add_output(q->outputs[0]);
    for (auto& n : g.nodes()) apply_attr_schema(*n);
    infer_shapes(g);
    std::vector<float> xs;
    for (int i = -2000; i <= 4000; ++i) xs.push_back(i * 0.001f);
    xs.push_back(s.scale * 10.5f);  // exact ties
    xs.push_back(s.scale * -3.5f);
    auto y = ReferenceExecutor(g)
                 .run({Tensor::from<float>({static_cast<int64_t>(xs.size())}, xs)})[0]
                 .to_int64s();
    const QRange r = quant_range(8, dt);
    for (size_t i = 0; i < xs.size(); ++i) {
      const int64_t mine = quantize_value(xs[i], s.scale, s.zero_point, r);
      if (y[i] < r.qmin) {
        EXPECT_EQ(y[i], -128);  // ONNX's full int8 range
        EXPECT_EQ(mine, -127);
      } else {
        EXPECT_EQ(mine, y[i]) << xs[i];
      }
    }
  }
}

}  // namespace
}  // namespace mpq::quant
