// The cuda backend end to end: a small residual CNN through the plan builder, engine and
// ExecutionContext (device buffers, CUDA graph per batch) against the reference executor, in
// fp32, fp16 and int8. Without a GPU, building for the cuda backend must fail cleanly.
#ifdef MPQ_HAVE_CUDA
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "backends/cuda/cuda_util.h"
#include "backends/cuda/launch.h"
#include "backends/reference/executor.h"
#include "cuda_test_util.h"
#include "ir/op_def.h"
#include "runtime/engine.h"
#include "runtime/engine_file.h"

namespace mpq {
namespace {

using cuda_testing::rnd;

// x[N,3,12,12] -> conv3x3(16)+relu -> maxpool2 -> conv3x3(16) + skip -> relu -> GAP -> flatten ->
// gemm(10).
std::unique_ptr<Graph> small_resnet() {
  auto g = std::make_unique<Graph>();
  auto op = [&](const char* name) { return find_op_def(name)->kind; };
  auto node = [&](const char* o, const std::string& name, std::vector<Value*> in,
                  Attributes a = {}) {
    Node* n = g->add_node(op(o), name, std::move(in), 1, std::move(a));
    apply_attr_schema(*n);
    return n->outputs[0];
  };
  Attributes conv;
  conv.set("kernel_shape", std::vector<int64_t>{3, 3});
  conv.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value* x = g->add_input("x", DType::f32, {-1, 3, 12, 12});
  Value* c1 = node("Conv", "conv1",
                   {x, g->add_constant("w1", rnd({16, 3, 3, 3}, -0.4f, 0.4f, 1)),
                    g->add_constant("b1", rnd({16}, -0.1f, 0.1f, 2))},
                   conv);
  Value* r1 = node("Relu", "relu1", {c1});
  Attributes mp;
  mp.set("kernel_shape", std::vector<int64_t>{2, 2});
  mp.set("strides", std::vector<int64_t>{2, 2});
  Value* p1 = node("MaxPool", "pool1", {r1}, mp);
  Value* c2 = node("Conv", "conv2",
                   {p1, g->add_constant("w2", rnd({16, 16, 3, 3}, -0.15f, 0.15f, 3)),
                    g->add_constant("b2", rnd({16}, -0.1f, 0.1f, 4))},
                   conv);
  Value* s = node("Add", "add", {c2, p1});
  Value* r2 = node("Relu", "relu2", {s});
  Value* gp = node("GlobalAveragePool", "gap", {r2});
  Value* fl = node("Flatten", "flatten", {gp});
  Attributes gm;
  gm.set("transB", int64_t{1});
  Value* y = node("Gemm", "fc",
                  {fl, g->add_constant("wf", rnd({10, 16}, -0.5f, 0.5f, 5)),
                   g->add_constant("bf", rnd({10}, -0.1f, 0.1f, 6))},
                  gm);
  g->add_output(y);
  infer_shapes(*g);
  return g;
}

TEST(CudaEngine, BuildWithoutGpuFailsCleanly) {
  if (cuda::device_unavailable_reason().empty()) GTEST_SKIP() << "a GPU is present";
  auto g = small_resnet();
  plan::BuildOptions o;
  o.backend = "cuda";
  o.max_batch = 4;
  try {
    runtime::Engine::build(*g, nullptr, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kUnsupported);
    EXPECT_NE(e.status().message.find("GPU"), std::string::npos) << e.status().message;
  }
}

TEST(CudaEngine, SmallResnetMatchesReference) {
  SKIP_WITHOUT_GPU();
  auto g = small_resnet();
  const int64_t batch = 32;
  const Tensor x = rnd({batch, 3, 12, 12}, -1.f, 1.f, 9);
  const Tensor want = ReferenceExecutor(*g).run({x})[0];
  const quant::CalibrationTable table = cuda_testing::minmax_table(*g, {x});
  for (Precision p : {Precision::kFp32, Precision::kFp16, Precision::kInt8}) {
    SCOPED_TRACE(precision_name(p));
    plan::BuildOptions o;
    o.backend = "cuda";
    o.max_batch = batch;
    o.default_precision = p;
    auto e = runtime::Engine::build(*g, &table, o);
    // int8 says in a note when the Hopper kernels were left out, and only then.
    const std::string fallback =
        cuda::wgmma_fallback_note(cuda::device_sm(), cuda::wgmma_compiled());
    const auto& notes = e->manifest().notes;
    const bool noted =
        !fallback.empty() && std::any_of(notes.begin(), notes.end(), [&](const std::string& n) {
          return n.find(fallback) != std::string::npos;
        });
    EXPECT_EQ(noted, p == Precision::kInt8 && !fallback.empty());
    for (const auto& l : e->manifest().layers) {
      EXPECT_EQ(l.backend, "cuda") << l.name << " " << l.kernel << " " << l.reason;
      if (l.op == "FusedConv" || l.op == "FusedGemm" || l.op == "Conv" || l.op == "Gemm") {
        EXPECT_EQ(l.executed, p) << l.name << " " << l.reason;
      }
    }
    runtime::ExecutionContext ctx(e);
    for (int64_t b : {batch, int64_t{5}, batch}) {
      Tensor xb = Tensor::view(DType::f32, {b, 3, 12, 12}, const_cast<void*>(x.raw()));
      std::vector<Tensor> out = ctx.run({xb});
      ASSERT_EQ(out.size(), 1u);
      ASSERT_EQ(out[0].dim(0), b);
      float maxabs = 1e-6f, maxerr = 0.f;
      int agree = 0;
      for (int64_t i = 0; i < b; ++i) {
        int am = 0, bm = 0;
        for (int j = 0; j < 10; ++j) {
          const float w = want.data<float>()[i * 10 + j], v = out[0].data<float>()[i * 10 + j];
          maxabs = std::max(maxabs, std::fabs(w));
          maxerr = std::max(maxerr, std::isnan(v) ? 1e30f : std::fabs(w - v));
          if (w > want.data<float>()[i * 10 + am]) am = j;
          if (v > out[0].data<float>()[i * 10 + bm]) bm = j;
        }
        agree += am == bm;
      }
      const float tol = p == Precision::kFp32 ? 1e-4f : p == Precision::kFp16 ? 1e-2f : 0.08f;
      EXPECT_LE(maxerr, tol * maxabs) << "batch " << b;
      if (p != Precision::kInt8) {
        EXPECT_EQ(agree, b);
      }
    }
    EXPECT_GT(ctx.device_kernel_ms(batch, 5), 0.0);
  }
}

// A cuda engine saved to .mpqe and loaded back: same plan (kernels and their tile/split
// choices, without timing them again) and the same output bits.
TEST(CudaEngine, EngineFileRoundTripGivesIdenticalOutputs) {
  SKIP_WITHOUT_GPU();
  auto g = small_resnet();
  const int64_t batch = 16;
  const Tensor x = rnd({batch, 3, 12, 12}, -1.f, 1.f, 11);
  const quant::CalibrationTable table = cuda_testing::minmax_table(*g, {x});
  const std::string path = ::testing::TempDir() + "/cuda_roundtrip.mpqe";
  for (Precision p : {Precision::kInt8, Precision::kFp16}) {
    SCOPED_TRACE(precision_name(p));
    plan::BuildOptions o;
    o.backend = "cuda";
    o.max_batch = batch;
    o.default_precision = p;
    auto built = runtime::Engine::build(*g, &table, o);
    runtime::save_engine(*built, {}, path);
    runtime::LoadedEngine le = runtime::load_engine(path);
    ASSERT_EQ(le.engine->plan().options.backend, "cuda");
    const auto& a = built->plan().steps;
    const auto& b = le.engine->plan().steps;
    ASSERT_EQ(a.size(), b.size());
    int conv_steps = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].backend, b[i].backend) << a[i].node->name;
      EXPECT_EQ(a[i].variant, b[i].variant) << a[i].node->name;
      if (a[i].variant.find('/') != std::string::npos) ++conv_steps;
    }
    EXPECT_EQ(conv_steps, 3) << "conv1, conv2 and fc record their tile configuration";
    const auto& ma = built->manifest().layers;
    const auto& mb = le.engine->manifest().layers;
    ASSERT_EQ(ma.size(), mb.size());
    for (size_t i = 0; i < ma.size(); ++i) {
      EXPECT_EQ(ma[i].impl, mb[i].impl) << ma[i].name;
      if (ma[i].op == "FusedConv" || ma[i].op == "Gemm")
        EXPECT_TRUE(mb[i].impl.rfind("cuda.igemm_", 0) == 0 ||
                    mb[i].impl.rfind("cuda.direct_", 0) == 0)
            << mb[i].impl;
    }
    runtime::ExecutionContext c1(built), c2(le.engine);
    const Tensor y1 = c1.run({x})[0], y2 = c2.run({x})[0];
    ASSERT_EQ(y1.nbytes(), y2.nbytes());
    EXPECT_EQ(std::memcmp(y1.raw(), y2.raw(), y1.nbytes()), 0);
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace mpq
#endif  // MPQ_HAVE_CUDA
