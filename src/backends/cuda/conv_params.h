// Parameters of one fused implicit-GEMM convolution launch, shared by the host code (g++) and the
// kernels (nvcc). Plain data only, so the CPU unit tests can emulate the kernels' index math.
//
// The GEMM view of an NHWC convolution, per group g:
//   M = N*OH*OW (output pixels), Ncols = OCg (output channels of the group), K = KH*KW*Cg with k
//   ordered (kh, kw, c) so that one tap's channels are contiguous in memory (16-byte loads).
//   A[m, k] = x[n, oh*SH - PH + kh*DH, ow*SW - PW + kw*DW, g*Cg + c]   (padding: the zero point)
//   B[k, n] = packed weights, [groups][OCg_pad][Kpad], k contiguous (zero padded)
// Epilogue per element (float kernels): v = alpha[oc] * acc + beta[oc], then the post-op chain
// (Relu, Clip, LeakyRelu, Sigmoid, SiLU, ..., Add of the residual), then the store in the output
// dtype; int8 kernels: see Epilogue::int_acc.
#pragma once

#include <cstdint>

#ifdef __CUDACC__
#define MPQ_HD __host__ __device__
#else
#define MPQ_HD
#endif

namespace mpq::cuda {

// Storage dtypes the kernels read and write.
enum DtCode : int32_t { kDtF32 = 0, kDtF16 = 1, kDtS8 = 2, kDtU8 = 3 };

enum PostOpCode : int32_t {
  kOpRelu = 1,
  kOpClip = 2,
  kOpLeaky = 3,
  kOpAdd = 4,
  kOpSigmoid = 5,
  kOpTanh = 6,
  kOpHardSigmoid = 7,  // op_a * x + op_b, clamped to [0, 1]
  kOpHardSwish = 8,
  kOpSilu = 9,
  kOpGelu = 10,
};

constexpr int kMaxPostOps = 6;

struct Epilogue {
  const float* alpha = nullptr;  // [OC] (device)
  const float* beta = nullptr;   // [OC] (device)
  int32_t nops = 0;
  int32_t ops[kMaxPostOps] = {};
  float op_a[kMaxPostOps] = {};
  float op_b[kMaxPostOps] = {};
  // Ops from kOpSigmoid on see real values: f(v * op_s) * op_rs (v in output units, see int_acc).
  float op_s[kMaxPostOps] = {1.f, 1.f, 1.f, 1.f, 1.f, 1.f};
  float op_rs[kMaxPostOps] = {1.f, 1.f, 1.f, 1.f, 1.f, 1.f};
  // Residual (for kOpAdd): same shape and layout as the output; real = res_scale * (r - res_zp).
  const void* res = nullptr;
  int32_t res_dt = kDtF32;
  float res_scale = 1.f;
  int32_t res_zp = 0;
  // Output: for u8/s8, q = saturate(round_half_even(v / out_scale) + out_zp).
  int32_t out_dt = kDtF32;
  float out_scale = 1.f;
  int32_t out_zp = 0;
  // Fast form of the chain, when it has one (set_fast_epilogue): v = clamp(v, lo1, hi1);
  // v += residual (if has_res); v = clamp(v, lo2, hi2); u8/s8 outputs multiply by out_inv_scale.
  int32_t fast = 0;
  int32_t has_res = 0;
  float lo1 = -3.0e38f, hi1 = 3.0e38f, lo2 = -3.0e38f, hi2 = 3.0e38f;
  float out_inv_scale = 1.f;
  // int8 kernels (int_acc = 1) compute what oneDNN 2.x computes for the CPU engine, operation for
  // operation in fp32, so that both engines give the same bytes:
  //   v = (float(acc - zcomp[oc]) + beta[oc]) * alpha[oc]   in output units: alpha = s_x s_w / s_y,
  //                                                          beta = bias / (s_x s_w)
  //   Add of an int8 residual into an int8 output: v = fma(r - res_zp, res_scale, v),
  //   res_scale = s_r / s_y; other residuals are dequantized first and added: v + s_r (r - res_zp)
  //   Relu/Clip/LeakyRelu on v (Clip bounds in output units), then for u8/s8 outputs
  //   q = round_half_even(saturate(v + out_zp)).
  // acc is the exact s32 sum over the zero-point-padded input; zcomp[oc] = z_x * sum_k w_q[oc, k]
  // removes the zero point in integers (the float epilogue's beta cannot do that exactly).
  int32_t int_acc = 0;
  const int32_t* zcomp = nullptr;  // [OC] (device), int_acc only
};

// Fills the fast form of e's post-op chain if it is Relu/Clip, then at most one Add, then
// Relu/Clip (one clamp on each side of the sum); leaves e.fast = 0 otherwise (LeakyRelu, ...).
inline void set_fast_epilogue(Epilogue& e) {
  e.fast = 0;
  e.has_res = 0;
  e.lo1 = e.lo2 = -3.0e38f;
  e.hi1 = e.hi2 = 3.0e38f;
  e.out_inv_scale = 1.f / e.out_scale;
  int clamps_before = 0, clamps_after = 0;
  for (int i = 0; i < e.nops; ++i) {
    const int op = e.ops[i];
    if (op == kOpAdd) {
      if (e.has_res) return;
      e.has_res = 1;
      continue;
    }
    if (op != kOpRelu && op != kOpClip) return;
    const float lo = op == kOpRelu ? 0.f : e.op_a[i], hi = op == kOpRelu ? 3.0e38f : e.op_b[i];
    if (!e.has_res) {
      if (clamps_before++) return;
      e.lo1 = lo, e.hi1 = hi;
    } else {
      if (clamps_after++) return;
      e.lo2 = lo, e.hi2 = hi;
    }
  }
  e.fast = 1;
}

struct ConvParams {
  int32_t N = 0, H = 0, W = 0, C = 0;  // input, NHWC; C = all channels
  int32_t OH = 0, OW = 0, OC = 0;      // output, NHWC; OC = all channels
  int32_t KH = 1, KW = 1, SH = 1, SW = 1, PH = 0, PW = 0, DH = 1, DW = 1;
  int32_t groups = 1, Cg = 0, OCg = 0;
  int32_t K = 0;       // KH*KW*Cg
  int32_t Kpad = 0;    // K rounded up to the k-tile (elements)
  int32_t OCpad = 0;   // OCg rounded up to the widest n-tile
  int32_t M = 0;       // N*OH*OW
  int32_t x_fill = 0;  // value of padded input elements (the input zero point; 0 for float)
  const void* x = nullptr;
  const void* w = nullptr;  // [groups][OCpad][Kpad]
  // Element gathers only: per k < Kpad, {kh*DH, kw*DW, c, k < K}, so that the gather needs no
  // integer division (device memory, read through the read-only cache).
  const int32_t* ktab = nullptr;
  // Split-K: blockIdx.z = group * ksplit + split; split s covers k-tiles [s * kt_per_split, ...).
  // With ksplit > 1 the conv kernel writes raw sums to partial[split][M][OC] (s32 bit patterns
  // for int8, float otherwise) and splitk_reduce adds them and applies the epilogue.
  int32_t ksplit = 1, kt_per_split = 0;
  float* partial = nullptr;
  void* y = nullptr;
  Epilogue ep;
  // Depthwise layers (groups == C == OC): the weights again as [KH*KW][C] (depthwise.cuh), so
  // that a warp's channels read one contiguous run per tap.
  const void* wdw = nullptr;
};

// Rounded-up division and multiple, usable on both sides.
MPQ_HD inline constexpr int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}
MPQ_HD inline constexpr int64_t round_up(int64_t a, int64_t b) {
  return ceil_div(a, b) * b;
}

// Element (m, k) of the implicit A matrix as an offset into x, or -1 for padding / out of range.
// The kernels compute the same thing incrementally; the unit tests check it against a direct
// im2col.
inline int64_t a_offset(const ConvParams& p, int g, int64_t m, int64_t k) {
  if (m >= p.M || k >= p.K) return -1;
  const int64_t ow = m % p.OW, t = m / p.OW, oh = t % p.OH, n = t / p.OH;
  const int64_t tap = k / p.Cg, c = k % p.Cg, kh = tap / p.KW, kw = tap % p.KW;
  const int64_t ih = oh * p.SH - p.PH + kh * p.DH, iw = ow * p.SW - p.PW + kw * p.DW;
  if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) return -1;
  return ((n * p.H + ih) * p.W + iw) * p.C + static_cast<int64_t>(g) * p.Cg + c;
}

// Byte offset of 16-byte chunk `chunk` (0..3) of row `row` in a shared-memory tile of 64-byte rows:
// the chunk index is XOR-swizzled with (row / 2) % 4 so that ldmatrix's 8 rows of one chunk hit 8
// distinct bank groups.
MPQ_HD inline constexpr int smem_swizzle(int row, int chunk) {
  return row * 64 + ((chunk ^ ((row >> 1) & 3)) << 4);
}

}  // namespace mpq::cuda
