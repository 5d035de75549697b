// Every oneDNN kernel against the reference forward, per executed precision, through a
// one-op (or small) graph built into an engine: fp32 tight, bf16 loose, int8 against the reference
// run on the fake-quantized inputs/weights with the plan's own scales (1-2 quantization steps).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu_kernel_check.h"
#include "engine_test_util.h"

namespace mpq {
namespace {

using testing::add;
using testing::attrs_ints;
using testing::random_tensor;

using testing::check;
using testing::kAll;

struct ConvCase {
  const char* name;
  int64_t cin, cout, k, stride, pad, dil, group;
  bool bias;
};

// gtest prints a parameter with this (its bytes otherwise).
void PrintTo(const ConvCase& c, std::ostream* os) {
  *os << c.name;
}

class ConvKernel : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvKernel, MatchesReference) {
  const ConvCase c = GetParam();
  Rng rng(7);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, c.cin, 9, 9});
  Value* w =
      g.add_constant("w", random_tensor(rng, {c.cout, c.cin / c.group, c.k, c.k}, -0.5f, 0.5f));
  std::vector<Value*> in{x, w};
  if (c.bias) in.push_back(g.add_constant("b", random_tensor(rng, {c.cout})));
  Attributes a = attrs_ints({{"strides", {c.stride, c.stride}},
                             {"pads", {c.pad, c.pad, c.pad, c.pad}},
                             {"dilations", {c.dil, c.dil}}});
  a.set("group", c.group);
  Node* conv = add(g, "Conv", in, a, "conv");
  g.add_output(conv->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, c.cin, 9, 9}, -1.f, 2.f)};
  for (Precision p : kAll) {
    check(g, inputs, p, "Conv", 4, "direct");
    if (c.group == 1) check(g, inputs, p, "Conv", 4, "gemm");
  }
}

INSTANTIATE_TEST_SUITE_P(Cpu, ConvKernel,
                         ::testing::Values(ConvCase{"k3p1", 8, 16, 3, 1, 1, 1, 1, true},
                                           ConvCase{"k3s2", 8, 16, 3, 2, 0, 1, 1, false},
                                           ConvCase{"grouped", 8, 12, 3, 1, 1, 1, 2, true},
                                           ConvCase{"depthwise", 16, 16, 3, 1, 1, 1, 16, true},
                                           ConvCase{"dilated", 4, 8, 3, 1, 2, 2, 1, true},
                                           ConvCase{"pointwise", 16, 32, 1, 1, 0, 1, 1, true},
                                           ConvCase{"rgb", 3, 16, 5, 1, 2, 1, 1, true}),
                         [](const auto& i) { return std::string(i.param.name); });

// Conv -> BN -> Add(residual) -> Relu, and Conv -> Clip(0, 6): folded and fused into one kernel.
TEST(CpuKernels, FusedConvEpilogues) {
  Rng rng(11);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 8, 8, 8});
  Node* c1 =
      add(g, "Conv", {x, g.add_constant("w1", random_tensor(rng, {8, 8, 3, 3}, -0.3f, 0.3f))},
          attrs_ints({{"pads", {1, 1, 1, 1}}}), "c1");
  Node* bn = add(g, "BatchNormalization",
                 {c1->outputs[0], g.add_constant("g", random_tensor(rng, {8}, 0.5f, 1.5f)),
                  g.add_constant("be", random_tensor(rng, {8})),
                  g.add_constant("m", random_tensor(rng, {8}, -0.2f, 0.2f)),
                  g.add_constant("v", random_tensor(rng, {8}, 0.5f, 2.f))},
                 {}, "bn");
  Node* sum = add(g, "Add", {bn->outputs[0], x}, {}, "add");
  Node* relu = add(g, "Relu", {sum->outputs[0]}, {}, "relu");
  Node* c2 =
      add(g, "Conv", {relu->outputs[0], g.add_constant("w2", random_tensor(rng, {8, 8, 1, 1}))}, {},
          "c2");
  Node* clip = add(g, "Clip",
                   {c2->outputs[0], g.add_constant("lo", Tensor::scalar(0.f)),
                    g.add_constant("hi", Tensor::scalar(0.6f))},
                   {}, "clip");
  g.add_output(clip->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 8, 8, 8})};
  for (Precision p : kAll) {
    check(g, inputs, p, "FusedConv", 4, "direct");
    check(g, inputs, p, "FusedConv", 4, "gemm");
    quant::CalibrationTable t = testing::minmax_table(g, inputs);
    auto e = testing::build_engine(g, &t, p, 4);
    int fused = 0;
    for (const auto& r : e->manifest().layers)
      if (r.op == "FusedConv") ++fused;
    EXPECT_EQ(fused, 2) << e->manifest().to_table();
  }
}

TEST(CpuKernels, GemmMatMulAndSoftmax) {
  Rng rng(5);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 32});
  Attributes ta;
  ta.set("transB", int64_t{1});
  Node* fc1 = add(g, "Gemm",
                  {x, g.add_constant("w1", random_tensor(rng, {24, 32})),
                   g.add_constant("b1", random_tensor(rng, {24}))},
                  ta, "fc1");
  Node* r = add(g, "Relu", {fc1->outputs[0]}, {}, "r");
  Attributes ab;
  ab.set("alpha", 0.5f);
  ab.set("beta", 2.f);
  Node* fc2 = add(g, "Gemm",
                  {r->outputs[0], g.add_constant("w2", random_tensor(rng, {24, 16})),
                   g.add_constant("b2", random_tensor(rng, {16}))},
                  ab, "fc2");
  Node* mm = add(g, "MatMul", {fc2->outputs[0], g.add_constant("w3", random_tensor(rng, {16, 10}))},
                 {}, "mm");
  Node* sm = add(g, "LogSoftmax", {mm->outputs[0]}, {}, "sm");
  g.add_output(sm->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 32})};
  // The dense MatMul "mm" runs as a FusedGemm too (the fusion pass makes it one).
  for (Precision p : kAll) check(g, inputs, p, "FusedGemm");
  check(g, inputs, Precision::kFp32, "LogSoftmax");
  check(g, inputs, Precision::kBf16, "LogSoftmax");
}

TEST(CpuKernels, Pooling) {
  Rng rng(3);
  struct P {
    const char* op;
    std::vector<int64_t> k, s, pads;
    int64_t ceil, include_pad;
  };
  const P cases[] = {{"MaxPool", {3, 3}, {2, 2}, {1, 1, 1, 1}, 0, 0},
                     {"MaxPool", {2, 2}, {2, 2}, {0, 0, 0, 0}, 1, 0},
                     {"AveragePool", {2, 2}, {2, 2}, {0, 0, 0, 0}, 0, 0},
                     {"AveragePool", {3, 3}, {1, 1}, {1, 1, 1, 1}, 0, 1},
                     {"AveragePool", {3, 3}, {2, 2}, {1, 1, 1, 1}, 1, 0}};
  for (const P& c : cases) {
    Graph g;
    Value* x = g.add_input("x", DType::f32, {4, 8, 9, 9});
    // A conv first, so that int8 pooling reads int8 (passthrough).
    Node* conv =
        add(g, "Conv", {x, g.add_constant("w", random_tensor(rng, {8, 8, 1, 1}))}, {}, "c");
    Attributes a = attrs_ints({{"kernel_shape", c.k}, {"strides", c.s}, {"pads", c.pads}});
    a.set("ceil_mode", c.ceil);
    if (std::string(c.op) == "AveragePool") a.set("count_include_pad", c.include_pad);
    Node* pool = add(g, c.op, {conv->outputs[0]}, a, "pool");
    g.add_output(pool->outputs[0]);
    std::vector<Tensor> inputs{random_tensor(rng, {4, 8, 9, 9})};
    SCOPED_TRACE(str(c.op, " ceil=", c.ceil, " pad=", c.pads[0]));
    check(g, inputs, Precision::kFp32, c.op);
    check(g, inputs, Precision::kBf16, c.op);
    if (std::string(c.op) == "MaxPool") check(g, inputs, Precision::kInt8, c.op);
  }
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 8, 5, 5});
  Node* gap = add(g, "GlobalAveragePool", {x}, {}, "gap");
  Node* fl = add(g, "Flatten", {gap->outputs[0]}, {}, "flat");
  g.add_output(fl->outputs[0]);
  check(g, {random_tensor(rng, {4, 8, 5, 5})}, Precision::kFp32, "GlobalAveragePool");
}

TEST(CpuKernels, EltwiseAndBinary) {
  Rng rng(9);
  for (const char* op : {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip"}) {
    Graph g;
    Value* x = g.add_input("x", DType::f32, {4, 6, 5, 5});
    std::vector<Value*> in{x};
    if (std::string(op) == "Clip") {
      in.push_back(g.add_constant("lo", Tensor::scalar(-0.5f)));
      in.push_back(g.add_constant("hi", Tensor::scalar(0.25f)));
    }
    Node* n = add(g, op, in, {}, "act");
    g.add_output(n->outputs[0]);
    std::vector<Tensor> inputs{random_tensor(rng, {4, 6, 5, 5})};
    check(g, inputs, Precision::kFp32, op);
    check(g, inputs, Precision::kBf16, op);
  }
  // Broadcast Add/Mul of a per-channel constant, and Add of two tensors.
  for (const char* op : {"Add", "Mul"}) {
    Graph g;
    Value* x = g.add_input("x", DType::f32, {4, 6, 5, 5});
    Node* n = add(g, op, {x, g.add_constant("c", random_tensor(rng, {6, 1, 1}))}, {}, "bin");
    Node* m = add(g, op, {n->outputs[0], x}, {}, "bin2");
    g.add_output(m->outputs[0]);
    std::vector<Tensor> inputs{random_tensor(rng, {4, 6, 5, 5})};
    check(g, inputs, Precision::kFp32, op);
    check(g, inputs, Precision::kBf16, op);
  }
}

// int8 passthrough (Relu, Clip, MaxPool) and an int8 Add that is not fused (its inputs come from
// pooling), with zero points from signed ranges.
TEST(CpuKernels, Int8PassthroughAndAdd) {
  Rng rng(13);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 8, 8, 8});
  Node* c1 =
      add(g, "Conv", {x, g.add_constant("w1", random_tensor(rng, {8, 8, 3, 3}, -0.3f, 0.3f))},
          attrs_ints({{"pads", {1, 1, 1, 1}}}), "c1");
  Node* c2 = add(g, "Conv", {x, g.add_constant("w2", random_tensor(rng, {8, 8, 1, 1}))}, {}, "c2");
  Attributes pa = attrs_ints({{"kernel_shape", {2, 2}}, {"strides", {2, 2}}});
  Node* p1 = add(g, "MaxPool", {c1->outputs[0]}, pa, "p1");
  Node* p2 = add(g, "MaxPool", {c2->outputs[0]}, pa, "p2");
  Node* s = add(g, "Add", {p1->outputs[0], p2->outputs[0]}, {}, "sum");
  Node* clip = add(g, "Clip",
                   {s->outputs[0], g.add_constant("lo", Tensor::scalar(-0.5f)),
                    g.add_constant("hi", Tensor::scalar(1.f))},
                   {}, "clip");
  Node* relu = add(g, "Relu", {clip->outputs[0]}, {}, "relu");
  g.add_output(relu->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 8, 8, 8})};
  check(g, inputs, Precision::kInt8, "Add");
  check(g, inputs, Precision::kInt8, "Clip");
  check(g, inputs, Precision::kInt8, "Relu");
}

// Flatten of an NHWC activation must follow NCHW element order.
TEST(CpuKernels, FlattenAfterConvKeepsNchwOrder) {
  Rng rng(21);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 3, 6, 6});
  Node* c = add(g, "Conv", {x, g.add_constant("w", random_tensor(rng, {5, 3, 3, 3}))}, {}, "c");
  Node* f = add(g, "Flatten", {c->outputs[0]}, {}, "flat");
  Attributes ta;
  ta.set("transB", int64_t{1});
  Node* fc =
      add(g, "Gemm", {f->outputs[0], g.add_constant("wf", random_tensor(rng, {7, 80}))}, ta, "fc");
  g.add_output(fc->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 3, 6, 6})};
  for (Precision p : kAll) check(g, inputs, p, "Flatten");
}

// Runs the CPU reorder kernel from `from` (f32) into `to` (u8) at `batch`; returns its impl name.
std::string run_quantize_reorder(const TensorSpec& from, const TensorSpec& to, int64_t batch,
                                 const std::vector<float>& xs, std::vector<uint8_t>* out) {
  const KernelInfo* k = nullptr;
  for (const auto& ki : KernelRegistry::instance().all())
    if (ki.name == "cpu.reorder") k = &ki;
  if (!k) return "";
  auto kern = k->make();
  Graph g;
  Value* xv = g.add_input("x", DType::f32, from.shape);
  Node* n = g.add_node(find_op_def("Reorder")->kind, "r", {xv}, 1);
  KernelSetup s{n, Precision::kFp32, {&from}, {&to}, batch};
  kern->prepare(s);
  out->assign(xs.size(), 0);
  auto ctx = cpu_backend().make_context(1);
  KernelArgs a;
  a.batch = batch;
  a.inputs = {xs.data()};
  a.outputs = {out->data()};
  a.ctx = ctx.get();
  kern->run(a);
  return kern->impl_name();
}

// Quantize (f32 NCHW -> u8 NHWC) is bit-identical to ONNX QuantizeLinear, including ties.
TEST(CpuKernels, QuantizeReorderMatchesQuantizeLinearOnTies) {
  TensorSpec from;
  from.name = "x";
  from.shape = {1, 2, 2, 2};
  from.batched = true;
  TensorSpec to = from;
  to.dtype = DType::u8;
  to.layout = Layout::kNHWC;
  to.quant = QuantParams{{0.5f}, {10}, -1, 8, false};
  // 0.25/0.5 = 0.5 -> 0 (even); 0.75/0.5 = 1.5 -> 2; -1.25/0.5 = -2.5 -> -2; 200 saturates.
  std::vector<float> xs{0.25f, 0.75f, -1.25f, 200.f, -100.f, 1.f, 2.25f, 0.f};
  std::vector<uint8_t> out;
  EXPECT_EQ(run_quantize_reorder(from, to, 1, xs, &out), "mpq:quantize_nchw_to_nhwc");
  // NHWC position of (c, h, w) = (h*2 + w)*2 + c.
  const int expect_nchw[8] = {10, 12, 8, 255, 0, 12, 14, 10};
  for (int c = 0; c < 2; ++c)
    for (int hw = 0; hw < 4; ++hw)
      EXPECT_EQ(out[hw * 2 + c], expect_nchw[c * 4 + hw]) << c << "," << hw;
}

// Quantize from NHWC f32 into a plain u8 tensor (a channels-last Linear's input that an
// element-wise op left in NHWC): the same values, each at its plain position.
TEST(CpuKernels, QuantizeReorderFromNhwcToPlain) {
  TensorSpec from;
  from.name = "x";
  from.shape = {2, 3, 2, 5};  // C = 3, HW = 10
  from.batched = true;
  from.layout = Layout::kNHWC;
  TensorSpec to = from;
  to.dtype = DType::u8;
  to.layout = Layout::kPlain;
  to.quant = QuantParams{{0.25f}, {7}, -1, 8, false};
  std::vector<float> xs(60);
  for (int i = 0; i < 60; ++i) xs[i] = 0.25f * static_cast<float>(i % 37) - 1.5f;
  std::vector<uint8_t> out;
  EXPECT_EQ(run_quantize_reorder(from, to, 2, xs, &out), "mpq:quantize_nhwc_to_nchw");
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 10; ++p) {
        const float v = xs[(b * 10 + p) * 3 + c];
        const int want = std::clamp(static_cast<int>(std::nearbyint(v / 0.25f)) + 7, 0, 255);
        EXPECT_EQ(out[(b * 3 + c) * 10 + p], want) << b << "," << c << "," << p;
      }
}

}  // namespace
}  // namespace mpq

namespace mpq {
namespace {
// A residual sum whose residual is a float tensor (the model input) while the conv runs int8.
TEST(CpuKernels, ResidualSumFromFloatInput) {
  Rng rng(17);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2, 8, 6, 6});
  Node* c = add(g, "Conv", {x, g.add_constant("w", random_tensor(rng, {8, 8, 3, 3}, -0.3f, 0.3f))},
                attrs_ints({{"pads", {1, 1, 1, 1}}}), "c");
  Node* s = add(g, "Add", {c->outputs[0], x}, {}, "add");
  Node* r = add(g, "Relu", {s->outputs[0]}, {}, "relu");
  Node* p = add(g, "MaxPool", {r->outputs[0]},
                attrs_ints({{"kernel_shape", {2, 2}}, {"strides", {2, 2}}}), "pool");
  g.add_output(p->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {2, 8, 6, 6})};
  for (Precision pr : kAll)
    for (const char* v : {"direct", "gemm"}) check(g, inputs, pr, "FusedConv", 2, v);
}
}  // namespace
}  // namespace mpq

namespace mpq {
namespace {
// Inception-style branches joined by Concat; in int8 the branches write in the Concat's scale.
TEST(CpuKernels, ConcatOfBranches) {
  Rng rng(23);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {4, 6, 7, 7});
  Node* a = add(g, "Conv", {x, g.add_constant("wa", random_tensor(rng, {5, 6, 1, 1}))}, {}, "a");
  Node* ra = add(g, "Relu", {a->outputs[0]}, {}, "ra");
  Node* b = add(g, "Conv", {x, g.add_constant("wb", random_tensor(rng, {3, 6, 3, 3}, -0.3f, 0.3f))},
                attrs_ints({{"pads", {1, 1, 1, 1}}}), "b");
  Node* rb = add(g, "Relu", {b->outputs[0]}, {}, "rb");
  Attributes ca;
  ca.set("axis", int64_t{1});
  Node* cat = add(g, "Concat", {ra->outputs[0], rb->outputs[0]}, ca, "cat");
  Node* c = add(g, "Conv",
                {cat->outputs[0], g.add_constant("wc", random_tensor(rng, {4, 8, 1, 1}))}, {}, "c");
  g.add_output(c->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {4, 6, 7, 7})};
  for (Precision p : kAll) check(g, inputs, p, "Concat");
}

// shufflenet's unit: a channel Slice (plain) beside a conv branch (NHWC) in different scales is
// concatenated int8, each input requantized through its own layout.
TEST(CpuKernels, ConcatOfInputsInDifferentLayouts) {
  Rng rng(29);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2, 8, 6, 6});
  Node* c0 = add(g, "Conv", {x, g.add_constant("w0", random_tensor(rng, {8, 8, 1, 1}))}, {}, "c0");
  Node* r0 = add(g, "Relu", {c0->outputs[0]}, {}, "r0");
  auto slice = [&](int64_t lo, int64_t hi, const char* name) {
    return add(g, "Slice",
               {r0->outputs[0], g.add_constant(str(name, "_s"), Tensor::from<int64_t>({1}, {lo})),
                g.add_constant(str(name, "_e"), Tensor::from<int64_t>({1}, {hi})),
                g.add_constant(str(name, "_a"), Tensor::from<int64_t>({1}, {1}))},
               {}, name);
  };
  Node* a = slice(0, 4, "keep");
  Node* b = slice(4, 8, "work");
  Node* c1 = add(g, "Conv",
                 {b->outputs[0], g.add_constant("w1", random_tensor(rng, {4, 4, 1, 1}, -2.f, 2.f))},
                 {}, "c1");
  Attributes ca;
  ca.set("axis", int64_t{1});
  Node* cat = add(g, "Concat", {a->outputs[0], c1->outputs[0]}, ca, "cat");
  Node* c2 =
      add(g, "Conv", {cat->outputs[0], g.add_constant("w2", random_tensor(rng, {3, 8, 1, 1}))}, {},
          "c2");
  g.add_output(c2->outputs[0]);
  std::vector<Tensor> inputs{random_tensor(rng, {2, 8, 6, 6})};
  check(g, inputs, Precision::kInt8, "Concat", 2);
}
}  // namespace
}  // namespace mpq
