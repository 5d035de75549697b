#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "backends/reference/executor.h"
#include "ir/op_def.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace mpq {
namespace {

TEST(Graph, BuildInferRunRelu) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {-1, 3});
  Value* b = g.add_constant("b", Tensor::from<float>({3}, {1.f, -2.f, 0.5f}));
  Node* add = g.add_node(OpKind::Add, "add", {x, b}, 1);
  Node* relu = g.add_node(OpKind::Relu, "relu", {add->outputs[0]}, 1);
  g.add_output(relu->outputs[0]);
  infer_shapes(g);
  verify(g);
  EXPECT_EQ(relu->outputs[0]->shape, (Shape{-1, 3}));
  ReferenceExecutor ex(g);
  auto y = ex.run({Tensor::from<float>({2, 3}, {0.f, 1.f, -1.f, -3.f, 3.f, 0.f})});
  EXPECT_EQ(y[0].to_floats(), (std::vector<float>{1.f, 0.f, 0.f, 0.f, 1.f, 0.5f}));
  EXPECT_NE(print_graph(g).find("Relu(%add_out)"), std::string::npos);
}

TEST(Graph, WrongRuntimeShapeIsInvalidInput) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {-1, 3});
  Node* relu = g.add_node(OpKind::Relu, "relu", {x}, 1);
  g.add_output(relu->outputs[0]);
  ReferenceExecutor ex(g);
  try {
    ex.run({Tensor(DType::f32, {2, 4})});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    EXPECT_EQ(e.status().key, "x");
  }
}

TEST(Graph, CycleIsRejectedNamingANode) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {3});
  Node* a = g.add_node(OpKind::Add, "a", {x, x}, 1);
  Node* b = g.add_node(OpKind::Relu, "b", {a->outputs[0]}, 1);
  g.set_input(a, 1, b->outputs[0]);
  g.add_output(b->outputs[0]);
  EXPECT_THROW(g.sort(), Error);
}

TEST(DType, HalfRoundTrip) {
  for (float f : {0.f, 1.f, -2.5f, 65504.f, 6.1035156e-05f, 1e-7f})
    EXPECT_NEAR(half_to_float(float_to_half(f)), f, std::abs(f) * 1e-3 + 1e-7);
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f)), 1.0f);
}

TEST(DType, SaturatingHalfToEvenStore) {
  int8_t q[4];
  store_from_double(q, DType::i8, 0, 2.5);
  store_from_double(q, DType::i8, 1, -3.5);
  store_from_double(q, DType::i8, 2, 300.0);
  store_from_double(q, DType::i8, 3, -300.0);
  EXPECT_EQ(q[0], 2);
  EXPECT_EQ(q[1], -4);
  EXPECT_EQ(q[2], 127);
  EXPECT_EQ(q[3], -128);
}

// Integer stores saturate at every width, int64 included (2^63 itself is out of range).
TEST(DType, SaturatingWideIntegerStore) {
  int64_t l[4];
  store_from_double(l, DType::i64, 0, -4.7e108);
  store_from_double(l, DType::i64, 1, 9223372036854775808.0);
  store_from_double(l, DType::i64, 2, 9223372036854774784.0);  // the largest double below 2^63
  store_from_double(l, DType::i64, 3, std::nan(""));
  EXPECT_EQ(l[0], INT64_MIN);
  EXPECT_EQ(l[1], INT64_MAX);
  EXPECT_EQ(l[2], 9223372036854774784LL);
  EXPECT_EQ(l[3], 0);
  int32_t w[2];
  store_from_double(w, DType::i32, 0, 2147483648.0);
  store_from_double(w, DType::i32, 1, 2147483647.0);
  EXPECT_EQ(w[0], INT32_MAX);
  EXPECT_EQ(w[1], INT32_MAX);
}

}  // namespace
}  // namespace mpq
