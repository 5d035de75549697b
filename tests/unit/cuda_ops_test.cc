// The cuda backend's non-GEMM ops through the plan builder and engine, against the reference
// executor: each op alone in fp32 and fp16 (int8 where its quantization rule passes int8 on),
// on random inputs, every step on the device; a whole graph with a squeeze-excitation block,
// SiLU, Concat and Transpose; and (no GPU needed) the builder's refusal of host steps.
#ifdef MPQ_HAVE_CUDA
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>

#include "backends/cuda/cuda_util.h"
#include "backends/reference/executor.h"
#include "core/debug_options.h"
#include "core/rng.h"
#include "cuda_test_util.h"
#include "ir/op_def.h"
#include "runtime/engine.h"

namespace mpq {
namespace {

using cuda_testing::minmax_table;
using cuda_testing::rnd;

Tensor ints(const std::vector<int64_t>& v) {
  return Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v);
}

// A graph under construction: inputs get a dynamic batch, nodes their attribute defaults.
struct G {
  std::unique_ptr<Graph> g = std::make_unique<Graph>();
  int consts = 0;
  Value* input(const std::string& name, Shape s) {
    s[0] = -1;
    return g->add_input(name, DType::f32, s);
  }
  Value* c(Tensor t) { return g->add_constant(str("c", consts++), std::move(t)); }
  Value* op(const char* o, std::vector<Value*> in, Attributes a = {}) {
    Node* n =
        g->add_node(find_op_def(o)->kind, g->unique_node_name(o), std::move(in), 1, std::move(a));
    apply_attr_schema(*n);
    return n->outputs[0];
  }
  // A 1x1 convolution (int8 at the int8 default): passthrough ops after it keep int8, as the
  // planner lets them follow their producer (a graph input is float).
  Value* conv1x1(Value* x, int64_t C, uint64_t seed) {
    Rng rng(seed);
    Tensor w(DType::f32, {C, C, 1, 1});
    for (int64_t i = 0; i < w.numel(); ++i)
      w.data<float>()[i] = static_cast<float>(rng.uniform(-0.5, 0.5));
    return op("Conv", {x, c(w)});
  }
  std::unique_ptr<Graph> done(std::vector<Value*> outs) {
    for (Value* v : outs) g->add_output(v);
    infer_shapes(*g);
    return std::move(g);
  }
};

// Builds `g` for cuda at each precision, checks that no step runs on the host and that the
// outputs match the reference executor within the precision's tolerance (relative to the
// largest magnitude of the expected output).
void expect_matches_reference(const Graph& g, const std::vector<Tensor>& x,
                              std::vector<Precision> precisions, bool int8_moves = false) {
  const std::vector<Tensor> want = ReferenceExecutor(g).run(x);
  const quant::CalibrationTable table = minmax_table(g, x);
  const int64_t batch = x[0].dim(0);
  for (Precision p : precisions) {
    SCOPED_TRACE(precision_name(p));
    plan::BuildOptions o;
    o.backend = "cuda";
    o.max_batch = batch;
    o.default_precision = p;
    auto e = runtime::Engine::build(g, &table, o);
    for (const auto& st : e->plan().steps)
      EXPECT_EQ(st.backend, "cuda") << st.node->name << " " << st.node->op_name();
    const std::string tile = debug_options().cuda_tile;
    if (tile.rfind("depthwise", 0) == 0) {
      const std::string want =
          tile.rfind("depthwise_row", 0) == 0 ? "cuda.depthwise_row_" : "cuda.depthwise_";
      int dw = 0;
      for (const auto& l : e->manifest().layers)
        dw += l.impl.rfind(want, 0) == 0 && l.reason.rfind("fused into", 0) != 0;
      EXPECT_EQ(dw, 1) << "the forced depthwise kernel (" << tile << ") runs the depthwise layer";
    }
    for (const auto& l : e->manifest().layers)
      if (int8_moves && p == Precision::kInt8 &&
          (l.op == "Concat" || l.op == "Transpose" || l.op == "BatchNormalization")) {
        EXPECT_EQ(l.executed, Precision::kInt8) << l.name << " " << l.reason;
      }
    runtime::ExecutionContext ctx(e);
    for (int64_t b : {batch, int64_t{1}}) {
      std::vector<Tensor> xb;
      for (const Tensor& t : x) {
        Shape s = t.shape();
        s[0] = b;
        xb.push_back(Tensor::view(DType::f32, s, const_cast<void*>(t.raw())));
      }
      const std::vector<Tensor> got = ctx.run(xb);
      ASSERT_EQ(got.size(), want.size());
      for (size_t k = 0; k < got.size(); ++k) {
        const std::vector<float> w = want[k].to_floats(), v = got[k].to_floats();
        ASSERT_EQ(v.size() * static_cast<size_t>(batch), w.size() * static_cast<size_t>(b));
        float maxabs = 1e-6f, maxerr = 0.f;
        for (size_t i = 0; i < v.size(); ++i) {
          maxabs = std::max(maxabs, std::fabs(w[i]));
          maxerr = std::max(maxerr, std::isnan(v[i]) ? 1e30f : std::fabs(w[i] - v[i]));
        }
        const float tol = p == Precision::kFp32 ? 2e-5f : p == Precision::kFp16 ? 8e-3f : 0.08f;
        EXPECT_LE(maxerr, tol * maxabs) << "output " << k << " batch " << b;
      }
    }
  }
}

const std::vector<Precision> kFloat = {Precision::kFp32, Precision::kFp16};
const std::vector<Precision> kAll = {Precision::kFp32, Precision::kFp16, Precision::kInt8};

TEST(CudaOps, ActivationsMatchReference) {
  SKIP_WITHOUT_GPU();
  for (const char* name :
       {"Sigmoid", "Tanh", "Exp", "Sqrt", "HardSigmoid", "HardSwish", "Erf", "Silu", "Gelu"}) {
    SCOPED_TRACE(name);
    G b;
    Value* x = b.input("x", {6, 3, 5, 7});
    Attributes a;
    if (std::string(name) == "HardSigmoid") a.set("alpha", 0.3f), a.set("beta", 0.4f);
    auto g = b.done({b.op(name, {x}, a)});
    const float lo = std::string(name) == "Sqrt" ? 0.01f : -4.f;
    expect_matches_reference(*g, {rnd({6, 3, 5, 7}, lo, 4.f, 1)}, kFloat);
  }
}

TEST(CudaOps, BroadcastingArithmeticMatchesReference) {
  SKIP_WITHOUT_GPU();
  for (const char* name : {"Add", "Sub", "Mul", "Div"}) {
    SCOPED_TRACE(name);
    G b;
    Value* x = b.input("x", {4, 6, 5, 7});
    Value* s = b.input("s", {4, 6, 1, 1});
    Value* y = b.op(name, {x, s});                                     // channel scale
    Value* z = b.op(name, {y, b.c(rnd({7}, 0.5f, 2.f, 3))});           // constant, last axis
    Value* w = b.op(name, {b.c(rnd({1, 6, 1, 1}, 0.5f, 2.f, 4)), z});  // constant first
    auto g = b.done({w});
    const bool pos = std::string(name) == "Div";
    expect_matches_reference(
        *g, {rnd({4, 6, 5, 7}, pos ? 0.5f : -2.f, 2.f, 1), rnd({4, 6, 1, 1}, 0.5f, 2.f, 2)},
        std::string(name) == "Add" ? kAll : kFloat);
  }
  G b;
  Value* x = b.input("x", {4, 9, 12});
  auto g = b.done({b.op("Pow", {x, b.c(Tensor::scalar(2.f))})});
  expect_matches_reference(*g, {rnd({4, 9, 12}, -2.f, 2.f, 5)}, kFloat);
}

TEST(CudaOps, BatchNormalizationMatchesReference) {
  SKIP_WITHOUT_GPU();
  G b;
  Value* x = b.input("x", {3, 5, 6, 7});
  auto g = b.done(
      {b.op("BatchNormalization", {x, b.c(rnd({5}, 0.5f, 1.5f, 2)), b.c(rnd({5}, -1.f, 1.f, 3)),
                                   b.c(rnd({5}, -1.f, 1.f, 4)), b.c(rnd({5}, 0.5f, 2.f, 5))})});
  expect_matches_reference(*g, {rnd({3, 5, 6, 7}, -3.f, 3.f, 1)}, kFloat);
}

// Channel counts that are multiples of 4 take the map kernel's four-elements-a-thread path
// (inner dims of 5 or 7 above take the one-element path); BatchNormalization after a conv stays
// int8 at int8, as densenet's BN after each Concat does.
TEST(CudaOps, VectorizedMapsAndInt8BatchNormMatchReference) {
  SKIP_WITHOUT_GPU();
  G b;
  Value* x = b.conv1x1(b.input("x", {3, 8, 6, 4}), 8, 11);
  Value* bn =
      b.op("BatchNormalization", {x, b.c(rnd({8}, 0.5f, 1.5f, 2)), b.c(rnd({8}, -1.f, 1.f, 3)),
                                  b.c(rnd({8}, -1.f, 1.f, 4)), b.c(rnd({8}, 0.5f, 2.f, 5))});
  Value* gate = b.op("Sigmoid", {b.op("GlobalAveragePool", {x})});
  Value* se = b.op("Mul", {bn, gate});
  Value* y = b.conv1x1(b.input("y", {3, 4, 6, 4}), 4, 12);
  Attributes a;
  a.set("axis", int64_t{1});
  auto g = b.done(
      {b.op("Concat", {se, y}, a),
       b.op("BatchNormalization", {x, b.c(rnd({8}, 0.5f, 1.5f, 6)), b.c(rnd({8}, -1.f, 1.f, 7)),
                                   b.c(rnd({8}, -1.f, 1.f, 8)), b.c(rnd({8}, 0.5f, 2.f, 9))})});
  expect_matches_reference(*g, {rnd({3, 8, 6, 4}, -2.f, 2.f, 1), rnd({3, 4, 6, 4}, -1.f, 1.f, 2)},
                           kAll, true);
}

// More inputs than one batched launch takes (8), of channel counts that do and do not take the
// four-elements-a-thread path.
TEST(CudaOps, ConcatOfManyInputsMatchesReference) {
  SKIP_WITHOUT_GPU();
  G b;
  Value* x = b.input("x", {2, 4, 3, 5});
  std::vector<Value*> parts;
  for (uint64_t i = 0; i < 9; ++i) parts.push_back(b.conv1x1(x, 4, 20 + i));
  parts.push_back(b.op("Relu", {b.input("y", {2, 3, 3, 5})}));
  Attributes a;
  a.set("axis", int64_t{1});
  auto g = b.done({b.op("Concat", parts, a)});
  expect_matches_reference(*g, {rnd({2, 4, 3, 5}, -1.f, 1.f, 1), rnd({2, 3, 3, 5}, -1.f, 1.f, 2)},
                           kAll);
}

TEST(CudaOps, ConcatAndTransposeMatchReference) {
  SKIP_WITHOUT_GPU();
  for (int64_t axis : {1, 3, -1}) {
    SCOPED_TRACE(axis);
    G b;
    Value* x = b.conv1x1(b.input("x", {3, 2, 4, 5}), 2, 7);
    Value* y = b.conv1x1(b.input("y", {3, 2, 4, 5}), 2, 8);
    Attributes a;
    a.set("axis", axis);
    auto g = b.done({b.op("Concat", {x, y}, a)});
    expect_matches_reference(*g, {rnd({3, 2, 4, 5}, -1.f, 1.f, 1), rnd({3, 2, 4, 5}, -2.f, 1.f, 2)},
                             kAll, true);
  }
  for (std::vector<int64_t> perm : {std::vector<int64_t>{0, 2, 3, 1}, {0, 3, 1, 2}, {0, 1, 3, 2}}) {
    G b;
    Value* x = b.conv1x1(b.input("x", {3, 4, 5, 6}), 4, 9);
    Attributes a;
    a.set("perm", perm);
    auto g = b.done({b.op("Transpose", {x}, a)});
    expect_matches_reference(*g, {rnd({3, 4, 5, 6}, -1.f, 1.f, 3)}, kAll, true);
  }
  G b;  // rank 5 (ShuffleNet's channel shuffle)
  Value* x = b.input("x", {2, 2, 3, 4, 5});
  Attributes a;
  a.set("perm", std::vector<int64_t>{0, 2, 1, 3, 4});
  auto g = b.done({b.op("Transpose", {x}, a)});
  expect_matches_reference(*g, {rnd({2, 2, 3, 4, 5}, -1.f, 1.f, 4)}, kFloat);
}

TEST(CudaOps, PadSliceGatherMatchReference) {
  SKIP_WITHOUT_GPU();
  {
    G b;
    Value* x = b.input("x", {3, 4, 5, 6});
    auto g =
        b.done({b.op("Pad", {x, b.c(ints({0, 0, 1, 2, 0, 0, 2, 1})), b.c(Tensor::scalar(0.5f))})});
    expect_matches_reference(*g, {rnd({3, 4, 5, 6}, -1.f, 1.f, 1)}, kFloat);
  }
  {
    G b;
    Value* x = b.input("x", {3, 4, 5, 6});
    Value* s1 = b.op("Slice", {x, b.c(ints({1})), b.c(ints({3})), b.c(ints({1}))});
    Value* s2 = b.op("Slice", {x, b.c(ints({-1, 0})), b.c(ints({-100, 5})), b.c(ints({3, 2})),
                               b.c(ints({-2, 2}))});
    auto g = b.done({s1, s2});
    expect_matches_reference(*g, {rnd({3, 4, 5, 6}, -1.f, 1.f, 2)}, kFloat);
  }
  {
    G b;
    Value* x = b.input("x", {3, 5, 8});
    Attributes a;
    a.set("axis", int64_t{1});
    Value* first = b.op("Gather", {x, b.c(Tensor::from<int64_t>({}, {0}))}, a);
    Value* some = b.op("Gather", {x, b.c(ints({2, -1, 0}))}, a);
    auto g = b.done({first, some});
    expect_matches_reference(*g, {rnd({3, 5, 8}, -1.f, 1.f, 3)}, kFloat);
  }
}

TEST(CudaOps, ReduceMeanSoftmaxMatMulMatchReference) {
  SKIP_WITHOUT_GPU();
  {
    G b;
    Value* x = b.input("x", {3, 7, 33});
    Value* y = b.input("y", {3, 4, 5, 6});
    Attributes last, spatial;
    last.set("axes", std::vector<int64_t>{-1});
    spatial.set("axes", std::vector<int64_t>{2, 3});
    spatial.set("keepdims", int64_t{0});
    auto g = b.done({b.op("ReduceMean", {x}, last), b.op("ReduceMean", {y}, spatial)});
    expect_matches_reference(*g, {rnd({3, 7, 33}, -1.f, 1.f, 1), rnd({3, 4, 5, 6}, -1.f, 1.f, 2)},
                             kFloat);
  }
  {
    G b;
    Value* x = b.input("x", {3, 2, 70});
    auto g = b.done({b.op("Softmax", {x}), b.op("LogSoftmax", {x})});
    expect_matches_reference(*g, {rnd({3, 2, 70}, -5.f, 5.f, 3)}, kFloat);
  }
  {
    G b;
    Value* q = b.input("q", {2, 3, 7, 16});
    Value* k = b.input("k", {2, 3, 16, 5});
    Value* x = b.input("x", {2, 10, 16});
    auto g = b.done({b.op("MatMul", {q, k}), b.op("MatMul", {x, b.c(rnd({16, 9}, -1.f, 1.f, 4))})});
    expect_matches_reference(*g,
                             {rnd({2, 3, 7, 16}, -1.f, 1.f, 5), rnd({2, 3, 16, 5}, -1.f, 1.f, 6),
                              rnd({2, 10, 16}, -1.f, 1.f, 7)},
                             kFloat);
  }
  {
    // Attention's two products at sizes of several 64 x 64 tiles of the batched kernel: partial
    // tiles at the m and n edges, k in steps of 16 with a partial last one (40 and 130).
    G b;
    Value* q = b.input("q", {2, 3, 70, 40});
    Value* k = b.input("k", {2, 3, 40, 130});
    Value* s = b.op("MatMul", {q, k});
    Attributes swap;
    swap.set("perm", std::vector<int64_t>{0, 1, 3, 2});
    auto g = b.done({s, b.op("MatMul", {b.op("Softmax", {s}), b.op("Transpose", {k}, swap)})});
    expect_matches_reference(
        *g, {rnd({2, 3, 70, 40}, -1.f, 1.f, 8), rnd({2, 3, 40, 130}, -1.f, 1.f, 9)}, kFloat);
  }
}

TEST(CudaOps, LayerNormalizationMatchesReference) {
  SKIP_WITHOUT_GPU();
  G b;
  Value* x = b.input("x", {3, 7, 33});     // vit's [batch, tokens, dim]
  Value* y = b.input("y", {3, 4, 5, 24});  // convnext's channels-last rows
  Attributes last;
  last.set("axis", int64_t{-1});
  last.set("epsilon", 1e-6f);
  auto g = b.done({b.op("LayerNormalization",
                        {x, b.c(rnd({33}, 0.5f, 1.5f, 1)), b.c(rnd({33}, -0.5f, 0.5f, 2))}, last),
                   b.op("LayerNormalization", {y, b.c(rnd({24}, 0.5f, 1.5f, 3))}, last)});
  // A mean far from 0 against the spread: the variance must be taken about the mean.
  expect_matches_reference(*g, {rnd({3, 7, 33}, 9.f, 11.f, 4), rnd({3, 4, 5, 24}, -2.f, 2.f, 5)},
                           kFloat);
}

// torch's attention: the batch leaves dim 0 ([tokens, batch, dim], [tokens * batch, dim],
// [batch * heads, tokens, head_dim]); Transpose, Reshape and the dense layers follow it there.
TEST(CudaOps, BatchOutsideDimZeroRunsOnDevice) {
  SKIP_WITHOUT_GPU();
  G b;
  Value* x = b.input("x", {4, 5, 8});
  Attributes t10;
  t10.set("perm", std::vector<int64_t>{1, 0, 2});
  Value* tb = b.op("Transpose", {x}, t10);                  // [5, B, 8]
  Value* rows = b.op("Reshape", {tb, b.c(ints({-1, 8}))});  // [5B, 8]
  Attributes tr;
  tr.set("transB", int64_t{1});
  Value* fc = b.op("Gemm", {rows, b.c(rnd({8, 8}, -0.5f, 0.5f, 1)), b.c(rnd({8}, -0.1f, 0.1f, 2))},
                   tr);                                                // [5B, 8]
  Value* heads = b.op("Reshape", {fc, b.c(ints({5, -1, 4}))});         // [5, 2B, 4]
  Value* bh = b.op("Transpose", {heads}, t10);                         // [2B, 5, 4]
  Value* lin = b.op("MatMul", {x, b.c(rnd({8, 6}, -0.5f, 0.5f, 3))});  // [B, 5, 6]
  auto g = b.done({bh, lin});
  expect_matches_reference(*g, {rnd({4, 5, 8}, -1.f, 1.f, 4)}, kAll);
}

Value* conv(G& b, Value* x, int64_t ic, int64_t oc, unsigned seed) {
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{1, 1});
  return b.op(
      "Conv",
      {x, b.c(rnd({oc, ic, 1, 1}, -0.5f, 0.5f, seed)), b.c(rnd({oc}, -0.1f, 0.1f, seed + 1))}, a);
}

// x -> conv -> SiLU -> squeeze-excitation (GAP, conv, Relu, conv, Sigmoid, channel scale) ->
// Concat with a second conv branch -> Transpose to channels-last -> ReduceMean over channels.
TEST(CudaOps, SqueezeExcitationGraphRunsOnDevice) {
  SKIP_WITHOUT_GPU();
  G b;
  Value* x = b.input("x", {8, 8, 10, 10});
  Value* c1 = conv(b, x, 8, 16, 1);
  Value* silu = b.op("Mul", {c1, b.op("Sigmoid", {c1})});
  Value* se = b.op("GlobalAveragePool", {silu});
  se = b.op("Sigmoid", {conv(b, b.op("Relu", {conv(b, se, 16, 4, 3)}), 4, 16, 5)});
  Value* scaled = b.op("Mul", {silu, se});
  Attributes cat, perm, mean;
  cat.set("axis", int64_t{1});
  perm.set("perm", std::vector<int64_t>{0, 2, 3, 1});
  mean.set("axes", std::vector<int64_t>{-1});
  mean.set("keepdims", int64_t{0});
  Value* joined = b.op("Concat", {scaled, conv(b, x, 8, 8, 7)}, cat);
  auto g = b.done({b.op("ReduceMean", {b.op("Transpose", {joined}, perm)}, mean)});
  expect_matches_reference(*g, {rnd({8, 8, 10, 10}, -1.f, 1.f, 9)}, kAll);
}

Value* depthwise(G& b, Value* x, int64_t c, int64_t stride, unsigned seed, int64_t k = 3) {
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{k, k});
  a.set("pads", std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2});
  a.set("strides", std::vector<int64_t>{stride, stride});
  a.set("group", c);
  return b.op("Conv",
              {x, b.c(rnd({c, 1, k, k}, -0.5f, 0.5f, seed)), b.c(rnd({c}, -0.1f, 0.1f, seed + 1))},
              a);
}

// MobileNet's inverted residual core: 1x1 expansion + Relu, then depthwise KxK + Clip(0, 6), at
// stride 1 and 2; each depthwise kernel forced (the one for any window and the one built for
// the layer's window), against the reference; in int8 their bytes equal the implicit GEMM's
// (exact integer sums, one epilogue). 30 channels take the element loads, 36 the vector loads.
TEST(CudaOps, DepthwiseConvMatchesReferenceAndGemm) {
  SKIP_WITHOUT_GPU();
  struct Case {
    int64_t k, stride, c;
  };
  for (const Case cs : {Case{3, 1, 36}, Case{3, 2, 36}, Case{5, 1, 30}, Case{5, 2, 36},
                        Case{7, 1, 36}, Case{7, 1, 30}}) {
    SCOPED_TRACE(testing::Message()
                 << cs.k << "x" << cs.k << " stride " << cs.stride << ", " << cs.c << " channels");
    G b;
    Value* x = b.input("x", {4, 8, 11, 11});
    Value* e = b.op("Relu", {conv(b, x, 8, cs.c, 1)});
    auto g = b.done({b.op("Clip", {depthwise(b, e, cs.c, cs.stride, 3, cs.k),
                                   b.c(Tensor::scalar(0.f)), b.c(Tensor::scalar(6.f))})});
    const Tensor in = rnd({4, 8, 11, 11}, -1.f, 1.f, 5);
    const std::string row = str("_k", cs.k, "s", cs.stride);
    for (const std::string kind : {"f32", "f16"}) {
      for (const std::string tile : {"depthwise_" + kind, "depthwise_row_" + kind + row}) {
        setenv("MPQ_DEBUG", ("cuda-tile=" + tile).c_str(), 1);
        expect_matches_reference(*g, {in}, {kind == "f32" ? Precision::kFp32 : Precision::kFp16});
        unsetenv("MPQ_DEBUG");
      }
    }
    const quant::CalibrationTable table = minmax_table(*g, {in});
    std::vector<Tensor> outs;
    for (const std::string& env : std::vector<std::string>{
             "cuda-no-depthwise", "cuda-tile=depthwise_u8", "cuda-tile=depthwise_row_u8" + row}) {
      setenv("MPQ_DEBUG", env.c_str(), 1);
      plan::BuildOptions o;
      o.backend = "cuda";
      o.max_batch = 4;
      o.default_precision = Precision::kInt8;
      auto eng = runtime::Engine::build(*g, &table, o);
      unsetenv("MPQ_DEBUG");
      for (const auto& l : eng->manifest().layers)
        if (l.op == "FusedConv" && l.fused.size() == 1)
          std::printf("  %s (%s): %s\n", l.name.c_str(), env.c_str(), l.impl.c_str());
      runtime::ExecutionContext ctx(eng);
      outs.push_back(ctx.run({in})[0]);
    }
    for (size_t i = 1; i < outs.size(); ++i) {
      ASSERT_EQ(outs[0].nbytes(), outs[i].nbytes());
      EXPECT_EQ(std::memcmp(outs[0].raw(), outs[i].raw(), outs[0].nbytes()), 0) << i;
    }
  }
}

// The check runs before any kernel is prepared, so it needs no GPU.
TEST(CudaOps, HostStepFailsUnlessAllowed) {
  G b;
  Value* x = b.input("x", {2, 3, 4, 4});
  auto g = b.done({b.op("Neg", {b.op("Relu", {x})})});
  plan::BuildOptions o;
  o.backend = "cuda";
  o.max_batch = 2;
  try {
    runtime::Engine::build(*g, nullptr, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kUnsupported);
    EXPECT_EQ(e.status().node, "Neg") << e.status().message;
    EXPECT_NE(e.status().message.find("Neg 'Neg'"), std::string::npos) << e.status().message;
    EXPECT_NE(e.status().message.find("--allow-host-fallback"), std::string::npos);
  }
  o.allow_host_fallback = true;
  if (!cuda::device_unavailable_reason().empty()) {
    EXPECT_THROW(runtime::Engine::build(*g, nullptr, o), Error);  // no GPU, the usual error
    return;
  }
  auto e = runtime::Engine::build(*g, nullptr, o);
  int host = 0;
  for (const auto& st : e->plan().steps) host += st.backend != "cuda";
  EXPECT_EQ(host, 1);
  bool noted = false;
  for (const auto& n : e->manifest().notes)
    noted = noted || n.find("allow_host_fallback") != std::string::npos;
  EXPECT_TRUE(noted);
  const Tensor in = rnd({2, 3, 4, 4}, -1.f, 1.f, 1);
  runtime::ExecutionContext ctx(e);
  const Tensor y = ctx.run({in})[0];
  for (int64_t i = 0; i < in.numel(); ++i)
    EXPECT_EQ(y.data<float>()[i], -std::max(in.data<float>()[i], 0.f));
}

}  // namespace
}  // namespace mpq
#endif  // MPQ_HAVE_CUDA
