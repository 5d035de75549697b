// Depthwise convolution (groups == C == OC), NHWC: one thread computes 4 consecutive channels of
// one output pixel over the KH x KW window. The implicit GEMM handles these layers with element
// gathers into a k-tile of which one tap row is used; here every input byte is read once per tap
// it belongs to, and the sums go through the same epilogue (store_run) as the GEMM kernels: int8
// sums are exact integers of (x - z_x) * w, i.e. acc - zcomp.
#pragma once

#include "backends/cuda/epilogue.cuh"
#include "backends/cuda/pdl.cuh"

namespace mpq::cuda {

constexpr int kDepthwiseThreads = 256;

template <int Kind>
__device__ __forceinline__ float dw_load(const void* base, int64_t i) {
  if constexpr (Kind == kConvF32) return __ldg(static_cast<const float*>(base) + i);
  if constexpr (Kind == kConvF16) return __half2float(static_cast<const __half*>(base)[i]);
  return 0.f;
}

template <int Kind>
__device__ __forceinline__ int32_t dw_load_q(const void* base, int64_t i) {
  if constexpr (Kind == kConvU8) return static_cast<const uint8_t*>(base)[i];
  return static_cast<const int8_t*>(base)[i];
}

// Weights as [KH*KW][C] (ConvParams::wdw): a warp's 128 channels read one run per tap.
template <int Kind>
__global__ void __launch_bounds__(kDepthwiseThreads)
    depthwise_kernel(const __grid_constant__ ConvParams p) {
  grid_dep_wait();
  constexpr bool kInt = Kind == kConvS8 || Kind == kConvU8;
  const int c4 = (p.C + 3) / 4;
  const int total = p.M * c4;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const int m = i / c4, c = (i - m * c4) * 4;
    const int count = min(4, p.C - c);
    const int ow = m % p.OW, t = m / p.OW, oh = t % p.OH, n = t / p.OH;
    float accf[4] = {0.f, 0.f, 0.f, 0.f};
    int32_t acci[4] = {0, 0, 0, 0};
    for (int kh = 0; kh < p.KH; ++kh) {
      const int ih = oh * p.SH - p.PH + kh * p.DH;
      if (ih < 0 || ih >= p.H) continue;
      for (int kw = 0; kw < p.KW; ++kw) {
        const int iw = ow * p.SW - p.PW + kw * p.DW;
        if (iw < 0 || iw >= p.W) continue;
        const int64_t xo = ((static_cast<int64_t>(n) * p.H + ih) * p.W + iw) * p.C + c;
        const int tap = kh * p.KW + kw;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          if (j >= count) break;
          const int64_t wo = static_cast<int64_t>(tap) * p.C + c + j;
          if constexpr (kInt)
            acci[j] += (dw_load_q<Kind>(p.x, xo + j) - p.x_fill) *
                       static_cast<int32_t>(static_cast<const int8_t*>(p.wdw)[wo]);
          else
            accf[j] = fmaf(dw_load<Kind>(p.x, xo + j), dw_load<Kind>(p.wdw, wo), accf[j]);
        }
      }
    }
    float v[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) v[j] = kInt ? static_cast<float>(acci[j]) : accf[j];
    store_run(p.ep, p.y, static_cast<int64_t>(m) * p.OC + c, c, v, count);
  }
}

}  // namespace mpq::cuda
