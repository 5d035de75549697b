// CUDA kernels against CPU oracles (skipped without a GPU):
//   * int8 conv/gemm: every compiled tile configuration (and a forced split-K) against the
//     emulation of the CPU engine's arithmetic (int8_conv_emulation.h): the same bytes / float
//     bits, and within 1 LSB of the real-valued result;
//   * fp16 / fp32 conv/gemm against the reference forward of the float op;
//   * pooling, conversion, element-wise ops against the reference backend.
#ifdef MPQ_HAVE_CUDA
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include "backends/cuda/cuda_util.h"
#include "backends/cuda/launch.h"
#include "backends/reference/convert.h"
#include "core/quant_math.h"
#include "cuda_test_util.h"
#include "int8_conv_emulation.h"
#include "ir/op_def.h"

namespace mpq {
namespace {

using int8emu::const_spec;
using int8emu::conv_graph;
using int8emu::ConvCase;
using int8emu::qp;
using int8emu::random_floats;
using int8emu::rng;
using int8emu::spec;

// Runs one registry kernel of the cuda backend on device copies of `inputs` (host tensors laid
// out as the specs say); returns the outputs as host tensors of the specs' dtype and byte order.
std::vector<Tensor> run_kernel(const Node& n, Precision p, std::vector<TensorSpec> in_specs,
                               std::vector<TensorSpec> out_specs, const std::vector<Tensor>& inputs,
                               int64_t batch, const char* force_tile = nullptr,
                               const char* force_split = nullptr) {
  std::string why;
  const KernelInfo* ki = KernelRegistry::instance().find("cuda", n, p, &why);
  EXPECT_NE(ki, nullptr) << why;
  if (!ki) return {};
  auto k = ki->make();
  KernelSetup s;
  s.node = &n;
  s.precision = p;
  s.max_batch = in_specs.empty() ? 1 : in_specs[0].shape[0];
  for (auto& t : in_specs) s.inputs.push_back(t.shape.empty() && !t.constant ? nullptr : &t);
  for (auto& t : out_specs) s.outputs.push_back(&t);
  std::string debug;
  if (force_tile) debug += std::string("cuda-tile=") + force_tile + ",";
  if (force_split) debug += std::string("cuda-splitk=") + force_split;
  if (!debug.empty()) setenv("MPQ_DEBUG", debug.c_str(), 1);
  k->prepare(s);
  unsetenv("MPQ_DEBUG");
  std::vector<cuda::DeviceBuffer> dev_in, dev_out;
  KernelArgs a;
  a.batch = batch;
  cuda::CudaContext ctx;
  a.ctx = &ctx;
  for (size_t i = 0; i < in_specs.size(); ++i) {
    if (!s.inputs[i] || in_specs[i].constant) {
      a.inputs.push_back(in_specs[i].constant ? in_specs[i].constant->raw() : nullptr);
      continue;
    }
    dev_in.emplace_back(inputs[i].raw(), in_specs[i].bytes_at(batch));
    a.inputs.push_back(dev_in.back().get());
  }
  for (auto& o : out_specs) {
    dev_out.emplace_back(o.bytes_at(batch));
    MPQ_CUDA_CHECK(cudaMemset(dev_out.back().get(), 0x5a, o.bytes_at(batch)));  // poison
    a.outputs.push_back(dev_out.back().get());
  }
  k->run(a);
  ctx.end_run();
  std::vector<Tensor> out;
  for (size_t i = 0; i < out_specs.size(); ++i) {
    out.emplace_back(out_specs[i].dtype, out_specs[i].shape_at(batch));
    MPQ_CUDA_CHECK(cudaMemcpy(out.back().raw(), dev_out[i].get(), out_specs[i].bytes_at(batch),
                              cudaMemcpyDeviceToHost));
  }
  return out;
}

// Every candidate configuration of the case (only the direct kernels if `direct_only`, which
// then must exist) against the emulation.
void check_int8_conv(const ConvCase& cc, bool x_signed, DType out_dt, bool direct_only = false) {
  const int8emu::Int8ConvSetup s = int8emu::make_int8_setup(cc, x_signed, out_dt);
  const Node& n = *s.g->nodes()[0];
  const int kind = x_signed ? cuda::kConvS8 : cuda::kConvU8;
  const int cg = cc.gemm ? cc.c : cc.c / cc.groups;
  const int load = cuda::conv_load_mode(kind, cg);
  const int64_t k = cc.gemm ? cc.c : int64_t{cg} * cc.k * cc.k;
  const std::vector<int> cands = cuda::conv_candidates(kind, load, k, cc.groups, cc.oc);
  ASSERT_FALSE(cands.empty()) << "no configuration for load mode " << load;
  for (int cfg : cands) {
    const std::string name = cuda::conv_configs()[cfg].name;
    if (direct_only && !cuda::conv_configs()[cfg].direct_k) continue;
    SCOPED_TRACE(name);
    for (int64_t batch : {static_cast<int64_t>(cc.n), int64_t{1}, -static_cast<int64_t>(cc.n)}) {
      // A negative batch: the full batch with split-K forced (2 splits) where the layer allows.
      const char* split = batch < 0 ? "2" : "1";
      batch = batch < 0 ? -batch : batch;
      auto got = run_kernel(n, Precision::kInt8, s.ins, s.outs, s.host, batch, name.c_str(), split);
      ASSERT_EQ(got.size(), 1u);
      // Bit for bit what the CPU engine's oneDNN kernels compute (GPU/CPU top-1 agreement).
      if (int8emu::compare_int8(s, got[0], true)) return;
    }
  }
}

TEST(CudaKernels, Int8ConvMatchesEmulation) {
  SKIP_WITHOUT_GPU();
  const ConvCase cases[] = {
      {2, 64, 8, 8, 64, 3, 1, 1, 1, 1, true, {"Relu"}},           // 3x3, vectorized
      {3, 32, 9, 7, 48, 3, 2, 1, 1, 1, true, {}},                 // strided, odd sizes
      {2, 64, 6, 6, 130, 1, 1, 0, 1, 1, false, {"Add", "Relu"}},  // 1x1 + residual, OC % 4 != 0
      {2, 3, 10, 10, 20, 3, 1, 1, 1, 1, true, {"Clip"}},          // first layer (gather)
      {2, 32, 8, 8, 32, 3, 1, 1, 1, 32, true, {"Relu"}},          // depthwise (gather)
      {2, 64, 9, 9, 64, 3, 1, 2, 2, 4, false, {"LeakyRelu"}},     // grouped, dilated
      {1, 20, 12, 12, 50, 5, 1, 0, 1, 1, true, {}},               // mnist conv2 shape (vec4)
      {2, 12, 7, 7, 24, 3, 2, 1, 1, 1, true, {"Relu"}},           // vec4, strided
  };
  for (const auto& cc : cases)
    for (bool s8 : {false, true})
      for (DType od : {DType::u8, DType::i8, DType::f32}) {
        SCOPED_TRACE(str("case c=", cc.c, " oc=", cc.oc, " k=", cc.k, " g=", cc.groups, " s8=", s8,
                         " out=", dtype_name(od)));
        check_int8_conv(cc, s8, od);
        if (::testing::Test::HasFailure()) return;
      }
}

// The manifest line of int8 engines that run without the Hopper kernels: none on sm_90 with
// sm_90a code, else one naming the device's architecture or the missing build target. (Pure
// text: runs without a GPU.)
TEST(CudaNotes, WgmmaFallbackNamesTheReason) {
  EXPECT_EQ(cuda::wgmma_fallback_note(90, true), "");
  const std::string older = cuda::wgmma_fallback_note(86, true);
  EXPECT_NE(older.find("need an sm_90 GPU (this one is sm_86)"), std::string::npos) << older;
  const std::string unbuilt = cuda::wgmma_fallback_note(90, false);
  EXPECT_NE(unbuilt.find("MPQ_CUDA_ARCHS including 90a"), std::string::npos) << unbuilt;
  EXPECT_NE(cuda::wgmma_fallback_note(100, true).find("sm_100"), std::string::npos);
}

// The Hopper TMA + wgmma kernels (sm_90 only) on layers whose geometry they take (one group,
// C % 64 == 0, stride 1, input zero point 0, tiles of whole output rows or whole images): each
// such configuration at the full batch, at batch 1 and with split-K forced, bit for bit.
TEST(CudaKernels, Int8WgmmaConvMatchesEmulation) {
  SKIP_WITHOUT_GPU();
  if (!cuda::wgmma_available()) GTEST_SKIP() << "no sm_90 device or no sm_90a kernels";
  const ConvCase cases[] = {
      {2, 64, 16, 16, 64, 3, 1, 1, 1, 1, true, {"Add", "Relu"}},  // tiles of rows of one image
      {3, 128, 8, 8, 128, 3, 1, 1, 1, 1, true, {"Relu"}},         // whole images, last tile short
      {5, 64, 4, 4, 200, 3, 1, 1, 1, 1, false, {}},               // OC % 64 != 0, tiny images
      {2, 64, 8, 8, 64, 3, 1, 2, 2, 1, true, {"Relu"}},           // dilated
      {2, 192, 8, 8, 96, 1, 1, 0, 1, 1, true, {}},                // 1x1, three k-tiles per tap
  };
  for (const auto& cc : cases)
    for (bool s8 : {false, true})
      for (DType od : {DType::u8, DType::i8, DType::f32}) {
        SCOPED_TRACE(str("case c=", cc.c, " h=", cc.h, " oc=", cc.oc, " k=", cc.k, " s8=", s8,
                         " out=", dtype_name(od)));
        const int8emu::Int8ConvSetup s = int8emu::make_int8_setup(cc, s8, od, 0);
        const Node& n = *s.g->nodes()[0];
        const int kind = s8 ? cuda::kConvS8 : cuda::kConvU8;
        cuda::ConvParams geom;
        geom.C = geom.Cg = cc.c;
        geom.SH = geom.SW = cc.stride;
        geom.OH = (cc.h + 2 * cc.pad - cc.dil * (cc.k - 1) - 1) / cc.stride + 1;
        geom.OW = (cc.w + 2 * cc.pad - cc.dil * (cc.k - 1) - 1) / cc.stride + 1;
        int tried = 0;
        for (int cfg :
             cuda::conv_candidates(kind, cuda::conv_load_mode(kind, cc.c),
                                   int64_t{cc.c} * cc.k * cc.k, 1, cc.oc, nullptr, &geom)) {
          const std::string name = cuda::conv_configs()[cfg].name;
          if (!cuda::conv_configs()[cfg].wgmma) continue;
          SCOPED_TRACE(name);
          ++tried;
          for (int64_t batch :
               {static_cast<int64_t>(cc.n), int64_t{1}, -static_cast<int64_t>(cc.n)}) {
            const char* split = batch < 0 ? "2" : "1";
            batch = batch < 0 ? -batch : batch;
            auto got =
                run_kernel(n, Precision::kInt8, s.ins, s.outs, s.host, batch, name.c_str(), split);
            ASSERT_EQ(got.size(), 1u);
            if (int8emu::compare_int8(s, got[0], true)) return;
          }
        }
        EXPECT_GT(tried, 0) << "no wgmma configuration takes this layer";
      }
}

// The direct kernel of first layers (C_in 1 or 3, K <= 64): mnist_naive's and resnet18_cifar's
// conv1 shapes, strides, pads, dilation, OC % 4 != 0, every epilogue chain form, and a batch
// that leaves the last CTA partly empty.
TEST(CudaKernels, Int8DirectConvMatchesEmulation) {
  SKIP_WITHOUT_GPU();
  const ConvCase cases[] = {
      {3, 1, 28, 28, 20, 5, 1, 0, 1, 1, true, {"Clip"}},         // mnist conv1 (ReLU6)
      {2, 3, 32, 32, 64, 3, 1, 1, 1, 1, true, {"Relu"}},         // resnet18_cifar conv1
      {2, 3, 17, 15, 30, 3, 2, 1, 1, 1, false, {}},              // strided, odd, OC % 4 != 0
      {1, 1, 13, 11, 8, 5, 2, 2, 1, 1, true, {"LeakyRelu"}},     // 5x5 pad 2 stride 2
      {2, 3, 12, 12, 16, 3, 1, 2, 2, 1, true, {"Add", "Relu"}},  // dilated, residual
      {2, 7, 9, 9, 12, 3, 1, 1, 1, 1, true, {"Relu"}},           // K = 63: the 64-wide kernel
  };
  for (const auto& cc : cases) {
    const int64_t k = int64_t{cc.c} * cc.k * cc.k;
    bool any = false;
    for (int cfg : cuda::conv_candidates(cuda::kConvU8, 0, k, cc.groups, cc.oc))
      any = any || cuda::conv_configs()[cfg].direct_k > 0;
    ASSERT_TRUE(any) << "no direct kernel for K = " << k;
    for (bool s8 : {false, true})
      for (DType od : {DType::u8, DType::i8, DType::f32}) {
        SCOPED_TRACE(str("case c=", cc.c, " oc=", cc.oc, " k=", cc.k, " s=", cc.stride,
                         " p=", cc.pad, " s8=", s8, " out=", dtype_name(od)));
        check_int8_conv(cc, s8, od, true);
        if (::testing::Test::HasFailure()) return;
      }
  }
}

TEST(CudaKernels, Int8GemmMatchesEmulation) {
  SKIP_WITHOUT_GPU();
  const ConvCase cases[] = {{16, 800, 1, 1, 500, 1, 1, 0, 1, 1, true, {"Clip"}, true, true},
                            {7, 64, 1, 1, 10, 1, 1, 0, 1, 1, true, {}, true, false},
                            {5, 48, 1, 1, 33, 1, 1, 0, 1, 1, false, {"Add"}, true, true},
                            {9, 500, 1, 1, 10, 1, 1, 0, 1, 1, true, {}, true, true}};  // vec4
  for (const auto& cc : cases)
    for (DType od : {DType::u8, DType::f32, DType::f16}) {
      check_int8_conv(cc, false, od);
      if (::testing::Test::HasFailure()) return;
    }
}

// fp16 / fp32 against the reference forward of the float op.
void check_float_conv(const ConvCase& cc, Precision p) {
  auto g = conv_graph(cc);
  const Node& n = *g->nodes()[0];
  const Shape xs = n.inputs[0]->shape, ys = n.outputs[0]->shape;
  const bool half = p == Precision::kFp16;
  const DType dt = half ? DType::f16 : DType::f32;
  const Layout lay = cc.gemm ? Layout::kPlain : Layout::kNHWC;
  Tensor x = random_floats(xs, -1.f, 1.f);
  if (half) x = x.cast(DType::f16).cast(DType::f32);  // what the kernel sees
  const bool has_res = std::find(cc.ops.begin(), cc.ops.end(), "Add") != cc.ops.end();
  Tensor r = has_res ? random_floats(ys, -1.f, 1.f) : Tensor();
  std::vector<Tensor> ref_in{x, *n.inputs[1]->constant,
                             cc.bias ? *n.inputs[2]->constant : Tensor()};
  if (has_res) ref_in.push_back(r);
  const Tensor want = n.def().forward(n, ref_in)[0];
  // Device inputs in the kernel's layout.
  auto to_layout = [&](const Tensor& t, DType to) {
    if (cc.gemm) return t.cast(to);
    TensorSpec a = spec("a", DType::f32, t.shape(), Layout::kPlain),
               b = spec("b", to, t.shape(), Layout::kNHWC);
    Tensor out(to, t.shape());
    convert_tensor(a, t.raw(), b, out.raw(), t.dim(0));
    return out;
  };
  std::vector<TensorSpec> ins{spec("x", dt, xs, lay), const_spec(n.inputs[1]),
                              cc.bias ? const_spec(n.inputs[2]) : TensorSpec{}};
  std::vector<Tensor> host{to_layout(x, dt), Tensor(), Tensor()};
  if (has_res) {
    ins.push_back(spec("r", DType::f32, ys, lay));
    host.push_back(to_layout(r, DType::f32));
  }
  std::vector<TensorSpec> outs{spec("y", dt, ys, lay)};
  const int kind = half ? cuda::kConvF16 : cuda::kConvF32;
  const int load = cuda::conv_load_mode(kind, cc.gemm ? cc.c : cc.c / cc.groups);
  ASSERT_FALSE(cuda::conv_candidates(kind, load).empty())
      << "no configuration for load mode " << load;
  for (int cfg : cuda::conv_candidates(kind, load)) {
    const std::string name = cuda::conv_configs()[cfg].name;
    SCOPED_TRACE(name);
    for (const char* split : {"1", "2"}) {
      SCOPED_TRACE(str("split ", split));
      auto got = run_kernel(n, p, ins, outs, host, cc.n, name.c_str(), split);
      ASSERT_EQ(got.size(), 1u);
      // Back to NCHW f32 for the comparison.
      Tensor gy(DType::f32, ys);
      if (cc.gemm)
        gy = got[0].cast(DType::f32);
      else
        convert_tensor(outs[0], got[0].raw(), spec("p", DType::f32, ys, Layout::kPlain), gy.raw(),
                       cc.n);
      float maxabs = 1e-6f, maxerr = 0.f;
      for (int64_t i = 0; i < want.numel(); ++i) {
        maxabs = std::max(maxabs, std::fabs(want.data<float>()[i]));
        const float e = std::fabs(want.data<float>()[i] - gy.data<float>()[i]);
        maxerr = std::isnan(e) ? 1e30f : std::max(maxerr, e);
      }
      EXPECT_LE(maxerr, (half ? 4e-3f : 2e-5f) * maxabs) << "max |want| " << maxabs;
    }
  }
}

TEST(CudaKernels, FloatConvMatchesReference) {
  SKIP_WITHOUT_GPU();
  const ConvCase cases[] = {
      {2, 64, 8, 8, 64, 3, 1, 1, 1, 1, true, {"Relu"}},
      {3, 32, 9, 7, 48, 3, 2, 1, 1, 1, true, {}},
      {2, 64, 6, 6, 130, 1, 1, 0, 1, 1, false, {"Add", "Relu"}},
      {2, 3, 10, 10, 20, 3, 1, 1, 1, 1, true, {"Clip"}},
      {2, 32, 8, 8, 32, 3, 1, 1, 1, 32, true, {"Relu"}},
      {2, 64, 9, 9, 64, 3, 1, 2, 2, 4, false, {"LeakyRelu"}},
      {16, 800, 1, 1, 500, 1, 1, 0, 1, 1, true, {"Clip"}, true, true},
      {7, 64, 1, 1, 10, 1, 1, 0, 1, 1, true, {}, true, false},
      {1, 20, 12, 12, 50, 5, 1, 0, 1, 1, true, {}},
      {9, 500, 1, 1, 10, 1, 1, 0, 1, 1, true, {}, true, true},
  };
  for (const auto& cc : cases)
    for (Precision p : {Precision::kFp32, Precision::kFp16}) {
      SCOPED_TRACE(str("case c=", cc.c, " oc=", cc.oc, " k=", cc.k, " g=", cc.groups,
                       " gemm=", cc.gemm, " ", precision_name(p)));
      check_float_conv(cc, p);
      if (::testing::Test::HasFailure()) return;
    }
}

// Pooling, element-wise and conversion kernels against the reference forward / converter.
TEST(CudaKernels, PoolAndEltwiseMatchReference) {
  SKIP_WITHOUT_GPU();
  const Shape xs{3, 16, 9, 9};
  Tensor x = random_floats(xs, -2.f, 2.f);
  struct OpSpec {
    const char* op;
    Attributes at;
  };
  std::vector<OpSpec> ops;
  {
    Attributes a;
    a.set("kernel_shape", std::vector<int64_t>{3, 3});
    a.set("strides", std::vector<int64_t>{2, 2});
    a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    ops.push_back({"MaxPool", a});
    ops.push_back({"AveragePool", a});
    ops.push_back({"GlobalAveragePool", Attributes()});
    ops.push_back({"Relu", Attributes()});
  }
  for (auto& os : ops)
    for (Layout lay : {Layout::kNHWC, Layout::kPlain}) {
      SCOPED_TRACE(str(os.op, " ", layout_name(lay)));
      Graph g;
      Value* in = g.add_input("x", DType::f32, xs);
      Node* n = g.add_node(find_op_def(os.op)->kind, "op", {in}, 1, os.at);
      apply_attr_schema(*n);
      g.add_output(n->outputs[0]);
      infer_shapes(g);
      const Shape ys = n->outputs[0]->shape;
      const Tensor want = n->def().forward(*n, {x})[0];
      TensorSpec xp = spec("xp", DType::f32, xs, Layout::kPlain),
                 xd = spec("x", DType::f32, xs, lay);
      Tensor xin(DType::f32, xs);
      convert_tensor(xp, x.raw(), xd, xin.raw(), xs[0]);
      auto got =
          run_kernel(*n, Precision::kFp32, {xd}, {spec("y", DType::f32, ys, lay)}, {xin}, xs[0]);
      Tensor gy(DType::f32, ys);
      convert_tensor(spec("y", DType::f32, ys, lay), got[0].raw(),
                     spec("p", DType::f32, ys, Layout::kPlain), gy.raw(), xs[0]);
      for (int64_t i = 0; i < want.numel(); ++i)
        ASSERT_NEAR(gy.data<float>()[i], want.data<float>()[i], 1e-5f) << i;
    }
}

TEST(CudaKernels, ReorderMatchesReferenceConverter) {
  SKIP_WITHOUT_GPU();
  const Shape xs{2, 5, 3, 4};
  Tensor x = random_floats(xs, -3.f, 3.f);
  Graph g;
  Value* in = g.add_input("x", DType::f32, xs);
  Node* n = g.add_node(find_op_def("Reorder")->kind, "r", {in}, 1, Attributes());
  g.add_output(n->outputs[0]);
  infer_shapes(g);
  struct Fmt {
    DType dt;
    Layout l;
    std::optional<QuantParams> q;
  };
  const Fmt fmts[] = {{DType::f32, Layout::kPlain, std::nullopt},
                      {DType::f32, Layout::kNHWC, std::nullopt},
                      {DType::f16, Layout::kNHWC, std::nullopt},
                      {DType::u8, Layout::kNHWC, qp(0.03f, 100, false)},
                      {DType::i8, Layout::kPlain, qp(0.025f, 0, true)}};
  for (const Fmt& from : fmts)
    for (const Fmt& to : fmts) {
      SCOPED_TRACE(str(dtype_name(from.dt), layout_name(from.l), " -> ", dtype_name(to.dt),
                       layout_name(to.l)));
      TensorSpec fs = spec("a", from.dt, xs, from.l, from.q), ts = spec("b", to.dt, xs, to.l, to.q);
      Tensor src(from.dt, xs), want(to.dt, xs);
      convert_tensor(spec("p", DType::f32, xs, Layout::kPlain), x.raw(), fs, src.raw(), xs[0]);
      convert_tensor(fs, src.raw(), ts, want.raw(), xs[0]);
      auto got = run_kernel(*n, Precision::kFp32, {fs}, {ts}, {src}, xs[0]);
      ASSERT_EQ(std::memcmp(got[0].raw(), want.raw(), want.nbytes()), 0);
    }
}

}  // namespace
}  // namespace mpq
#endif  // MPQ_HAVE_CUDA
