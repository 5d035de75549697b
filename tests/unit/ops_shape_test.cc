// Shape and data-movement ops: values, negative axes, opset variants (attribute -> input forms),
// shape inference with constant and run-time shape inputs, and shape errors.
#include <limits>

#include "op_harness.h"

namespace mpq {
namespace {

using testing::error_code;
using testing::infer_op;
using testing::OpCase;
using testing::run_op;

Attributes attrs(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.set(k, v);
  return a;
}

Tensor iota_f(Shape s) {
  Tensor t(DType::f32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(i);
  return t;
}

Tensor i64(std::vector<int64_t> v) {
  return Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v);
}

std::vector<float> fl(std::initializer_list<float> v) {
  return v;
}

TEST(OpsShape, FlattenAxes) {
  Tensor x = iota_f({2, 3, 4});
  EXPECT_EQ(run_op({OpKind::Flatten, {x}})[0].shape(), (Shape{2, 12}));
  EXPECT_EQ(run_op({OpKind::Flatten, {x}, attrs({{"axis", int64_t{0}}})})[0].shape(),
            (Shape{1, 24}));
  EXPECT_EQ(run_op({OpKind::Flatten, {x}, attrs({{"axis", int64_t{3}}})})[0].shape(),
            (Shape{24, 1}));
  EXPECT_EQ(run_op({OpKind::Flatten, {x}, attrs({{"axis", int64_t{-1}}})})[0].shape(),
            (Shape{6, 4}));
  EXPECT_EQ(run_op({OpKind::Flatten, {x}})[0].to_floats(), x.to_floats());
  EXPECT_EQ(error_code([&] {
              infer_op({OpKind::Flatten, {x}, attrs({{"axis", int64_t{4}}})});
            }),
            Code::kInvalidInput);
  // Unknown batch: [N,512,1,1] -> [N,512].
  OpCase c{OpKind::Flatten, {Tensor(DType::f32, {1, 512, 1, 1})}};
  auto g = testing::make_graph(c);
  g->inputs()[0]->shape[0] = -1;
  infer_shapes(*g);
  EXPECT_EQ(g->outputs()[0]->shape, (Shape{-1, 512}));
}

TEST(OpsShape, ReshapeZeroMinusOneAllowzero) {
  Tensor x = iota_f({2, 3, 4});
  auto reshape = [&](std::vector<int64_t> s, int64_t allowzero = 0, bool constant = true) {
    Attributes a;
    if (allowzero) a.set("allowzero", allowzero);
    return run_op({OpKind::Reshape, {x, i64(std::move(s))}, a, 1, {false, constant}})[0];
  };
  EXPECT_EQ(reshape({4, -1}).shape(), (Shape{4, 6}));
  EXPECT_EQ(reshape({0, -1}).shape(), (Shape{2, 12}));
  EXPECT_EQ(reshape({-1, 0, 2}, 0, false).shape(),
            (Shape{4, 3, 2}));  // shape known at run time only
  EXPECT_EQ(reshape({24}).to_floats(), x.to_floats());
  // allowzero=1: a 0 is a real zero-size dim.
  Tensor empty(DType::f32, {0, 3, 4});
  Tensor y = run_op({OpKind::Reshape,
                     {empty, i64({3, 4, 0})},
                     attrs({{"allowzero", int64_t{1}}}),
                     1,
                     {false, true}})[0];
  EXPECT_EQ(y.shape(), (Shape{3, 4, 0}));
  std::string msg;
  EXPECT_EQ(error_code([&] { reshape({-1, -1}); }, &msg), Code::kInvalidInput);
  EXPECT_NE(msg.find("more than one -1"), std::string::npos) << msg;
  EXPECT_EQ(error_code([&] { reshape({5, -1}); }, &msg), Code::kInvalidInput);
  EXPECT_EQ(error_code([&] { reshape({2, 3, 5}); }, &msg), Code::kInvalidInput);
  EXPECT_NE(msg.find("element counts differ"), std::string::npos) << msg;
  EXPECT_EQ(error_code([&] {
              reshape({2, 3, 5}, 0, false);
            }),
            Code::kInvalidInput);  // caught at run time
}

TEST(OpsShape, ReshapeInferenceWithUnknownDims) {
  OpCase c{
      OpKind::Reshape, {Tensor(DType::f32, {1, 512, 1, 1}), i64({0, -1})}, {}, 1, {false, true}};
  auto g = testing::make_graph(c);
  g->inputs()[0]->shape[0] = -1;
  infer_shapes(*g);
  EXPECT_EQ(g->outputs()[0]->shape, (Shape{-1, 512}));  // the copied unknown dim cancels out
  // Shape from a Constant node (not an initializer) is read too.
  Graph g2;
  Value* x = g2.add_input("x", DType::f32, {2, 6});
  Attributes ca;
  ca.set("value", i64({3, -1}));
  Node* k = g2.add_node(OpKind::Constant, "k", {}, 1, ca);
  Node* r = g2.add_node(OpKind::Reshape, "r", {x, k->outputs[0]}, 1);
  apply_attr_schema(*k);
  apply_attr_schema(*r);
  g2.add_output(r->outputs[0]);
  infer_shapes(g2);
  EXPECT_EQ(r->outputs[0]->shape, (Shape{3, 4}));
  // A run-time shape tensor of known length gives unknown dims of known rank.
  auto t = infer_op({OpKind::Reshape, {iota_f({2, 6}), i64({3, 4})}});
  EXPECT_EQ(t[0].shape, (Shape{-1, -1}));
}

TEST(OpsShape, TransposeDefaultAndPerm) {
  Tensor x = iota_f({2, 3});
  Tensor y = run_op({OpKind::Transpose, {x}})[0];
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(y.to_floats(), fl({0, 3, 1, 4, 2, 5}));
  Tensor z = iota_f({2, 3, 4});
  y = run_op({OpKind::Transpose, {z}, attrs({{"perm", std::vector<int64_t>{1, 2, 0}}})})[0];
  EXPECT_EQ(y.shape(), (Shape{3, 4, 2}));
  // y[i,j,k] = z[k,i,j]
  EXPECT_EQ(y.to_floats()[0 * 8 + 1 * 2 + 1], 12.f + 1.f);  // y[0,1,1] = z[1,0,1]
  EXPECT_EQ(y.to_floats()[2 * 8 + 3 * 2 + 0], 11.f);        // y[2,3,0] = z[0,2,3]
  // Any dtype (int8 keeps its bytes).
  Tensor q = Tensor::from<int8_t>({2, 2}, {1, -2, 3, -4});
  EXPECT_EQ(run_op({OpKind::Transpose, {q}})[0].to_int64s(), (std::vector<int64_t>{1, 3, -2, -4}));
  EXPECT_EQ(error_code([&] {
              infer_op({OpKind::Transpose, {z}, attrs({{"perm", std::vector<int64_t>{0, 0, 1}}})});
            }),
            Code::kInvalidInput);
}

TEST(OpsShape, SqueezeUnsqueeze) {
  Tensor x = iota_f({1, 3, 1, 2});
  EXPECT_EQ(run_op({OpKind::Squeeze, {x}})[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(run_op({OpKind::Squeeze, {x, i64({-2})}, {}, 1, {false, true}})[0].shape(),
            (Shape{1, 3, 2}));
  EXPECT_EQ(run_op({OpKind::Squeeze, {x, i64({0, 2})}})[0].shape(),
            (Shape{3, 2}));  // run-time axes
  std::string msg;
  EXPECT_EQ(error_code(
                [&] {
                  infer_op({OpKind::Squeeze, {x, i64({1})}, {}, 1, {false, true}});
                },
                &msg),
            Code::kInvalidInput);
  EXPECT_NE(msg.find("not 1"), std::string::npos) << msg;
  Tensor v = iota_f({3, 2});
  EXPECT_EQ(run_op({OpKind::Unsqueeze, {v, i64({0, 3})}, {}, 1, {false, true}})[0].shape(),
            (Shape{1, 3, 2, 1}));
  EXPECT_EQ(run_op({OpKind::Unsqueeze, {v, i64({-1})}, {}, 1, {false, true}})[0].shape(),
            (Shape{3, 2, 1}));
  EXPECT_EQ(run_op({OpKind::Unsqueeze, {v, i64({3, 0})}, {}, 1, {false, true}})[0].shape(),
            (Shape{1, 3, 2, 1}));
  EXPECT_EQ(error_code([&] {
              infer_op({OpKind::Unsqueeze, {v, i64({0, 0})}, {}, 1, {false, true}});
            }),
            Code::kInvalidInput);
  EXPECT_EQ(error_code([&] {
              infer_op({OpKind::Unsqueeze, {v, i64({4})}, {}, 1, {false, true}});
            }),
            Code::kInvalidInput);
}

TEST(OpsShape, SqueezeUnsqueezeOpset11Attributes) {
  for (OpKind k : {OpKind::Squeeze, OpKind::Unsqueeze}) {
    Graph g;
    Value* x = g.add_input("x", DType::f32, {3, 1});
    Node* n = g.add_node(k, "n", {x}, 1, attrs({{"axes", std::vector<int64_t>{1}}}));
    apply_attr_schema(*n);
    op_def(k).onnx.import_fixup(g, *n, 11);
    g.add_output(n->outputs[0]);
    infer_shapes(g);
    EXPECT_FALSE(n->attrs.has("axes"));
    EXPECT_EQ(n->outputs[0]->shape, (k == OpKind::Squeeze ? Shape{3} : Shape{3, 1, 1}));
    EXPECT_EQ(ReferenceExecutor(g).run({iota_f({3, 1})})[0].to_floats(), fl({0, 1, 2}));
  }
}

TEST(OpsShape, IdentityAndDropout) {
  Tensor x = iota_f({2, 2});
  EXPECT_EQ(run_op({OpKind::Identity, {x}})[0].to_floats(), x.to_floats());
  auto outs = run_op({OpKind::Dropout, {x}, {}, 2});
  EXPECT_EQ(outs[0].to_floats(), x.to_floats());
  EXPECT_EQ(outs[1].dtype(), DType::boolean);
  EXPECT_EQ(outs[1].to_int64s(), (std::vector<int64_t>{1, 1, 1, 1}));
  Tensor yes = Tensor(DType::boolean, {});
  static_cast<uint8_t*>(yes.raw())[0] = 1;
  // Training mode with ratio 0 is deterministic (identity); with ratio > 0 it needs random masks.
  EXPECT_EQ(run_op({OpKind::Dropout, {x, Tensor::scalar(0.f), yes}})[0].to_floats(), x.to_floats());
  EXPECT_EQ(error_code([&] {
              run_op({OpKind::Dropout, {x, Tensor::scalar(0.5f), yes}});
            }),
            Code::kUnsupported);
  EXPECT_EQ(run_op({OpKind::Dropout, {x, Tensor::scalar(0.5f)}})[0].to_floats(), x.to_floats());
}

TEST(OpsShape, TrainingModeDropoutIsAnUnsupportedVariant) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2});
  Value* r = g.add_input("r", DType::f32, {});
  Value* t = g.add_input("t", DType::boolean, {});
  Tensor no(DType::boolean, {});
  Value* off = g.add_constant("off", no);
  Value* zero = g.add_constant("zero", Tensor::scalar(0.f));
  const auto& reason = op_def(OpKind::Dropout).unsupported_reason;
  EXPECT_NE(reason(*g.add_node(OpKind::Dropout, "a", {x, r, t}, 1)), "");
  EXPECT_EQ(reason(*g.add_node(OpKind::Dropout, "b", {x, r, off}, 1)), "");
  EXPECT_EQ(reason(*g.add_node(OpKind::Dropout, "c", {x, zero, t}, 1)), "");
  EXPECT_EQ(reason(*g.add_node(OpKind::Dropout, "d", {x}, 1)), "");
}

TEST(OpsShape, ShapeWithStartEnd) {
  Tensor x(DType::u8, {2, 3, 4, 5});
  EXPECT_EQ(run_op({OpKind::Shape, {x}})[0].to_int64s(), (std::vector<int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(run_op({OpKind::Shape, {x}, attrs({{"start", int64_t{1}}, {"end", int64_t{-1}}})})[0]
                .to_int64s(),
            (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(run_op({OpKind::Shape, {x}, attrs({{"start", int64_t{-10}}, {"end", int64_t{10}}})})[0]
                .to_int64s(),
            (std::vector<int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(
      run_op({OpKind::Shape, {x}, attrs({{"start", int64_t{3}}, {"end", int64_t{1}}})})[0].numel(),
      0);
}

TEST(OpsShape, ConcatAxesAndDtypes) {
  Tensor a = iota_f({2, 2});
  Tensor b = iota_f({2, 1});
  Tensor y = run_op({OpKind::Concat, {a, b}, attrs({{"axis", int64_t{1}}})})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(y.to_floats(), fl({0, 1, 0, 2, 3, 1}));
  y = run_op({OpKind::Concat, {a, a, a}, attrs({{"axis", int64_t{-2}}})})[0];
  EXPECT_EQ(y.shape(), (Shape{6, 2}));
  Tensor s = run_op({OpKind::Concat, {i64({1, 2}), i64({3})}, attrs({{"axis", int64_t{0}}})})[0];
  EXPECT_EQ(s.to_int64s(), (std::vector<int64_t>{1, 2, 3}));
  std::string msg;
  EXPECT_EQ(error_code(
                [&] {
                  infer_op({OpKind::Concat, {a, iota_f({3, 1})}, attrs({{"axis", int64_t{1}}})});
                },
                &msg),
            Code::kInvalidInput);
  EXPECT_NE(msg.find("dim 0 differs"), std::string::npos) << msg;
  EXPECT_EQ(error_code([&] {
              infer_op({OpKind::Concat, {a, b}});
            }),
            Code::kInvalidInput);  // axis is required
}

TEST(OpsShape, PadModesAgainstNumpy) {
  Tensor x = Tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  // numpy.pad(x, ((1,1),(2,2)), mode='reflect')
  Tensor y = run_op({OpKind::Pad,
                     {x, i64({1, 2, 1, 2})},
                     attrs({{"mode", std::string("reflect")}}),
                     1,
                     {false, true}})[0];
  EXPECT_EQ(y.shape(), (Shape{4, 7}));
  EXPECT_EQ(y.to_floats(), fl({6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1,
                               6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1}));
  // numpy.pad(x, ((1,0),(0,3)), mode='edge')
  y = run_op({OpKind::Pad, {x, i64({1, 0, 0, 3})}, attrs({{"mode", std::string("edge")}})})[0];
  EXPECT_EQ(y.to_floats(), fl({1, 2, 3, 3, 3, 3, 1, 2, 3, 3, 3, 3, 4, 5, 6, 6, 6, 6}));
  // Constant value, and negative pads crop.
  y = run_op(
      {OpKind::Pad, {x, i64({0, -1, 1, 1}), Tensor::scalar(9.f)}, {}, 1, {false, true, true}})[0];
  EXPECT_EQ(y.shape(), (Shape{3, 3}));
  EXPECT_EQ(y.to_floats(), fl({2, 3, 9, 5, 6, 9, 9, 9, 9}));
  // Opset 18 axes input.
  y = run_op(
      {OpKind::Pad, {x, i64({1, 1}), Tensor(), i64({-1})}, {}, 1, {false, true, false, true}})[0];
  EXPECT_EQ(y.to_floats(), fl({0, 1, 2, 3, 0, 0, 4, 5, 6, 0}));
  // int8 data with an int8 pad value.
  Tensor q = Tensor::from<int8_t>({2}, {5, -5});
  EXPECT_EQ(
      run_op({OpKind::Pad, {q, i64({1, 0}), Tensor::from<int8_t>({}, {-128})}})[0].to_int64s(),
      (std::vector<int64_t>{-128, 5, -5}));
  std::string msg;
  EXPECT_EQ(error_code(
                [&] {
                  infer_op({OpKind::Pad, {x, i64({1, 1})}, {}, 1, {false, true}});
                },
                &msg),
            Code::kInvalidInput);
  EXPECT_NE(msg.find("pads has 2 values, expected 4"), std::string::npos) << msg;
  EXPECT_EQ(
      error_code([&] {
        infer_op({OpKind::Pad, {x, i64({0, 0, 0, 0})}, attrs({{"mode", std::string("wrap")}})});
      }),
      Code::kInvalidInput);
}

TEST(OpsShape, PadOpset2Attributes) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {1, 2});
  Node* n = g.add_node(OpKind::Pad, "p", {x}, 1,
                       attrs({{"pads", std::vector<int64_t>{0, 1, 0, 2}}, {"value", 7.f}}));
  apply_attr_schema(*n);
  op_def(OpKind::Pad).onnx.import_fixup(g, *n, 2);
  g.add_output(n->outputs[0]);
  infer_shapes(g);
  EXPECT_EQ(n->outputs[0]->shape, (Shape{1, 5}));
  EXPECT_EQ(ReferenceExecutor(g).run({Tensor::from<float>({1, 2}, {1, 2})})[0].to_floats(),
            fl({7, 1, 2, 7, 7}));
}

TEST(OpsShape, PadOpset18ConstantAxesBecomeFullPads) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {1, 2});
  Value* pads = g.add_constant("pads", i64({2, 1}));
  Value* axes = g.add_constant("axes", i64({-1}));
  Node* n = g.add_node(OpKind::Pad, "p", {x, pads, nullptr, axes}, 1);
  apply_attr_schema(*n);
  op_def(OpKind::Pad).onnx.import_fixup(g, *n, 18);
  g.add_output(n->outputs[0]);
  infer_shapes(g);
  EXPECT_FALSE(n->has_input(3));
  EXPECT_EQ(n->inputs[1]->constant->to_int64s(), (std::vector<int64_t>{0, 2, 0, 1}));
  EXPECT_EQ(ReferenceExecutor(g).run({Tensor::from<float>({1, 2}, {1, 2})})[0].to_floats(),
            fl({0, 0, 1, 2, 0}));
}

TEST(OpsShape, GatherAxesAndNegativeIndices) {
  Tensor x = iota_f({3, 4});
  Tensor idx = Tensor::from<int64_t>({2}, {2, -3});
  Tensor y = run_op({OpKind::Gather, {x, idx}})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 4}));
  EXPECT_EQ(y.to_floats(), fl({8, 9, 10, 11, 0, 1, 2, 3}));
  Tensor idx2 = Tensor::from<int32_t>({2, 2}, {0, 3, -1, 1});
  y = run_op({OpKind::Gather, {x, idx2}, attrs({{"axis", int64_t{-1}}})})[0];
  EXPECT_EQ(y.shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(y.to_floats(), fl({0, 3, 3, 1, 4, 7, 7, 5, 8, 11, 11, 9}));
  // A scalar index drops the axis (as exporters use it on Shape outputs).
  Tensor s = run_op({OpKind::Gather, {i64({7, 8, 9}), Tensor::from<int64_t>({}, {0})}})[0];
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.to_int64s(), (std::vector<int64_t>{7}));
  std::string msg;
  EXPECT_EQ(error_code(
                [&] {
                  run_op({OpKind::Gather, {x, Tensor::from<int64_t>({1}, {3})}});
                },
                &msg),
            Code::kInvalidInput);
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  EXPECT_EQ(error_code([&] {
              infer_op({OpKind::Gather, {x, Tensor::from<float>({1}, {0})}});
            }),
            Code::kInvalidInput);
}

TEST(OpsShape, SliceClampingAndSteps) {
  Tensor x = iota_f({3, 5});
  auto slice = [&](std::vector<int64_t> st, std::vector<int64_t> en, std::vector<int64_t> ax,
                   std::vector<int64_t> sp, bool constant) {
    OpCase c{OpKind::Slice,
             {x, i64(st), i64(en), i64(ax), i64(sp)},
             {},
             1,
             {false, constant, constant, constant, constant}};
    return run_op(c)[0];
  };
  for (bool constant : {true, false}) {
    Tensor y = slice({1, 0}, {3, 5}, {0, 1}, {1, 2}, constant);
    EXPECT_EQ(y.shape(), (Shape{2, 3}));
    EXPECT_EQ(y.to_floats(), fl({5, 7, 9, 10, 12, 14}));
    // Negative step from the end; INT64_MIN end clamps to "before the start".
    y = slice({-1}, {std::numeric_limits<int64_t>::min()}, {1}, {-2}, constant);
    EXPECT_EQ(y.to_floats(), fl({4, 2, 0, 9, 7, 5, 14, 12, 10}));
    // Out-of-range start/end clamp; an empty result is fine.
    y = slice({-100}, {std::numeric_limits<int64_t>::max()}, {0}, {1}, constant);
    EXPECT_EQ(y.shape(), (Shape{3, 5}));
    y = slice({4}, {10}, {0}, {1}, constant);
    EXPECT_EQ(y.shape(), (Shape{0, 5}));
  }
  // Without axes/steps: leading dims.
  Tensor y = run_op({OpKind::Slice, {x, i64({1}), i64({2})}, {}, 1, {false, true, true}})[0];
  EXPECT_EQ(y.to_floats(), fl({5, 6, 7, 8, 9}));
  EXPECT_EQ(error_code([&] { slice({0}, {1}, {1}, {0}, true); }), Code::kInvalidInput);
}

TEST(OpsShape, SliceOpset9Attributes) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {3, 5});
  Node* n = g.add_node(OpKind::Slice, "s", {x}, 1,
                       attrs({{"starts", std::vector<int64_t>{1}},
                              {"ends", std::vector<int64_t>{-1}},
                              {"axes", std::vector<int64_t>{1}}}));
  apply_attr_schema(*n);
  op_def(OpKind::Slice).onnx.import_fixup(g, *n, 9);
  g.add_output(n->outputs[0]);
  infer_shapes(g);
  EXPECT_EQ(n->outputs[0]->shape, (Shape{3, 3}));
  EXPECT_EQ(ReferenceExecutor(g).run({iota_f({3, 5})})[0].to_floats(),
            fl({1, 2, 3, 6, 7, 8, 11, 12, 13}));
}

}  // namespace
}  // namespace mpq
