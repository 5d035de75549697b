// Depthwise convolution (groups == C == OC), NHWC: one thread computes 4 consecutive channels of
// one output pixel over the KH x KW window. The implicit GEMM handles these layers with element
// gathers into a k-tile of which one tap row is used; here every input byte is read once per tap
// it belongs to, and the sums go through the same epilogue (store_run) as the GEMM kernels: int8
// sums are exact integers of (x - z_x) * w, i.e. acc - zcomp.
#pragma once

#include <type_traits>

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

// Four consecutive channels in one 16- (f32) or 8-byte (f16) load.
template <int Kind>
__device__ __forceinline__ void dw_load4(const void* base, int64_t i, float v[4]) {
  if constexpr (Kind == kConvF32) {
    const float4 f = __ldg(reinterpret_cast<const float4*>(static_cast<const float*>(base) + i));
    v[0] = f.x, v[1] = f.y, v[2] = f.z, v[3] = f.w;
  } else if constexpr (Kind == kConvF16) {
    const uint2 u = __ldg(reinterpret_cast<const uint2*>(static_cast<const __half*>(base) + i));
    const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&u.x));
    const float2 b = __half22float2(*reinterpret_cast<const __half2*>(&u.y));
    v[0] = a.x, v[1] = a.y, v[2] = b.x, v[3] = b.y;
  }
}

// Four consecutive int8 (Kind kConvS8) or uint8 values in one 4-byte load.
template <int Kind>
__device__ __forceinline__ void dw_load4_q(const void* base, int64_t i, int32_t v[4]) {
  const uint32_t u =
      __ldg(reinterpret_cast<const unsigned int*>(static_cast<const uint8_t*>(base) + i));
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const uint32_t b = (u >> (8 * j)) & 0xffu;
    v[j] = Kind == kConvU8 ? static_cast<int32_t>(b) : static_cast<int32_t>(static_cast<int8_t>(b));
  }
}

// Four channels of input and of weights load as one vector: C a multiple of 4, aligned buffers.
__device__ __forceinline__ bool dw_vector_loads(const ConvParams& p) {
  return (p.C & 3) == 0 &&
         ((reinterpret_cast<uintptr_t>(p.x) | reinterpret_cast<uintptr_t>(p.wdw)) & 15) == 0;
}

// Weights as [KH*KW][C] (ConvParams::wdw): a warp's 128 channels read one run per tap. With C a
// multiple of 4 and aligned buffers, each tap is one vector load of input and one of weights
// (the same products in the same order as the element loads: identical sums).
template <int Kind>
__global__ void __launch_bounds__(kDepthwiseThreads)
    depthwise_kernel(const __grid_constant__ ConvParams p) {
  grid_dep_wait();
  constexpr bool kInt = Kind == kConvS8 || Kind == kConvU8;
  const int c4 = (p.C + 3) / 4;
  const int total = p.M * c4;
  const bool vec_ok = dw_vector_loads(p);
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
        if (vec_ok) {
          const int64_t wo = static_cast<int64_t>(tap) * p.C + c;
          if constexpr (kInt) {
            int32_t xv[4], wv[4];
            dw_load4_q<Kind>(p.x, xo, xv);
            dw_load4_q<kConvS8>(p.wdw, wo, wv);
#pragma unroll
            for (int j = 0; j < 4; ++j) acci[j] += (xv[j] - p.x_fill) * wv[j];
          } else {
            float xv[4], wv[4];
            dw_load4<Kind>(p.x, xo, xv);
            dw_load4<Kind>(p.wdw, wo, wv);
#pragma unroll
            for (int j = 0; j < 4; ++j) accf[j] = fmaf(xv[j], wv[j], accf[j]);
          }
          continue;
        }
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

// Four channels from `i` on (count of them real, the rest 0): one vector load where `vec`.
template <int Kind, typename T>
__device__ __forceinline__ void dw_fetch4(const void* base, int64_t i, int count, bool vec,
                                          T v[4]) {
  constexpr bool kInt = Kind == kConvS8 || Kind == kConvU8;
  if (vec) {
    if constexpr (kInt)
      dw_load4_q<Kind>(base, i, v);
    else
      dw_load4<Kind>(base, i, v);
    return;
  }
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    if constexpr (kInt)
      v[j] = j < count ? dw_load_q<Kind>(base, i + j) : 0;
    else
      v[j] = j < count ? dw_load<Kind>(base, i + j) : 0.f;
  }
}

// Depthwise convolution for one window along W (KW wide, stride S, dilation 1): one thread
// computes 4 channels of PIX neighbouring output pixels of one row. Per kernel row it loads the
// KW weight vectors and the (PIX - 1) * S + KW input vectors the PIX windows share once, into
// registers, instead of KW of each per pixel (7x7: 17 loads per row for 4 pixels, not 56). Each
// output sums its taps in the same order as depthwise_kernel; padding contributes nothing
// (x_fill - x_fill for int8, 0 * w for float).
template <int Kind, int KW, int S, int PIX>
__global__ void __launch_bounds__(kDepthwiseThreads)
    depthwise_row_kernel(const __grid_constant__ ConvParams p) {
  grid_dep_wait();
  constexpr bool kInt = Kind == kConvS8 || Kind == kConvU8;
  constexpr int kWin = (PIX - 1) * S + KW;
  using T = std::conditional_t<kInt, int32_t, float>;
  const int c4 = (p.C + 3) / 4;
  const int blocks_w = (p.OW + PIX - 1) / PIX;
  const int total = p.N * p.OH * blocks_w * c4;
  const bool vec = dw_vector_loads(p);
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const int r = i / c4, c = (i - r * c4) * 4;
    const int count = min(4, p.C - c);
    const int bw = r % blocks_w, t = r / blocks_w, oh = t % p.OH, n = t / p.OH;
    const int ow0 = bw * PIX, iw0 = ow0 * S - p.PW;
    T acc[PIX][4];
#pragma unroll
    for (int j = 0; j < PIX; ++j)
#pragma unroll
      for (int q = 0; q < 4; ++q) acc[j][q] = 0;
    for (int kh = 0; kh < p.KH; ++kh) {
      const int ih = oh * p.SH - p.PH + kh * p.DH;
      if (ih < 0 || ih >= p.H) continue;
      T w[KW][4], x[kWin][4];
#pragma unroll
      for (int kw = 0; kw < KW; ++kw)
        dw_fetch4<kInt ? kConvS8 : Kind>(p.wdw, static_cast<int64_t>(kh * KW + kw) * p.C + c, count,
                                         vec, w[kw]);
      const int64_t row = (static_cast<int64_t>(n) * p.H + ih) * p.W;
#pragma unroll
      for (int u = 0; u < kWin; ++u) {
        const int iw = iw0 + u;
        if (iw >= 0 && iw < p.W) {
          dw_fetch4<Kind>(p.x, (row + iw) * p.C + c, count, vec, x[u]);
        } else {
#pragma unroll
          for (int q = 0; q < 4; ++q) x[u][q] = kInt ? p.x_fill : 0;
        }
      }
#pragma unroll
      for (int kw = 0; kw < KW; ++kw)
#pragma unroll
        for (int j = 0; j < PIX; ++j)
#pragma unroll
          for (int q = 0; q < 4; ++q) {
            if constexpr (kInt)
              acc[j][q] += (x[j * S + kw][q] - p.x_fill) * w[kw][q];
            else
              acc[j][q] = fmaf(x[j * S + kw][q], w[kw][q], acc[j][q]);
          }
    }
    const int64_t m0 = (static_cast<int64_t>(n) * p.OH + oh) * p.OW + ow0;
#pragma unroll
    for (int j = 0; j < PIX; ++j) {
      if (ow0 + j >= p.OW) break;
      float v[4];
#pragma unroll
      for (int q = 0; q < 4; ++q) v[q] = static_cast<float>(acc[j][q]);
      store_run(p.ep, p.y, (m0 + j) * p.OC + c, c, v, count);
    }
  }
}

}  // namespace mpq::cuda
