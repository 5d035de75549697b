// Activations, element-wise binary ops, softmax family, reductions, Cast/Constant and the
// registry slots of these ops: values against hand-computed (or numpy-computed, noted) results.
#include <limits>

#include "op_harness.h"

namespace mpq {
namespace {

using testing::error_code;
using testing::floats;
using testing::infer_op;
using testing::OpCase;
using testing::run_op;

Attributes attrs(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.set(k, v);
  return a;
}

void expect_floats(const Tensor& t, const std::vector<float>& want, float tol = 1e-6f) {
  auto got = t.to_floats();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

// --- activations

TEST(OpsActivation, ClipWithBothBoundsAndOneBound) {
  Tensor x = Tensor::from<float>({5}, {-3.f, -0.5f, 0.f, 2.f, 9.f});
  expect_floats(run_op({OpKind::Clip, {x, Tensor::scalar(-1.f), Tensor::scalar(6.f)}})[0],
                {-1.f, -0.5f, 0.f, 2.f, 6.f});
  expect_floats(run_op({OpKind::Clip, {x, Tensor(), Tensor::scalar(1.f)}})[0],
                {-3.f, -0.5f, 0.f, 1.f, 1.f});
  expect_floats(run_op({OpKind::Clip, {x, Tensor::scalar(0.f)}})[0], {0.f, 0.f, 0.f, 2.f, 9.f});
  expect_floats(run_op({OpKind::Clip, {x}})[0], {-3.f, -0.5f, 0.f, 2.f, 9.f});
  // min > max: every value becomes max (ONNX).
  expect_floats(run_op({OpKind::Clip, {x, Tensor::scalar(2.f), Tensor::scalar(1.f)}})[0],
                {1.f, 1.f, 1.f, 1.f, 1.f});
}

TEST(OpsActivation, ClipInt8AndRelu) {
  Tensor x = Tensor::from<int8_t>({4}, {-128, -5, 7, 127});
  Tensor lo = Tensor::from<int8_t>({}, {-6});
  Tensor hi = Tensor::from<int8_t>({}, {6});
  Tensor y = run_op({OpKind::Clip, {x, lo, hi}})[0];
  ASSERT_EQ(y.dtype(), DType::i8);
  EXPECT_EQ(y.to_int64s(), (std::vector<int64_t>{-6, -5, 6, 6}));
  Tensor r = run_op({OpKind::Relu, {x}})[0];
  EXPECT_EQ(r.to_int64s(), (std::vector<int64_t>{0, 0, 7, 127}));
}

TEST(OpsActivation, ClipBoundDtypeMismatchIsInvalidInput) {
  Tensor x = Tensor::from<float>({2}, {1.f, 2.f});
  std::string msg;
  EXPECT_EQ(error_code(
                [&] {
                  infer_op({OpKind::Clip, {x, Tensor::from<int8_t>({}, {0})}});
                },
                &msg),
            Code::kInvalidInput);
  EXPECT_NE(msg.find("min"), std::string::npos) << msg;
  EXPECT_NE(msg.find("node"), std::string::npos) << msg;
}

TEST(OpsActivation, ClipOpset6AttributesBecomeInputs) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4});
  Node* n = g.add_node(OpKind::Clip, "clip", {x}, 1, attrs({{"min", 0.f}, {"max", 6.f}}));
  apply_attr_schema(*n);  // min/max are accepted as opset 6 attributes
  op_def(OpKind::Clip).onnx.import_fixup(g, *n, 6);
  g.add_output(n->outputs[0]);
  EXPECT_FALSE(n->attrs.has("min"));
  ASSERT_EQ(n->inputs.size(), 3u);
  infer_shapes(g);
  auto y = ReferenceExecutor(g).run({Tensor::from<float>({4}, {-1.f, 3.f, 6.5f, 10.f})});
  expect_floats(y[0], {0.f, 3.f, 6.f, 6.f});
  // Opset 6 without max: only the lower bound applies.
  Graph g2;
  Value* x2 = g2.add_input("x", DType::f32, {2});
  Node* n2 = g2.add_node(OpKind::Clip, "clip", {x2}, 1, attrs({{"min", -1.f}}));
  apply_attr_schema(*n2);
  op_def(OpKind::Clip).onnx.import_fixup(g2, *n2, 6);
  g2.add_output(n2->outputs[0]);
  infer_shapes(g2);
  expect_floats(ReferenceExecutor(g2).run({Tensor::from<float>({2}, {-5.f, 1e30f})})[0],
                {-1.f, 1e30f});
}

TEST(OpsActivation, FloatActivationsMatchFormulas) {
  Tensor x = Tensor::from<float>({5}, {-4.f, -1.f, 0.f, 0.5f, 3.f});
  expect_floats(run_op({OpKind::LeakyRelu, {x}})[0], {-0.04f, -0.01f, 0.f, 0.5f, 3.f});
  expect_floats(run_op({OpKind::LeakyRelu, {x}, attrs({{"alpha", 0.5f}})})[0],
                {-2.f, -0.5f, 0.f, 0.5f, 3.f});
  // sigmoid(-1) = 0.26894142, sigmoid(0.5) = 0.62245933, sigmoid(3) = 0.95257413
  expect_floats(run_op({OpKind::Sigmoid, {x}})[0],
                {0.01798621f, 0.26894142f, 0.5f, 0.62245933f, 0.95257413f}, 1e-6f);
  expect_floats(run_op({OpKind::Tanh, {x}})[0],
                {-0.99932930f, -0.76159416f, 0.f, 0.46211716f, 0.99505475f}, 1e-6f);
  // HardSigmoid defaults alpha 0.2, beta 0.5: clamp(0.2x + 0.5, 0, 1).
  expect_floats(run_op({OpKind::HardSigmoid, {x}})[0], {0.f, 0.3f, 0.5f, 0.6f, 1.f});
  expect_floats(run_op({OpKind::HardSigmoid, {x}, attrs({{"alpha", 0.5f}, {"beta", 0.6f}})})[0],
                {0.f, 0.1f, 0.6f, 0.85f, 1.f});
  // HardSwish: x * clamp(x/6 + 0.5, 0, 1).
  expect_floats(run_op({OpKind::HardSwish, {x}})[0],
                {0.f, -1.f / 3.f, 0.f, 0.5f * (0.5f / 6 + 0.5f), 3.f});
  expect_floats(run_op({OpKind::Exp, {x}})[0],
                {0.01831564f, 0.36787944f, 1.f, 1.64872127f, 20.08553692f}, 2e-6f);
  expect_floats(run_op({OpKind::Neg, {x}})[0], {4.f, 1.f, 0.f, -0.5f, -3.f});
  expect_floats(run_op({OpKind::Sqrt, {Tensor::from<float>({3}, {0.f, 4.f, 2.f})}})[0],
                {0.f, 2.f, 1.41421356f});
  EXPECT_EQ(run_op({OpKind::Neg, {Tensor::from<int32_t>({2}, {5, -7})}})[0].to_int64s(),
            (std::vector<int64_t>{-5, 7}));
}

TEST(OpsActivation, HalfInputStaysHalf) {
  Tensor x = Tensor::from<float>({3}, {-2.f, 0.f, 1.f}).cast(DType::f16);
  Tensor y = run_op({OpKind::Sigmoid, {x}})[0];
  EXPECT_EQ(y.dtype(), DType::f16);
  expect_floats(y, {0.11920292f, 0.5f, 0.73105858f}, 1e-3f);
}

TEST(OpsActivation, FloatOnlyActivationRejectsIntegers) {
  EXPECT_EQ(error_code([&] {
              infer_op({OpKind::Sigmoid, {Tensor::from<int32_t>({2}, {1, 2})}});
            }),
            Code::kInvalidInput);
}

// --- element-wise binary

TEST(OpsBinary, BroadcastingValues) {
  Tensor a = Tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::from<float>({3}, {10, 20, 30});
  Tensor c = Tensor::from<float>({2, 1}, {2, -1});
  expect_floats(run_op({OpKind::Add, {a, b}})[0], {11, 22, 33, 14, 25, 36});
  expect_floats(run_op({OpKind::Sub, {a, b}})[0], {-9, -18, -27, -6, -15, -24});
  expect_floats(run_op({OpKind::Mul, {a, c}})[0], {2, 4, 6, -4, -5, -6});
  expect_floats(run_op({OpKind::Div, {a, c}})[0], {0.5f, 1, 1.5f, -4, -5, -6});
  // [2,1] with [3] broadcasts to [2,3] on both sides.
  Tensor y = run_op({OpKind::Sub, {c, b}})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  expect_floats(y, {-8, -18, -28, -11, -21, -31});
  // Scalar with a tensor.
  expect_floats(run_op({OpKind::Mul, {Tensor::scalar(3.f), b}})[0], {30, 60, 90});
}

TEST(OpsBinary, IntegerSemantics) {
  Tensor a = Tensor::from<int32_t>({4}, {7, -7, 7, -7});
  Tensor b = Tensor::from<int32_t>({4}, {2, 2, -2, -2});
  // Integer division truncates toward zero (C semantics, as ONNX runtimes compute it).
  EXPECT_EQ(run_op({OpKind::Div, {a, b}})[0].to_int64s(), (std::vector<int64_t>{3, -3, -3, 3}));
  Tensor u = Tensor::from<uint8_t>({2}, {200, 7});
  Tensor v = Tensor::from<uint8_t>({2}, {3, 2});
  Tensor q = run_op({OpKind::Div, {u, v}})[0];
  EXPECT_EQ(q.dtype(), DType::u8);
  EXPECT_EQ(q.to_int64s(), (std::vector<int64_t>{66, 3}));
  // int8 overflow wraps (two's complement) instead of saturating.
  Tensor s = Tensor::from<int8_t>({2}, {127, -128});
  Tensor one = Tensor::from<int8_t>({1}, {1});
  EXPECT_EQ(run_op({OpKind::Add, {s, one}})[0].to_int64s(), (std::vector<int64_t>{-128, -127}));
  // int64 keeps full precision (no detour through double).
  const int64_t big = (int64_t{1} << 60) + 1;
  Tensor l = Tensor::from<int64_t>({1}, {big});
  EXPECT_EQ(run_op({OpKind::Sub, {l, Tensor::from<int64_t>({1}, {1})}})[0].to_int64s()[0],
            int64_t{1} << 60);
  EXPECT_EQ(error_code([&] {
              run_op({OpKind::Div, {a, Tensor::from<int32_t>({1}, {0})}});
            }),
            Code::kInvalidInput);
}

TEST(OpsBinary, ShapeAndDtypeErrorsNameTheProblem) {
  Tensor a = Tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  std::string msg;
  EXPECT_EQ(error_code(
                [&] {
                  infer_op({OpKind::Mul, {a, Tensor::from<float>({2}, {1, 2})}});
                },
                &msg),
            Code::kInvalidInput);
  EXPECT_NE(msg.find("[2,3] and [2]"), std::string::npos) << msg;
  EXPECT_EQ(error_code(
                [&] {
                  infer_op({OpKind::Add, {a, Tensor::from<int32_t>({3}, {1, 2, 3})}});
                },
                &msg),
            Code::kInvalidInput);
  EXPECT_NE(msg.find("different dtypes"), std::string::npos) << msg;
}

TEST(OpsBinary, UnknownDimsBroadcast) {
  OpCase c{OpKind::Add, {Tensor(DType::f32, {1, 3}), Tensor(DType::f32, {3})}};
  auto g = testing::make_graph(c);
  g->inputs()[0]->shape = {-1, 3};
  infer_shapes(*g);
  EXPECT_EQ(g->outputs()[0]->shape, (Shape{-1, 3}));
}

TEST(OpsBinary, LegacyBroadcastWithAxis) {
  // Opset 6: B [3] broadcast along axis 1 of A [2,3,2] (numpy would align it with the last dim).
  Graph g;
  Value* a = g.add_input("a", DType::f32, {2, 3, 2});
  Value* b = g.add_input("b", DType::f32, {3});
  Node* n = g.add_node(OpKind::Add, "add", {a, b}, 1,
                       attrs({{"broadcast", int64_t{1}}, {"axis", int64_t{1}}}));
  apply_attr_schema(*n);
  op_def(OpKind::Add).onnx.import_fixup(g, *n, 6);
  g.add_output(n->outputs[0]);
  infer_shapes(g);
  verify(g);
  EXPECT_FALSE(n->attrs.has("broadcast"));
  Tensor ta(DType::f32, {2, 3, 2});
  auto y = ReferenceExecutor(g).run({ta, Tensor::from<float>({3}, {1, 2, 3})});
  expect_floats(y[0], {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  // A constant B is reshaped in place instead.
  Graph g2;
  Value* a2 = g2.add_input("a", DType::f32, {2, 2});
  Value* b2 = g2.add_constant("b", Tensor::from<float>({2}, {10, 20}));
  Node* n2 = g2.add_node(OpKind::Mul, "mul", {a2, b2}, 1,
                         attrs({{"broadcast", int64_t{1}}, {"axis", int64_t{0}}}));
  op_def(OpKind::Mul).onnx.import_fixup(g2, *n2, 6);
  g2.add_output(n2->outputs[0]);
  infer_shapes(g2);
  expect_floats(ReferenceExecutor(g2).run({Tensor::from<float>({2, 2}, {1, 2, 3, 4})})[0],
                {10, 20, 60, 80});
}

TEST(OpsBinary, PowFloatAndInteger) {
  Tensor a = Tensor::from<float>({3}, {2.f, 4.f, 9.f});
  expect_floats(run_op({OpKind::Pow, {a, Tensor::from<float>({3}, {3.f, 0.5f, -1.f})}})[0],
                {8.f, 2.f, 1.f / 9});
  // Exponent of another dtype (opset 12+): the result keeps the base's dtype.
  expect_floats(run_op({OpKind::Pow, {a, Tensor::from<int64_t>({1}, {2})}})[0], {4.f, 16.f, 81.f});
  Tensor y =
      run_op({OpKind::Pow,
              {Tensor::from<int32_t>({3}, {2, 3, -2}), Tensor::from<int32_t>({3}, {10, 2, 3})}})[0];
  EXPECT_EQ(y.dtype(), DType::i32);
  EXPECT_EQ(y.to_int64s(), (std::vector<int64_t>{1024, 9, -8}));
}

// --- softmax family

TEST(OpsSoftmax, LastAxisAgainstNumpy) {
  Tensor x = Tensor::from<float>({2, 3}, {0.5f, -1.f, 2.f, 3.f, 3.f, -4.f});
  // numpy: exp(x - max) / sum
  expect_floats(run_op({OpKind::Softmax, {x}})[0],
                {0.17529038f, 0.03911257f, 0.78559703f, 0.49977210f, 0.49977210f, 0.00045573f});
  expect_floats(
      run_op({OpKind::LogSoftmax, {x}})[0],
      {-1.74131131f, -3.24131131f, -0.24131133f, -0.69360304f, -0.69360304f, -7.69360304f}, 2e-6f);
  // Large values do not overflow.
  Tensor big = Tensor::from<float>({2}, {1000.f, 1000.f});
  expect_floats(run_op({OpKind::Softmax, {big}})[0], {0.5f, 0.5f});
  expect_floats(run_op({OpKind::LogSoftmax, {big}})[0], {-0.69314718f, -0.69314718f});
}

TEST(OpsSoftmax, MiddleAndNegativeAxis) {
  // [2,2,2]: softmax over axis 1 pairs (x[i,0,k], x[i,1,k]).
  Tensor x = Tensor::from<float>({2, 2, 2}, {0, 1, 2, 3, 0, 0, 1, 5});
  const float s1 = 1.f / (1.f + std::exp(2.f));  // e^0 / (e^0 + e^2)
  const float s2 = 1.f / (1.f + std::exp(1.f));
  const float s3 = 1.f / (1.f + std::exp(5.f));
  std::vector<float> want{s1, s1, 1 - s1, 1 - s1, s2, s3, 1 - s2, 1 - s3};
  expect_floats(run_op({OpKind::Softmax, {x}, attrs({{"axis", int64_t{1}}})})[0], want);
  expect_floats(run_op({OpKind::Softmax, {x}, attrs({{"axis", int64_t{-2}}})})[0], want);
  EXPECT_EQ(error_code([&] {
              infer_op({OpKind::Softmax, {x}, attrs({{"axis", int64_t{3}}})});
            }),
            Code::kInvalidInput);
}

TEST(OpsSoftmax, Opset11CoercesTo2D) {
  // Opset < 13 with axis 1 on [1,2,2]: softmax over the 4 trailing values together; with no
  // axis attribute the old default is 1 as well.
  for (bool explicit_axis : {true, false}) {
    Graph g;
    Value* x = g.add_input("x", DType::f32, {1, 2, 2});
    Attributes a;
    if (explicit_axis) a.set("axis", int64_t{1});
    Node* n = g.add_node(OpKind::Softmax, "sm", {x}, 1, a);
    apply_attr_schema(*n);
    Value* y = n->outputs[0];
    op_def(OpKind::Softmax).onnx.import_fixup(g, *n, 11);
    g.add_output(y);
    infer_shapes(g);
    verify(g);
    EXPECT_EQ(y->shape, (Shape{1, 2, 2}));
    auto out = ReferenceExecutor(g).run({Tensor::from<float>({1, 2, 2}, {0, 1, 2, 3})})[0];
    const double z = 1 + std::exp(1.) + std::exp(2.) + std::exp(3.);
    expect_floats(out, {float(1 / z), float(std::exp(1.) / z), float(std::exp(2.) / z),
                        float(std::exp(3.) / z)});
  }
  // Dynamic batch: the original shape comes from Shape(x) at run time.
  {
    Graph g;
    Value* x = g.add_input("x", DType::f32, {-1, 2, 2});
    Node* n = g.add_node(OpKind::LogSoftmax, "lsm", {x}, 1, attrs({{"axis", int64_t{1}}}));
    apply_attr_schema(*n);
    Value* y = n->outputs[0];
    op_def(OpKind::LogSoftmax).onnx.import_fixup(g, *n, 12);
    g.add_output(y);
    infer_shapes(g);
    verify(g);
    EXPECT_EQ(y->shape.size(), 3u);
    auto out =
        ReferenceExecutor(g).run({Tensor::from<float>({2, 2, 2}, {0, 0, 0, 0, 1, 1, 1, 1})})[0];
    EXPECT_EQ(out.shape(), (Shape{2, 2, 2}));
    expect_floats(out, std::vector<float>(8, -std::log(4.f)));
  }
  // Last axis under opset 11: no rewrite needed.
  Graph g;
  Value* x = g.add_input("x", DType::f32, {3, 4});
  Node* n = g.add_node(OpKind::LogSoftmax, "lsm", {x}, 1, attrs({{"axis", int64_t{1}}}));
  op_def(OpKind::LogSoftmax).onnx.import_fixup(g, *n, 11);
  EXPECT_EQ(g.nodes().size(), 1u);
}

// --- reductions

TEST(OpsReduce, ReduceMeanAxesAndKeepdims) {
  Tensor x = Tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor y = run_op({OpKind::ReduceMean, {x}, attrs({{"axes", std::vector<int64_t>{1}}})})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 1}));
  expect_floats(y, {2, 5});
  y = run_op({OpKind::ReduceMean,
              {x},
              attrs({{"axes", std::vector<int64_t>{-2}}, {"keepdims", int64_t{0}}})})[0];
  EXPECT_EQ(y.shape(), (Shape{3}));
  expect_floats(y, {2.5f, 3.5f, 4.5f});
  y = run_op({OpKind::ReduceMean, {x}, attrs({{"keepdims", int64_t{0}}})})[0];
  EXPECT_EQ(y.shape(), Shape{});
  expect_floats(y, {3.5f});
  // Global average pool as exported by some tools: ReduceMean over H, W.
  Tensor img = Tensor::from<float>({1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40});
  y = run_op({OpKind::ReduceMean, {img}, attrs({{"axes", std::vector<int64_t>{2, 3}}})})[0];
  EXPECT_EQ(y.shape(), (Shape{1, 2, 1, 1}));
  expect_floats(y, {2.5f, 25.f});
  EXPECT_EQ(error_code([&] {
              infer_op({OpKind::ReduceMean, {x}, attrs({{"axes", std::vector<int64_t>{1, -1}}})});
            }),
            Code::kInvalidInput);
}

TEST(OpsReduce, Opset18AxesInputBecomesAttribute) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2, 2});
  Value* axes = g.add_constant("axes", Tensor::from<int64_t>({1}, {0}));
  Node* n = g.add_node(OpKind::ReduceMean, "rm", {x, axes}, 1, attrs({{"keepdims", int64_t{0}}}));
  op_def(OpKind::ReduceMean).onnx.import_fixup(g, *n, 18);
  apply_attr_schema(*n);
  g.add_output(n->outputs[0]);
  infer_shapes(g);
  EXPECT_EQ(n->attrs.ints("axes"), (std::vector<int64_t>{0}));
  expect_floats(ReferenceExecutor(g).run({Tensor::from<float>({2, 2}, {1, 2, 3, 5})})[0],
                {2, 3.5f});
}

// --- Cast and Constant

TEST(OpsCast, OnnxConversionRules) {
  Tensor x = Tensor::from<float>({5}, {-1.7f, -0.5f, 0.f, 2.5f, 300.f});
  auto cast = [&](const Tensor& t, int to) {
    return run_op({OpKind::Cast, {t}, attrs({{"to", int64_t{to}}})})[0];
  };
  EXPECT_EQ(cast(x, 6).to_int64s(),
            (std::vector<int64_t>{-1, 0, 0, 2, 300}));  // to int32: truncate
  EXPECT_EQ(cast(x, 3).to_int64s(), (std::vector<int64_t>{-1, 0, 0, 2, 127}));  // to int8: saturate
  EXPECT_EQ(cast(x, 9).to_int64s(), (std::vector<int64_t>{1, 1, 0, 1, 1}));     // to bool
  Tensor h = cast(x, 10);
  EXPECT_EQ(h.dtype(), DType::f16);
  expect_floats(h, {-1.7001953f, -0.5f, 0.f, 2.5f, 300.f});
  // f32 -> bf16 truncates the low mantissa bits (ONNX reference): 0.47892547 -> 0x3EF5.
  Tensor b = cast(Tensor::from<float>({1}, {0.47892547f}), 16);
  EXPECT_EQ(static_cast<const uint16_t*>(b.raw())[0], 0x3EF5);
  expect_floats(cast(Tensor::from<int64_t>({2}, {-3, 1 << 20}), 1), {-3.f, 1048576.f});
}

TEST(OpsCast, UnknownTargetIsRejected) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2});
  Node* n = g.add_node(OpKind::Cast, "c", {x}, 1, attrs({{"to", int64_t{11}}}));  // DOUBLE
  EXPECT_NE(op_def(OpKind::Cast).unsupported_reason(*n).find("11"), std::string::npos);
  EXPECT_EQ(error_code([&] { infer_shapes(g); }), Code::kUnsupported);
}

TEST(OpsConstant, ValueAttributes) {
  Tensor t = Tensor::from<float>({2, 2}, {1, 2, 3, 4});
  Tensor y = run_op({OpKind::Constant, {}, attrs({{"value", t}})})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  expect_floats(y, {1, 2, 3, 4});
  y = run_op({OpKind::Constant, {}, attrs({{"value_ints", std::vector<int64_t>{3, -1}}})})[0];
  EXPECT_EQ(y.dtype(), DType::i64);
  EXPECT_EQ(y.to_int64s(), (std::vector<int64_t>{3, -1}));
  y = run_op({OpKind::Constant, {}, attrs({{"value_float", 2.5f}})})[0];
  EXPECT_EQ(y.shape(), Shape{});
  expect_floats(y, {2.5f});
  y = run_op({OpKind::Constant, {}, attrs({{"value_int", int64_t{7}}})})[0];
  EXPECT_EQ(y.to_int64s(), (std::vector<int64_t>{7}));
  EXPECT_EQ(error_code([&] { infer_op({OpKind::Constant, {}}); }), Code::kInvalidInput);
}

// --- registry slots

TEST(OpsRegistry, QuantRulesAndBindings) {
  for (OpKind k : {OpKind::Relu, OpKind::Clip, OpKind::Flatten, OpKind::Reshape, OpKind::Concat,
                   OpKind::Transpose, OpKind::Squeeze, OpKind::Unsqueeze, OpKind::Identity,
                   OpKind::Dropout, OpKind::Pad, OpKind::Slice, OpKind::Gather})
    EXPECT_EQ(op_def(k).quant, QuantRule::kPassthrough) << op_def(k).name;
  for (OpKind k : {OpKind::Add, OpKind::Mul, OpKind::GlobalAveragePool, OpKind::BatchNormalization})
    EXPECT_EQ(op_def(k).quant, QuantRule::kRequant) << op_def(k).name;
  EXPECT_TRUE(op_def(OpKind::Conv).weighted);
  EXPECT_FALSE(op_def(OpKind::Mul).weighted);
  for (OpKind k : {OpKind::Sigmoid, OpKind::Softmax, OpKind::QuantizeLinear})
    EXPECT_EQ(op_def(k).quant, QuantRule::kFloatOnly) << op_def(k).name;
  EXPECT_EQ(find_onnx_op("", "Clip", 6), &op_def(OpKind::Clip));
  EXPECT_EQ(find_onnx_op("", "HardSwish", 13), nullptr);  // HardSwish exists from opset 14
  EXPECT_EQ(find_onnx_op("ai.onnx", "QuantizeLinear", 13), &op_def(OpKind::QuantizeLinear));
  for (const OpDef* d : all_op_defs()) {
    EXPECT_TRUE(d->infer) << d->name;
    EXPECT_TRUE(d->forward) << d->name;
    EXPECT_FALSE(d->doc.empty()) << d->name;
  }
}

TEST(OpsRegistry, ElementwiseFlops) {
  OpCase c{OpKind::Mul, {Tensor(DType::f32, {4, 5}), Tensor(DType::f32, {5})}};
  auto g = testing::make_graph(c);
  infer_shapes(*g);
  EXPECT_EQ(g->nodes()[0]->def().flops(*g->nodes()[0]), 20);
}

}  // namespace
}  // namespace mpq
