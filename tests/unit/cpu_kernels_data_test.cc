// oneDNN-backend kernels of the ops torchvision exports beyond conv/gemm (standalone BN,
// HardSigmoid/HardSwish, Sqrt/Pow, Transpose, Pad, Slice, Gather, ReduceMean, Cast, broadcasting
// of the first input) and the int8 averages, against the reference per precision.
#include <gtest/gtest.h>

#include "cpu_kernel_check.h"
#include "engine_test_util.h"

namespace mpq {
namespace {

using testing::add;
using testing::attrs_ints;
using testing::check;
using testing::kAll;
using testing::random_tensor;

// x -> Conv(1x1) so that int8 runs start from an int8 producer (NHWC).
Value* conv_in(Graph& g, Rng& rng, Value* x, int64_t c) {
  Node* conv = add(g, "Conv", {x, g.add_constant("w", random_tensor(rng, {c, c, 1, 1}))}, {}, "c");
  return conv->outputs[0];
}

Value* i64s(Graph& g, const std::string& name, std::vector<int64_t> v) {
  return g.add_constant(name, Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v));
}

TEST(CpuDataKernels, UnaryMath) {
  Rng rng(31);
  for (const char* op : {"HardSigmoid", "HardSwish", "Sqrt", "Pow"}) {
    Graph g;
    Value* x = g.add_input("x", DType::f32, {4, 6, 5, 5});
    std::vector<Value*> in{x};
    Attributes a;
    if (std::string(op) == "HardSigmoid") a.set("alpha", 1.f / 6.f);
    if (std::string(op) == "Pow") in.push_back(g.add_constant("e", Tensor::scalar(2.f)));
    Node* n = add(g, op, in, a, "op");
    g.add_output(n->outputs[0]);
    const bool positive = std::string(op) == "Sqrt";
    std::vector<Tensor> inputs{random_tensor(rng, {4, 6, 5, 5}, positive ? 0.1f : -5.f, 5.f)};
    check(g, inputs, Precision::kFp32, op);
    check(g, inputs, Precision::kBf16, op);
  }
}

// densenet: BatchNormalization after Concat (no conv to fold it into); int8 requantizes and
// writes int8 for the Relu -> Conv that follow.
TEST(CpuDataKernels, StandaloneBatchNorm) {
  Rng rng(37);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 6, 5, 5});
  Attributes ca;
  ca.set("axis", int64_t{1});
  Node* cat = add(g, "Concat", {x, x}, ca, "cat");
  Node* bn = add(g, "BatchNormalization",
                 {cat->outputs[0], g.add_constant("g", random_tensor(rng, {12}, 0.5f, 1.5f)),
                  g.add_constant("b", random_tensor(rng, {12})),
                  g.add_constant("m", random_tensor(rng, {12}, -0.2f, 0.2f)),
                  g.add_constant("v", random_tensor(rng, {12}, 0.5f, 2.f))},
                 {}, "bn");
  Node* relu = add(g, "Relu", {bn->outputs[0]}, {}, "relu");
  Node* conv =
      add(g, "Conv", {relu->outputs[0], g.add_constant("w", random_tensor(rng, {4, 12, 1, 1}))}, {},
          "conv");
  g.add_output(conv->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 6, 5, 5})};
  for (Precision p : kAll) check(g, inputs, p, "BatchNormalization");
  quant::CalibrationTable t = testing::minmax_table(g, inputs);
  auto e = testing::build_engine(g, &t, Precision::kInt8, 4);
  for (const auto& r : e->manifest().layers)
    if (r.op == "BatchNormalization") EXPECT_EQ(r.output_dtype, "u8") << e->manifest().to_table();
}

TEST(CpuDataKernels, TransposeFromNhwcAndRank3) {
  Rng rng(41);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 6, 5, 3});
  Node* t = add(g, "Transpose", {conv_in(g, rng, x, 6)}, attrs_ints({{"perm", {0, 2, 3, 1}}}), "t");
  Node* r = add(g, "Reshape", {t->outputs[0], i64s(g, "s", {-1, 15, 6})}, {}, "r");
  Node* t2 = add(g, "Transpose", {r->outputs[0]}, attrs_ints({{"perm", {0, 2, 1}}}), "t2");
  g.add_output(t2->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 6, 5, 3})};
  for (Precision p : kAll) check(g, inputs, p, "Transpose");
}

// densenet/inception: Pad then AveragePool; int8 pads with the zero point and requantizes.
TEST(CpuDataKernels, PadThenAveragePool) {
  Rng rng(43);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 8, 7, 7});
  Node* pad =
      add(g, "Pad", {conv_in(g, rng, x, 8), i64s(g, "p", {0, 0, 1, 2, 0, 0, 1, 0})}, {}, "pad");
  Node* pool = add(g, "AveragePool", {pad->outputs[0]},
                   attrs_ints({{"kernel_shape", {3, 3}}, {"strides", {2, 2}}}), "pool");
  g.add_output(pool->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 8, 7, 7})};
  for (Precision p : kAll) {
    check(g, inputs, p, "Pad");
    check(g, inputs, p, "AveragePool");
  }
}

TEST(CpuDataKernels, SliceChannelsAndStrided) {
  Rng rng(47);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 8, 6, 6});
  Node* s = add(g, "Slice",
                {conv_in(g, rng, x, 8), i64s(g, "st", {1, 5, -1}), i64s(g, "en", {7, 0, -7}),
                 i64s(g, "ax", {1, 2, 3}), i64s(g, "sp", {2, -2, -1})},
                {}, "slice");
  g.add_output(s->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 8, 6, 6})};
  for (Precision p : kAll) check(g, inputs, p, "Slice");
}

// vit: the class token, Gather(axis=1) of a rank-3 activation.
TEST(CpuDataKernels, GatherClassToken) {
  Rng rng(53);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 6, 3, 3});
  Node* r = add(g, "Reshape", {conv_in(g, rng, x, 6), i64s(g, "s", {-1, 6, 9})}, {}, "r");
  Attributes a;
  a.set("axis", int64_t{2});
  Node* ga =
      add(g, "Gather", {r->outputs[0], g.add_constant("i", Tensor::from<int64_t>({2}, {0, -1}))}, a,
          "gather");
  g.add_output(ga->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 6, 3, 3})};
  for (Precision p : kAll) check(g, inputs, p, "Gather");
}

// mnasnet's spatial mean (int8 requantizes) and LayerNorm's mean over the last axis (float).
TEST(CpuDataKernels, ReduceMean) {
  Rng rng(59);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 8, 5, 5});
  Attributes a = attrs_ints({{"axes", {2, 3}}});
  a.set("keepdims", int64_t{0});
  Node* m = add(g, "ReduceMean", {conv_in(g, rng, x, 8)}, a, "mean");
  Node* fc =
      add(g, "Gemm", {m->outputs[0], g.add_constant("w2", random_tensor(rng, {8, 3}))}, {}, "fc");
  g.add_output(fc->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 8, 5, 5})};
  for (Precision p : kAll) check(g, inputs, p, "ReduceMean");

  Graph g2;
  Value* y = g2.add_input("y", DType::f32, {4, 5, 7});
  Node* m2 = add(g2, "ReduceMean", {y}, attrs_ints({{"axes", {-1}}}), "ln_mean");
  Node* d = add(g2, "Sub", {y, m2->outputs[0]}, {}, "center");
  g2.add_output(d->outputs[0]);
  std::vector<Tensor> in2{random_tensor(rng, {4, 5, 7})};
  check(g2, in2, Precision::kFp32, "ReduceMean");
  check(g2, in2, Precision::kBf16, "ReduceMean");

  // A mean over a size-1 dim only is a copy (oneDNN's reduction refuses such a descriptor).
  Graph g3;
  Value* z = g3.add_input("z", DType::f32, {4, 3, 3, 1});
  Node* m3 = add(g3, "ReduceMean", {z}, attrs_ints({{"axes", {3}}}), "mean_of_one");
  Node* d3 = add(g3, "Sub", {z, m3->outputs[0]}, {}, "zero");
  g3.add_output(d3->outputs[0]);
  g3.add_output(m3->outputs[0]);
  std::vector<Tensor> in3{random_tensor(rng, {4, 3, 3, 1})};
  check(g3, in3, Precision::kFp32, "ReduceMean");
  check(g3, in3, Precision::kBf16, "ReduceMean");
}

// An SE block: GlobalAveragePool stays int8 between the convolutions. 64 and 144 channels: the
// int8 kernel sums rows of 8 and 4 pixels at once (simd_row_pixels), with pixels left over.
TEST(CpuDataKernels, GlobalAveragePoolInt8) {
  Rng rng(61);
  for (Shape s : {Shape{4, 144, 6, 7}, Shape{2, 64, 9, 9}}) {
    Graph g;
    Value* x = g.add_input("x", DType::f32, s);
    Node* gap = add(g, "GlobalAveragePool", {conv_in(g, rng, x, s[1])}, {}, "gap");
    g.add_output(gap->outputs[0]);
    check(g, {random_tensor(rng, s)}, Precision::kInt8, "GlobalAveragePool");
  }
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 8, 6, 6});
  Node* gap = add(g, "GlobalAveragePool", {conv_in(g, rng, x, 8)}, {}, "gap");
  Node* c2 =
      add(g, "Conv", {gap->outputs[0], g.add_constant("w2", random_tensor(rng, {4, 8, 1, 1}))}, {},
          "c2");
  g.add_output(c2->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 8, 6, 6})};
  for (Precision p : kAll) check(g, inputs, p, "GlobalAveragePool");
  quant::CalibrationTable t = testing::minmax_table(g, inputs);
  auto e = testing::build_engine(g, &t, Precision::kInt8, 4);
  for (const auto& r : e->manifest().layers)
    if (r.op == "GlobalAveragePool") EXPECT_EQ(r.output_dtype, "u8") << e->manifest().to_table();

  // After a float-only op the average stays float: no quantize pass over its whole input.
  Graph g2;
  Value* y = g2.add_input("y", DType::f32, {4, 8, 6, 6});
  Node* sig = add(g2, "Exp", {conv_in(g2, rng, y, 8)}, {}, "sig");  // float-only, not fused
  Node* gap2 = add(g2, "GlobalAveragePool", {sig->outputs[0]}, {}, "gap");
  Node* c3 =
      add(g2, "Conv", {gap2->outputs[0], g2.add_constant("w3", random_tensor(rng, {4, 8, 1, 1}))},
          {}, "c3");
  g2.add_output(c3->outputs[0]);
  quant::CalibrationTable t2 = testing::minmax_table(g2, inputs);
  auto e2 = testing::build_engine(g2, &t2, Precision::kInt8, 4);
  for (const auto& r : e2->manifest().layers) {
    if (r.op == "GlobalAveragePool") EXPECT_EQ(r.executed, Precision::kFp32) << r.reason;
    // No quantize pass over the sigmoid's [4, 8, 6, 6] output.
    if (r.op == "Reorder") EXPECT_EQ(r.reason.find("f32[4,8,6,6] nhwc"), std::string::npos);
  }
  std::vector<Tensor> out = runtime::ExecutionContext(e2).run(inputs);
  std::vector<Tensor> ref = ReferenceExecutor(g2).run(inputs);
  EXPECT_LE(testing::max_diff(out[0], ref[0]), 0.1f * (1.f + testing::max_abs(ref[0])));
}

// Sub/Div whose first input is the broadcast one (oneDNN broadcasts only its second input).
TEST(CpuDataKernels, BroadcastFirstInput) {
  Rng rng(67);
  for (const char* op : {"Sub", "Div", "Mul"}) {
    Graph g;
    Value* x = g.add_input("x", DType::f32, {4, 6, 5});
    Node* n = add(g, op, {g.add_constant("k", random_tensor(rng, {6, 1}, 0.5f, 2.f)), x}, {}, "op");
    g.add_output(n->outputs[0]);
    std::vector<Tensor> inputs{random_tensor(rng, {4, 6, 5}, 0.5f, 2.f)};
    check(g, inputs, Precision::kFp32, op);
    check(g, inputs, Precision::kBf16, op);
  }
}

TEST(CpuDataKernels, CastAndIdentity) {
  Rng rng(71);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 6});
  Attributes a;
  a.set("to", int64_t{1});
  Node* c = add(g, "Cast", {x}, a, "cast");
  Node* id = add(g, "Identity", {c->outputs[0]}, {}, "id");
  g.add_output(id->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 6})};
  check(g, inputs, Precision::kFp32, "Cast");
  check(g, inputs, Precision::kFp32, "Identity");
}

// densenet: the concatenated features also feed later layers, so they keep their own scales and
// the int8 Concat requantizes them into its output's.
TEST(CpuDataKernels, ConcatRequantizesSharedInputs) {
  Rng rng(73);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 6, 5, 5});
  Node* a = add(g, "Conv", {x, g.add_constant("wa", random_tensor(rng, {5, 6, 1, 1}))}, {}, "a");
  Node* ra = add(g, "Relu", {a->outputs[0]}, {}, "ra");
  Node* b = add(g, "Conv", {x, g.add_constant("wb", random_tensor(rng, {3, 6, 1, 1}, -2.f, 2.f))},
                {}, "b");
  Attributes ca;
  ca.set("axis", int64_t{1});
  Node* cat = add(g, "Concat", {ra->outputs[0], b->outputs[0]}, ca, "cat");
  Node* c = add(g, "Conv",
                {cat->outputs[0], g.add_constant("wc", random_tensor(rng, {4, 8, 1, 1}))}, {}, "c");
  Node* c2 = add(g, "Conv", {b->outputs[0], g.add_constant("wd", random_tensor(rng, {2, 3, 1, 1}))},
                 {}, "d");
  g.add_output(c->outputs[0]);
  g.add_output(c2->outputs[0]);
  g.add_output(ra->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 6, 5, 5})};
  for (Precision p : kAll) check(g, inputs, p, "Concat");
}

// vit-style attention: rank-3 activations times constant weights, scores of two activations,
// softmax over the last axis, context.
TEST(CpuDataKernels, BatchedMatMulAttention) {
  Rng rng(79);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 5, 8});
  auto proj = [&](const char* name) {
    return add(g, "MatMul",
               {x, g.add_constant(std::string("w") + name, random_tensor(rng, {8, 8}))}, {}, name)
        ->outputs[0];
  };
  Value* q = proj("q");
  Value* k = proj("k");
  Value* v = proj("v");
  Node* kt = add(g, "Transpose", {k}, attrs_ints({{"perm", {0, 2, 1}}}), "kt");
  Node* sc = add(g, "MatMul", {q, kt->outputs[0]}, {}, "scores");
  Attributes sa;
  sa.set("axis", int64_t{-1});
  Node* sm = add(g, "Softmax", {sc->outputs[0]}, sa, "softmax");
  Node* ctx = add(g, "MatMul", {sm->outputs[0], v}, {}, "context");
  g.add_output(ctx->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 5, 8})};
  for (Precision p : {Precision::kFp32, Precision::kBf16}) {
    check(g, inputs, p, "MatMul");
    check(g, inputs, p, "Softmax");
  }
}

}  // namespace
}  // namespace mpq
