// Finite-difference checks of the backward rules of Conv, Gemm, MatMul, MaxPool, AveragePool and
// GlobalAveragePool. These ops are linear (or piecewise linear) in each input, so central
// differences of the fp32 forward are accurate to rounding; a wrong rule misses by O(1).
#include <random>

#include "ir/ops/window.h"
#include "op_test_util.h"

namespace mpq {
namespace {

using testing::distinct_tensor;
using testing::gradient_check;
using testing::random_tensor;

Attributes conv_attrs(int64_t group, std::vector<int64_t> strides, std::vector<int64_t> dil,
                      std::vector<int64_t> pads, std::string auto_pad = "NOTSET") {
  Attributes a;
  a.set("group", group);
  a.set("strides", std::move(strides));
  a.set("dilations", std::move(dil));
  if (!pads.empty()) a.set("pads", std::move(pads));
  a.set("auto_pad", std::move(auto_pad));
  return a;
}

TEST(ConvBackward, FiniteDifferences) {
  std::mt19937 rng(31);
  struct Case {
    Shape x, w;
    Attributes a;
    const char* name;
  };
  const std::vector<Case> cases = {
      {{2, 3, 5, 6}, {4, 3, 3, 3}, conv_attrs(1, {1, 1}, {1, 1}, {1, 1, 1, 1}), "3x3 pad 1"},
      {{1, 4, 7, 6},
       {6, 2, 3, 2},
       conv_attrs(2, {2, 1}, {1, 2}, {1, 0, 2, 1}),
       "groups, stride, dilation, asymmetric pads"},
      {{2, 3, 6, 6}, {3, 1, 3, 3}, conv_attrs(3, {2, 2}, {1, 1}, {}, "SAME_UPPER"), "depthwise"},
      {{1, 5, 4, 3}, {3, 5, 1, 1}, conv_attrs(1, {1, 1}, {1, 1}, {0, 0, 0, 0}), "pointwise"},
      {{2, 2, 9}, {3, 2, 3}, conv_attrs(1, {2}, {2}, {1, 2}), "1-D"},
  };
  for (int64_t budget : {int64_t{1} << 20, int64_t{1}}) {  // whole image, then one row per chunk
    const int64_t old = ops::set_im2col_budget(budget);
    for (const Case& c : cases) {
      Tensor X = random_tensor(rng, c.x), W = random_tensor(rng, c.w);
      Tensor B = random_tensor(rng, {c.w[0]});
      gradient_check(OpKind::Conv, c.a, {X, W, B}, {0, 1, 2},
                     std::string(c.name) + " budget " + std::to_string(budget));
    }
    ops::set_im2col_budget(old);
  }
  // Images batched into one GEMM, with a partial last block (budget of two images' columns).
  {
    const int64_t old = ops::set_im2col_budget(2 * 18 * 6);  // Kc 18, 2x3 outputs: blocks of 2 + 1
    gradient_check(OpKind::Conv, conv_attrs(1, {1, 1}, {1, 1}, {1, 1, 0, 0}),
                   {random_tensor(rng, {3, 2, 3, 4}), random_tensor(rng, {3, 2, 3, 3}),
                    random_tensor(rng, {3})},
                   {0, 1, 2}, "batched images");
    ops::set_im2col_budget(old);
  }
  // Without bias: two gradients.
  gradient_check(OpKind::Conv, conv_attrs(1, {1, 1}, {1, 1}, {0, 0, 0, 0}),
                 {random_tensor(rng, {1, 2, 4, 4}), random_tensor(rng, {2, 2, 2, 2})}, {0, 1},
                 "no bias");
}

TEST(ConvTransposeBackward, FiniteDifferences) {
  std::mt19937 rng(37);
  struct Case {
    Shape x, w;
    Attributes a;
    const char* name;
  };
  Attributes out_shape = conv_attrs(2, {3, 2}, {1, 1}, {});
  out_shape.set("output_shape", std::vector<int64_t>{10, 8});
  Attributes out_pad = conv_attrs(1, {2, 2}, {2, 1}, {1, 0, 0, 1});
  out_pad.set("output_padding", std::vector<int64_t>{1, 1});
  const std::vector<Case> cases = {
      {{2, 3, 3, 4}, {3, 2, 3, 3}, conv_attrs(1, {2, 2}, {1, 1}, {1, 1, 1, 1}), "stride 2 pad 1"},
      {{1, 4, 3, 3}, {4, 1, 3, 3}, out_shape, "groups, output_shape (negative pad)"},
      {{1, 2, 3, 3}, {2, 2, 2, 3}, out_pad, "dilation, output_padding"},
      {{2, 2, 5}, {2, 3, 3}, conv_attrs(1, {2}, {1}, {}, "SAME_UPPER"), "1-D SAME_UPPER"},
  };
  for (int64_t budget : {int64_t{1} << 20, int64_t{1}}) {
    const int64_t old = ops::set_im2col_budget(budget);
    for (const Case& c : cases) {
      const int64_t M = c.w[1] * c.a.i("group");
      gradient_check(OpKind::ConvTranspose, c.a,
                     {random_tensor(rng, c.x), random_tensor(rng, c.w), random_tensor(rng, {M})},
                     {0, 1, 2}, std::string(c.name) + " budget " + std::to_string(budget));
    }
    ops::set_im2col_budget(old);
  }
}

TEST(GemmBackward, FiniteDifferencesAllTransposesAndBroadcastC) {
  std::mt19937 rng(32);
  const int64_t M = 4, N = 5, K = 3;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (const Shape& cs : {Shape{M, N}, Shape{N}, Shape{M, 1}, Shape{}}) {
        Attributes a;
        a.set("transA", int64_t{ta});
        a.set("transB", int64_t{tb});
        a.set("alpha", 0.5f);
        a.set("beta", -2.f);
        Tensor A = random_tensor(rng, ta ? Shape{K, M} : Shape{M, K});
        Tensor B = random_tensor(rng, tb ? Shape{N, K} : Shape{K, N});
        gradient_check(OpKind::Gemm, a, {A, B, random_tensor(rng, cs)}, {0, 1, 2},
                       "gemm transA=" + std::to_string(ta) + " transB=" + std::to_string(tb) +
                           " C" + shape_str(cs));
      }
}

TEST(MatMulBackward, FiniteDifferencesWithBroadcastAndVectors) {
  std::mt19937 rng(33);
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 4}, {4, 2}}, {{2, 3, 4}, {4, 5}}, {{2, 1, 3, 4}, {3, 4, 2}},
      {{4}, {2, 4, 3}}, {{2, 3, 4}, {4}},    {{5}, {5}},
  };
  for (const auto& [a, b] : cases)
    gradient_check(OpKind::MatMul, {}, {random_tensor(rng, a), random_tensor(rng, b)}, {0, 1},
                   "matmul " + shape_str(a) + " x " + shape_str(b));
}

TEST(PoolBackward, MaxPoolFiniteDifferences) {
  std::mt19937 rng(34);
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{3, 2});
  a.set("strides", std::vector<int64_t>{2, 1});
  a.set("pads", std::vector<int64_t>{1, 0, 1, 1});
  a.set("dilations", std::vector<int64_t>{1, 2});
  a.set("ceil_mode", int64_t{1});
  gradient_check(OpKind::MaxPool, a, {distinct_tensor(rng, {2, 2, 6, 5})}, {0}, "maxpool 2-D");
  Attributes b;
  b.set("kernel_shape", std::vector<int64_t>{3});
  b.set("strides", std::vector<int64_t>{2});
  b.set("auto_pad", std::string("SAME_UPPER"));
  gradient_check(OpKind::MaxPool, b, {distinct_tensor(rng, {1, 3, 8})}, {0}, "maxpool 1-D");
}

TEST(PoolBackward, AveragePoolFiniteDifferences) {
  std::mt19937 rng(35);
  for (int inc = 0; inc < 2; ++inc) {
    Attributes a;
    a.set("kernel_shape", std::vector<int64_t>{3, 3});
    a.set("strides", std::vector<int64_t>{2, 2});
    a.set("pads", std::vector<int64_t>{1, 1, 1, 0});
    a.set("ceil_mode", int64_t{1});
    a.set("count_include_pad", int64_t{inc});
    gradient_check(OpKind::AveragePool, a, {random_tensor(rng, {2, 2, 6, 7})}, {0},
                   "avgpool count_include_pad=" + std::to_string(inc));
  }
  Attributes b;
  b.set("kernel_shape", std::vector<int64_t>{2});
  b.set("auto_pad", std::string("SAME_LOWER"));
  gradient_check(OpKind::AveragePool, b, {random_tensor(rng, {1, 2, 5})}, {0}, "avgpool 1-D");
}

TEST(PoolBackward, GlobalAveragePoolFiniteDifferences) {
  std::mt19937 rng(36);
  gradient_check(OpKind::GlobalAveragePool, {}, {random_tensor(rng, {2, 3, 4, 5})}, {0}, "gap");
}

}  // namespace
}  // namespace mpq
