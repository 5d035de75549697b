// The CPU engine's int8 conv/gemm kernels (oneDNN 2.x) compute, bit for bit, the fp32 operation
// order that the CUDA int8 kernels reproduce (tests/unit/int8_conv_emulation.h): this test holds
// the emulation to oneDNN on the CI machine, cuda_kernels_test holds the GPU to the emulation, so
// that GPU and CPU int8 engines built from one calibration table give the same bytes.
#ifdef MPQ_HAVE_DNNL
#include <gtest/gtest.h>

#include "int8_conv_emulation.h"

namespace mpq {
namespace {

constexpr auto npos = std::string::npos;

// Runs the cpu backend's kernel for the case's node on host buffers; `impl` gets the oneDNN
// implementation that ran.
Tensor run_cpu(const int8emu::Int8ConvSetup& s, const std::string& variant,
               std::string* impl = nullptr) {
  const Node& n = *s.g->nodes()[0];
  std::string why;
  const KernelInfo* ki = KernelRegistry::instance().find("cpu", n, Precision::kInt8, &why);
  EXPECT_NE(ki, nullptr) << why;
  if (!ki) return Tensor();
  auto k = ki->make();
  KernelSetup ks;
  ks.node = &n;
  ks.precision = Precision::kInt8;
  ks.max_batch = s.ins[0].shape[0];
  ks.variant = variant;
  for (const auto& t : s.ins) ks.inputs.push_back(t.shape.empty() && !t.constant ? nullptr : &t);
  for (const auto& t : s.outs) ks.outputs.push_back(&t);
  k->prepare(ks);
  if (impl) *impl = k->impl_name();
  Tensor y(s.outs[0].dtype, s.outs[0].shape);
  KernelArgs a;
  a.batch = ks.max_batch;
  auto ctx = find_backend("cpu")->make_context(2);
  a.ctx = ctx.get();
  for (size_t i = 0; i < s.ins.size(); ++i)
    a.inputs.push_back(s.ins[i].constant ? s.ins[i].constant->raw()
                       : ks.inputs[i]    ? s.host[i].raw()
                                         : nullptr);
  a.outputs.push_back(y.raw());
  ctx->begin_run();
  k->run(a);
  ctx->end_run();
  return y;
}

TEST(CpuInt8Arithmetic, ConvAndGemmMatchOneDnnOrderBitForBit) {
  using int8emu::ConvCase;
  const ConvCase convs[] = {
      {2, 64, 8, 8, 64, 3, 1, 1, 1, 1, true, {"Relu"}},           // 3x3
      {3, 32, 9, 7, 48, 3, 2, 1, 1, 1, true, {}},                 // strided, odd sizes
      {2, 64, 6, 6, 130, 1, 1, 0, 1, 1, false, {"Add", "Relu"}},  // 1x1 + residual
      {2, 3, 10, 10, 20, 3, 1, 1, 1, 1, true, {"Clip"}},          // first layer, input zero point
      {2, 64, 4, 4, 64, 3, 1, 1, 1, 1, true, {"Add", "Relu"}},    // small image (matmul form)
      {2, 64, 6, 6, 128, 1, 1, 0, 1, 1, false, {"Relu"}},         // 1x1 on 6x6 (oneDNN 2.6's
                                                                  // AMX jit_1x1 corrupted the heap)
  };
  for (const auto& cc : convs)
    for (bool s8 : {false, true})
      for (DType od : {DType::u8, DType::i8, DType::f32})
        for (const char* variant : {"", "gemm"}) {
          SCOPED_TRACE(str("conv c=", cc.c, " oc=", cc.oc, " k=", cc.k, " s8=", s8,
                           " out=", dtype_name(od), " variant=", variant));
          const int8emu::Int8ConvSetup s = int8emu::make_int8_setup(cc, s8, od);
          std::string impl;
          const Tensor y = run_cpu(s, variant, &impl);
          if (::testing::Test::HasFailure()) return;
          // oneDNN's AMX matmul (brgemm) orders its fp32 epilogue differently from the
          // convolutions and the VNNI matmul: its float outputs may differ in the last bits
          // (measured: up to 2.4e-7 where the largest output is ~12); int8 outputs are checked
          // byte for byte all the same.
          const bool amx_matmul = impl.rfind("im2col+", 0) == 0 && impl.find("amx") != npos;
          if (int8emu::compare_int8(s, y, true, amx_matmul ? 1e-6f : 0.f)) return;
        }
  const ConvCase gemms[] = {{16, 800, 1, 1, 500, 1, 1, 0, 1, 1, true, {"Clip"}, true, true},
                            {7, 64, 1, 1, 10, 1, 1, 0, 1, 1, true, {}, true, false},
                            {9, 512, 1, 1, 10, 1, 1, 0, 1, 1, true, {}, true, true}};
  for (const auto& cc : gemms)
    for (DType od : {DType::u8, DType::f32}) {
      SCOPED_TRACE(str("gemm c=", cc.c, " oc=", cc.oc, " out=", dtype_name(od)));
      const int8emu::Int8ConvSetup s = int8emu::make_int8_setup(cc, false, od);
      std::string impl;
      const Tensor y = run_cpu(s, "", &impl);
      if (::testing::Test::HasFailure()) return;
      if (int8emu::compare_int8(s, y, true, impl.find("amx") != npos ? 1e-6f : 0.f)) return;
    }
}

}  // namespace
}  // namespace mpq
#endif  // MPQ_HAVE_DNNL
