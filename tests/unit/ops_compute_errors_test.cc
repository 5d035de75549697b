// Shape-inference errors, import-time rejections (unsupported_reason), FLOP counts and the GEMM
// kernel of the compute-heavy ops.
#include <random>

#include "ir/ops/gemm_kernel.h"
#include "op_test_util.h"

namespace mpq {
namespace {

using testing::infer_node_types;
using testing::random_tensor;
using testing::unsupported_reason_of;

Attributes attrs_of(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.set(k, v);
  return a;
}

// Runs inference and returns the error (code, message); fails the test if none is thrown.
Status infer_error(OpKind op, const Attributes& a, const std::vector<Shape>& shapes,
                   int num_outputs = 1) {
  try {
    infer_node_types(op, a, shapes, num_outputs);
  } catch (const Error& e) {
    return e.status();
  }
  ADD_FAILURE() << "no error for " << op_def(op).name;
  return {};
}

void expect_invalid(const Status& s, const std::string& needle) {
  EXPECT_EQ(s.code, Code::kInvalidInput) << s.to_string();
  EXPECT_NE(s.message.find(needle), std::string::npos) << s.to_string();
  EXPECT_EQ(s.node, "node") << s.to_string();
}

TEST(ConvInfer, ShapesAndErrors) {
  auto t = infer_node_types(OpKind::Conv,
                            attrs_of({{"strides", std::vector<int64_t>{2, 2}},
                                      {"pads", std::vector<int64_t>{3, 3, 3, 3}}}),
                            {{-1, 3, 224, 224}, {64, 3, 7, 7}, {64}});
  EXPECT_EQ(t[0].shape, (Shape{-1, 64, 112, 112}));
  t = infer_node_types(
      OpKind::Conv,
      attrs_of({{"auto_pad", std::string("SAME_UPPER")}, {"strides", std::vector<int64_t>{2}}}),
      {{1, 4, 9}, {8, 4, 3}});
  EXPECT_EQ(t[0].shape, (Shape{1, 8, 5}));
  // Unknown spatial size propagates as unknown.
  t = infer_node_types(OpKind::Conv, {}, {{1, 3, -1, 8}, {4, 3, 3, 3}});
  EXPECT_EQ(t[0].shape, (Shape{1, 4, -1, 6}));

  expect_invalid(infer_error(OpKind::Conv, {}, {{1, 4, 8, 8}, {8, 3, 3, 3}}), "4 channels");
  expect_invalid(
      infer_error(OpKind::Conv, attrs_of({{"group", int64_t{2}}}), {{1, 4, 8, 8}, {7, 2, 3, 3}}),
      "not divisible by group");
  expect_invalid(infer_error(OpKind::Conv, {}, {{1, 3, 8, 8}, {8, 3, 3, 3}, {4}}), "bias");
  expect_invalid(infer_error(OpKind::Conv, attrs_of({{"kernel_shape", std::vector<int64_t>{5, 5}}}),
                             {{1, 3, 8, 8}, {8, 3, 3, 3}}),
                 "kernel_shape");
  expect_invalid(infer_error(OpKind::Conv, {}, {{1, 3, 2, 8}, {8, 3, 3, 3}}), "does not fit");
  expect_invalid(infer_error(OpKind::Conv, attrs_of({{"strides", std::vector<int64_t>{1}}}),
                             {{1, 3, 8, 8}, {8, 3, 3, 3}}),
                 "expected 2");
  expect_invalid(infer_error(OpKind::Conv, attrs_of({{"auto_pad", std::string("SAME")}}),
                             {{1, 3, 8, 8}, {8, 3, 3, 3}}),
                 "unknown value");
  expect_invalid(infer_error(OpKind::Conv, {}, {{1, 3, 8, 8}, {8, 3, 3}}), "rank");
  expect_invalid(infer_error(OpKind::Conv, {}, {{3, 8}, {8, 3}}), "rank 3 or 4");
  // 3-D: unsupported, at import (unsupported_reason) and at inference.
  EXPECT_EQ(infer_error(OpKind::Conv, {}, {{1, 3, 4, 4, 4}, {2, 3, 1, 1, 1}}).code,
            Code::kUnsupported);
  EXPECT_NE(unsupported_reason_of(OpKind::Conv, {}, {{1, 3, 4, 4, 4}, {2, 3, 1, 1, 1}}), "");
  EXPECT_NE(unsupported_reason_of(OpKind::Conv,
                                  attrs_of({{"kernel_shape", std::vector<int64_t>{1, 1, 1}}}),
                                  {{-1, -1, -1, -1, -1}, {-1, -1, -1, -1, -1}}),
            "");
  EXPECT_EQ(unsupported_reason_of(OpKind::Conv, {}, {{1, 3, 4, 4}, {2, 3, 1, 1}}), "");
}

TEST(ConvTransposeInfer, ShapesAndErrors) {
  auto t = infer_node_types(OpKind::ConvTranspose,
                            attrs_of({{"strides", std::vector<int64_t>{2, 2}},
                                      {"pads", std::vector<int64_t>{1, 1, 1, 1}},
                                      {"output_padding", std::vector<int64_t>{1, 1}}}),
                            {{1, 8, 7, 7}, {8, 4, 3, 3}});
  EXPECT_EQ(t[0].shape, (Shape{1, 4, 14, 14}));
  t = infer_node_types(OpKind::ConvTranspose,
                       attrs_of({{"group", int64_t{2}},
                                 {"output_shape", std::vector<int64_t>{10, 8}},
                                 {"strides", std::vector<int64_t>{3, 2}}}),
                       {{1, 2, 3, 3}, {2, 3, 3, 3}});
  EXPECT_EQ(t[0].shape, (Shape{1, 6, 10, 8}));
  expect_invalid(infer_error(OpKind::ConvTranspose, {}, {{1, 3, 4, 4}, {4, 2, 3, 3}}), "channels");
  EXPECT_NE(unsupported_reason_of(OpKind::ConvTranspose, {}, {{1, 3, 4, 4, 4}, {3, 2, 1, 1, 1}}),
            "");
}

TEST(GemmInfer, ShapesAndErrors) {
  auto t = infer_node_types(OpKind::Gemm, attrs_of({{"transB", int64_t{1}}}),
                            {{-1, 2048}, {1000, 2048}, {1000}});
  EXPECT_EQ(t[0].shape, (Shape{-1, 1000}));
  expect_invalid(infer_error(OpKind::Gemm, {}, {{4, 5}, {6, 3}}), "inner dimensions");
  expect_invalid(infer_error(OpKind::Gemm, {}, {{4, 5}, {5, 3}, {2, 3}}), "does not broadcast");
  expect_invalid(infer_error(OpKind::Gemm, {}, {{4, 5}, {5, 3}, {1, 4, 3}}), "rank");
  expect_invalid(infer_error(OpKind::Gemm, {}, {{2, 4, 5}, {5, 3}}), "2-D");
}

TEST(MatMulInfer, ShapesAndErrors) {
  EXPECT_EQ(infer_node_types(OpKind::MatMul, {}, {{2, 1, 3, 4}, {5, 4, 6}})[0].shape,
            (Shape{2, 5, 3, 6}));
  EXPECT_EQ(infer_node_types(OpKind::MatMul, {}, {{4}, {2, 4, 6}})[0].shape, (Shape{2, 6}));
  EXPECT_EQ(infer_node_types(OpKind::MatMul, {}, {{2, 3, 4}, {4}})[0].shape, (Shape{2, 3}));
  expect_invalid(infer_error(OpKind::MatMul, {}, {{3, 4}, {5, 6}}), "inner dimensions");
  expect_invalid(infer_error(OpKind::MatMul, {}, {{2, 3, 4}, {3, 4, 6}}), "do not broadcast");
}

TEST(PoolInfer, ShapesAndErrors) {
  Attributes mp = attrs_of({{"kernel_shape", std::vector<int64_t>{3, 3}},
                            {"strides", std::vector<int64_t>{2, 2}},
                            {"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  EXPECT_EQ(infer_node_types(OpKind::MaxPool, mp, {{1, 64, 112, 112}})[0].shape,
            (Shape{1, 64, 56, 56}));
  // GoogLeNet's ceil-mode pool: 112 -> 56 with kernel 3 stride 2 and no pads.
  Attributes g = attrs_of({{"kernel_shape", std::vector<int64_t>{3, 3}},
                           {"strides", std::vector<int64_t>{2, 2}},
                           {"ceil_mode", int64_t{1}}});
  EXPECT_EQ(infer_node_types(OpKind::MaxPool, g, {{1, 64, 112, 112}})[0].shape,
            (Shape{1, 64, 56, 56}));
  EXPECT_EQ(infer_node_types(OpKind::AveragePool, g, {{1, 64, 28, 28}})[0].shape,
            (Shape{1, 64, 14, 14}));
  expect_invalid(infer_error(OpKind::MaxPool, attrs_of({{"kernel_shape", std::vector<int64_t>{3}}}),
                             {{1, 3, 8, 8}}),
                 "spatial dims");
  expect_invalid(infer_error(OpKind::AveragePool,
                             attrs_of({{"kernel_shape", std::vector<int64_t>{3, 3}},
                                       {"pads", std::vector<int64_t>{1, 1}}}),
                             {{1, 3, 8, 8}}),
                 "expected 4");
  expect_invalid(infer_error(OpKind::GlobalAveragePool, {}, {{3, 8}}), "rank >= 3");
  // The kernel_shape attribute is required.
  try {
    infer_node_types(OpKind::MaxPool, {}, {{1, 3, 8, 8}});
    ADD_FAILURE() << "MaxPool without kernel_shape accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().key, "kernel_shape");
  }
  // Import-time rejections: 3-D windows, MaxPool's Indices output.
  Attributes k3 = attrs_of({{"kernel_shape", std::vector<int64_t>{2, 2, 2}}});
  EXPECT_NE(unsupported_reason_of(OpKind::MaxPool, k3, {{1, 1, 4, 4, 4}}), "");
  EXPECT_NE(unsupported_reason_of(OpKind::AveragePool, k3, {{1, 1, 4, 4, 4}}), "");
  EXPECT_EQ(infer_error(OpKind::AveragePool, k3, {{1, 1, 4, 4, 4}}).code, Code::kUnsupported);
  Attributes k2 = attrs_of({{"kernel_shape", std::vector<int64_t>{2, 2}}});
  EXPECT_NE(unsupported_reason_of(OpKind::MaxPool, k2, {{1, 1, 4, 4}}, 2).find("Indices"),
            std::string::npos);
  EXPECT_EQ(unsupported_reason_of(OpKind::MaxPool, k2, {{1, 1, 4, 4}}, 1), "");
  // AveragePool has no dilations up to opset 18: the schema rejects the attribute.
  Attributes dil = k2;
  dil.set("dilations", std::vector<int64_t>{2, 2});
  EXPECT_THROW(infer_node_types(OpKind::AveragePool, dil, {{1, 1, 8, 8}}), Error);
}

TEST(BatchNormInfer, ShapesErrorsAndTrainingMode) {
  EXPECT_EQ(infer_node_types(OpKind::BatchNormalization, {}, {{-1, 8, 4, 4}, {8}, {8}, {8}, {8}})[0]
                .shape,
            (Shape{-1, 8, 4, 4}));
  expect_invalid(infer_error(OpKind::BatchNormalization, {}, {{2, 8, 4, 4}, {8}, {8}, {7}, {8}}),
                 "input_mean");
  EXPECT_NE(
      unsupported_reason_of(OpKind::BatchNormalization, attrs_of({{"training_mode", int64_t{1}}}),
                            {{2, 8}, {8}, {8}, {8}, {8}}, 3),
      "");
  EXPECT_NE(unsupported_reason_of(OpKind::BatchNormalization, {}, {{2, 8}, {8}, {8}, {8}, {8}}, 5),
            "");
  EXPECT_EQ(unsupported_reason_of(OpKind::BatchNormalization, {}, {{2, 8}, {8}, {8}, {8}, {8}}),
            "");
}

TEST(BatchNormInfer, LegacyOpsetAttributesAreAcceptedAndDropped) {
  Graph g;
  std::vector<Value*> ins{g.add_input("x", DType::f32, {2, 3})};
  for (const char* p : {"s", "b", "m", "v"}) ins.push_back(g.add_input(p, DType::f32, {3}));
  Node* n = g.add_node(OpKind::BatchNormalization, "bn", ins, 1,
                       attrs_of({{"is_test", int64_t{1}}, {"spatial", int64_t{1}}}));
  apply_attr_schema(*n);
  const OpDef& d = n->def();
  EXPECT_EQ(d.unsupported_reason(*n), "");
  d.onnx.import_fixup(g, *n, 6);
  EXPECT_FALSE(n->attrs.has("is_test"));
  EXPECT_FALSE(n->attrs.has("spatial"));
  n->attrs.set("spatial", int64_t{0});
  EXPECT_NE(d.unsupported_reason(*n), "");
  EXPECT_THROW(d.onnx.import_fixup(g, *n, 7), Error);
}

TEST(ComputeOps, FlopsAreMultiplyAccumulates) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2, 8, 10, 10});
  Value* w = g.add_input("w", DType::f32, {16, 4, 3, 3});
  Attributes a = attrs_of({{"group", int64_t{2}}, {"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  Node* conv = g.add_node(OpKind::Conv, "conv", {x, w}, 1, a);
  apply_attr_schema(*conv);
  infer_node(*conv);
  EXPECT_EQ(conv->def().flops(*conv), 2 * 16 * 10 * 10 * 4 * 3 * 3);
  Value* a2 = g.add_input("a", DType::f32, {3, 7});
  Value* b2 = g.add_input("b", DType::f32, {5, 7});
  Node* gemm = g.add_node(OpKind::Gemm, "gemm", {a2, b2}, 1, attrs_of({{"transB", int64_t{1}}}));
  apply_attr_schema(*gemm);
  infer_node(*gemm);
  EXPECT_EQ(gemm->def().flops(*gemm), 3 * 5 * 7);
  EXPECT_EQ(op_def(OpKind::Conv).quant, QuantRule::kRequant);
  EXPECT_EQ(op_def(OpKind::MaxPool).quant, QuantRule::kPassthrough);
  EXPECT_EQ(op_def(OpKind::BatchNormalization).quant, QuantRule::kRequant);  // per-channel affine
  EXPECT_EQ(find_onnx_op("", "BatchNormalization", 6), &op_def(OpKind::BatchNormalization));
  EXPECT_EQ(find_onnx_op("", "Gemm", 6), &op_def(OpKind::Gemm));
  EXPECT_EQ(find_onnx_op("", "Conv", 13), &op_def(OpKind::Conv));
}

// The GEMM kernel against a double-precision triple loop, for every ISA variant this CPU runs,
// across the code paths: blocked (partial tiles, several K slices), few rows, few columns,
// transposes, strided operands, alpha/beta (beta 0 must not read C).
TEST(GemmKernel, EveryVariantMatchesNaive) {
  const std::string best = ops::sgemm_isa();
  std::mt19937 rng(77);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int variants = 0;
  for (const char* isa : {"avx512", "avx2", "generic"}) {
    if (!ops::sgemm_set_isa(isa)) continue;
    ++variants;
    for (int t = 0; t < 30; ++t) {
      int64_t M = r(1, 60), N = r(1, 70), K = r(1, 600);
      if (t % 5 == 1) M = r(1, 4);
      if (t % 5 == 2) N = r(1, 4);
      if (t == 0) M = 200, N = 2060, K = 300;  // more than one MC block, NC block and K slice
      const bool ta = r(0, 1), tb = r(0, 1);
      const int64_t lda = (ta ? M : K) + r(0, 3), ldb = (tb ? K : N) + r(0, 3), ldc = N + r(0, 3);
      const float alpha = t % 3 ? 1.25f : 1.f, beta = t % 4 == 0 ? 0.f : 0.5f;
      Tensor A = random_tensor(rng, {ta ? K : M, lda}), B = random_tensor(rng, {tb ? N : K, ldb});
      Tensor C = random_tensor(rng, {M, ldc});
      if (beta == 0.f) std::fill(C.data<float>(), C.data<float>() + C.numel(), NAN);
      Tensor C0 = C.clone();
      ops::sgemm(ta, tb, M, N, K, alpha, A.data<float>(), lda, B.data<float>(), ldb, beta,
                 C.data<float>(), ldc);
      int bad = 0;
      for (int64_t i = 0; i < M && bad < 3; ++i)
        for (int64_t j = 0; j < N && bad < 3; ++j) {
          if (t == 0 && i % 16 != 0 && i < M - 13) continue;  // big case: sample rows
          double s = 0;
          for (int64_t k = 0; k < K; ++k)
            s += static_cast<double>(ta ? A.data<float>()[k * lda + i]
                                        : A.data<float>()[i * lda + k]) *
                 (tb ? B.data<float>()[j * ldb + k] : B.data<float>()[k * ldb + j]);
          const double want =
              alpha * s + (beta == 0.f ? 0.0 : beta * C0.data<float>()[i * ldc + j]);
          const float got = C.data<float>()[i * ldc + j];
          if (!(std::abs(got - want) <= 1e-4 * (1 + std::abs(want)) * std::sqrt(K))) {
            ADD_FAILURE() << isa << " case " << t << " (" << M << "x" << N << "x" << K << ") C("
                          << i << "," << j << ") = " << got << ", want " << want;
            ++bad;
          }
        }
      // Padding columns of C (beyond N) are untouched.
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = N; j < ldc; ++j) {
          const float a = C.data<float>()[i * ldc + j], b = C0.data<float>()[i * ldc + j];
          EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b))) << isa << " wrote past N";
        }
    }
  }
  EXPECT_GE(variants, 1);
  ops::sgemm_set_isa(best);
}

}  // namespace
}  // namespace mpq
