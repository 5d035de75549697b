// The last step of the tensor-core convolution kernels: a BM x BN accumulator tile in shared
// memory (float, or for int8 the s32 sums as bit patterns, rows of BN + 4) goes out through the
// fused epilogue, each thread finishing 4 consecutive channels of one pixel per row so that the
// stores are contiguous; with split-K the raw sums go to the partial buffer instead.
#pragma once

#include "backends/cuda/epilogue.cuh"

namespace mpq::cuda {

template <int kBM, int kBN, int kThreads, int kE>
__device__ __forceinline__ void tc_store_tile(const ConvParams& p, const float* Cs, int m0, int n0,
                                              int g, int split, int tid) {
  constexpr int kCStride = kBN + 4;
  // kThreads is a multiple of kBN / 4, so each thread keeps the same 4 channels on every row:
  // their scales and biases are read once.
  static_assert(kThreads % (kBN / 4) == 0, "channel group must be fixed per thread");
  const int c = (tid % (kBN / 4)) * 4, n = n0 + c;
  if (p.ksplit > 1) {  // raw sums for splitk_reduce (s32 bit patterns for int8)
    if (n < p.OCg) {
      const int oc = g * p.OCg + n;
      float* part = p.partial + static_cast<int64_t>(split) * p.M * p.OC;
#pragma unroll 1
      for (int r = tid / (kBN / 4); r < kBM; r += kThreads / (kBN / 4)) {
        const int m = m0 + r;
        if (m >= p.M) break;
        const float4 v = *reinterpret_cast<const float4*>(&Cs[r * kCStride + c]);
        float* dst = part + static_cast<int64_t>(m) * p.OC + oc;
        if (p.OCg - n >= 4 && ((reinterpret_cast<uintptr_t>(dst) & 15) == 0)) {
          *reinterpret_cast<float4*>(dst) = v;
        } else {
          const float vv[4] = {v.x, v.y, v.z, v.w};
          for (int i = 0; i < 4 && n + i < p.OCg; ++i) dst[i] = vv[i];
        }
      }
    }
    return;
  }
  if (n < p.OCg) {
    const int oc = g * p.OCg + n, count = min(4, p.OCg - n);
    float a[4], b[4];
    int32_t zc[4] = {0, 0, 0, 0};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      a[i] = i < count ? __ldg(p.ep.alpha + oc + i) : 0.f;
      b[i] = i < count ? __ldg(p.ep.beta + oc + i) : 0.f;
      if constexpr (kE == 1) zc[i] = i < count ? __ldg(p.ep.zcomp + oc + i) : 0;
    }
#pragma unroll 1
    for (int r = tid / (kBN / 4); r < kBM; r += kThreads / (kBN / 4)) {
      const int m = m0 + r;
      if (m >= p.M) break;
      const float4 v = *reinterpret_cast<const float4*>(&Cs[r * kCStride + c]);
      float vv[4] = {v.x, v.y, v.z, v.w};
      if constexpr (kE == 1) {
#pragma unroll
        for (int i = 0; i < 4; ++i) vv[i] = static_cast<float>(__float_as_int(vv[i]) - zc[i]);
      }
      if constexpr (kE == 1)  // int8: always Epilogue::int_acc
        store4_int(p.ep, p.y, static_cast<int64_t>(m) * p.OC + oc, vv, a, b, count);
      else
        store4_float(p.ep, p.y, static_cast<int64_t>(m) * p.OC + oc, vv, a, b, count);
    }
  }
}

}  // namespace mpq::cuda
