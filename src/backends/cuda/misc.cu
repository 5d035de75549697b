// Element-wise and data-movement kernels: conversion (quantize, dequantize, requantize, fp16,
// NCHW <-> NHWC), pooling, unary activations and same-shape binary ops. Values go through float
// (dequantized) and are stored with the destination's rounding rule (epilogue.cuh).
#include "backends/cuda/epilogue.cuh"
#include "backends/cuda/launch.h"

namespace mpq::cuda {

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) {
  int64_t b = ceil_div(n, kThreads);
  return static_cast<unsigned>(b < 1 ? 1 : (b > (1 << 30) ? (1 << 30) : b));
}

__device__ __forceinline__ float ld(const void* p, const ElemDesc& d, int64_t i) {
  return load_as_float(p, d.dt, i, d.scale, d.zp);
}
__device__ __forceinline__ void st(void* p, const ElemDesc& d, int64_t i, float v) {
  store_from_float(p, d.dt, i, v, d.scale, d.zp);
}

// Offset of logical (n, c, h, w) in a rank-4 tensor of dims (C, H, W).
__device__ __forceinline__ int64_t offset4(bool nhwc, int64_t n, int64_t c, int64_t h, int64_t w,
                                           int64_t C, int64_t H, int64_t W) {
  return nhwc ? ((n * H + h) * W + w) * C + c : ((n * C + c) * H + h) * W + w;
}

// Index math in 32 bits (the host checks that every tensor has < 2^31 elements): 64-bit division
// costs ~70 instructions.
__global__ void convert_kernel(const void* src, ElemDesc s, void* dst, ElemDesc d, int32_t total,
                               int32_t C, int32_t H, int32_t W) {
  for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    int32_t si = i;
    if (s.nhwc != d.nhwc) {
      // i indexes dst; find the logical coordinates, then the source offset.
      int32_t n, c, h, w;
      if (d.nhwc) {
        c = i % C;
        int32_t t = i / C;
        w = t % W, t /= W, h = t % H, n = t / H;
      } else {
        w = i % W;
        int32_t t = i / W;
        h = t % H, t /= H, c = t % C, n = t / C;
      }
      si = static_cast<int32_t>(offset4(s.nhwc, n, c, h, w, C, H, W));
    }
    st(dst, d, i, ld(src, s, si));
  }
}

__global__ void pool_kernel(const void* src, ElemDesc s, void* dst, ElemDesc d, PoolParams p,
                            int32_t total) {
  for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    int32_t n, c, oh, ow;
    if (d.nhwc) {
      c = i % p.C;
      int32_t t = i / p.C;
      ow = t % p.OW, t /= p.OW, oh = t % p.OH, n = t / p.OH;
    } else {
      ow = i % p.OW;
      int32_t t = i / p.OW;
      oh = t % p.OH, t /= p.OH, c = t % p.C, n = t / p.C;
    }
    float acc = p.max ? -INFINITY : 0.f;
    int count = 0;
    for (int kh = 0; kh < p.KH; ++kh) {
      const int32_t ih = oh * p.SH - p.PH + kh * p.DH;
      for (int kw = 0; kw < p.KW; ++kw) {
        const int32_t iw = ow * p.SW - p.PW + kw * p.DW;
        if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) {
          if (p.count_include_pad && ih < p.H + p.PH && iw < p.W + p.PW) ++count;
          continue;
        }
        const float v = ld(src, s, offset4(s.nhwc, n, c, ih, iw, p.C, p.H, p.W));
        if (p.max)
          acc = fmaxf(acc, v);
        else
          acc += v;
        ++count;
      }
    }
    if (!p.max) acc = count > 0 ? acc / static_cast<float>(count) : 0.f;
    st(dst, d, i, acc);
  }
}

// Max pooling, NHWC, same dtype and quantization in and out: 32-bit words of 4 u8/s8, 2 fp16 or
// 1 fp32 channels per thread (max commutes with the monotonic dequantization).
template <int kDt>
__device__ __forceinline__ uint32_t word_max(uint32_t a, uint32_t b) {
  if constexpr (kDt == kDtU8) return __vmaxu4(a, b);
  if constexpr (kDt == kDtS8) return __vmaxs4(a, b);
  if constexpr (kDt == kDtF16) {
    __half2 r = __hmax2(*reinterpret_cast<__half2*>(&a), *reinterpret_cast<__half2*>(&b));
    return *reinterpret_cast<uint32_t*>(&r);
  }
  const float r = fmaxf(__uint_as_float(a), __uint_as_float(b));
  return __float_as_uint(r);
}

template <int kDt>
__global__ void maxpool_words_kernel(const uint32_t* src, uint32_t* dst, PoolParams p, int words,
                                     int32_t total) {
  for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const int wc = i % words;
    int32_t t = i / words;
    const int ow = t % p.OW;
    t /= p.OW;
    const int oh = t % p.OH;
    const int32_t n = t / p.OH;
    uint32_t acc = 0;
    bool first = true;
    for (int kh = 0; kh < p.KH; ++kh) {
      const int ih = oh * p.SH - p.PH + kh * p.DH;
      if (ih < 0 || ih >= p.H) continue;
      for (int kw = 0; kw < p.KW; ++kw) {
        const int iw = ow * p.SW - p.PW + kw * p.DW;
        if (iw < 0 || iw >= p.W) continue;
        const uint32_t v = __ldg(src + ((n * p.H + ih) * p.W + iw) * words + wc);
        acc = first ? v : word_max<kDt>(acc, v);
        first = false;
      }
    }
    dst[i] = acc;
  }
}

__global__ void unary_kernel(const void* x, ElemDesc xs, void* y, ElemDesc ys, int32_t n, int op,
                             float a, float b) {
  for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    float v = ld(x, xs, i);
    if (op == kOpRelu) v = fmaxf(v, 0.f);
    else if (op == kOpClip) v = fminf(fmaxf(v, a), b);
    else if (op == kOpLeaky) v = v >= 0.f ? v : a * v;
    st(y, ys, i, v);
  }
}

__global__ void binary_kernel(const void* a, ElemDesc as, const void* b, ElemDesc bs, void* y,
                              ElemDesc ys, int32_t n, int op) {
  for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const float va = ld(a, as, i), vb = ld(b, bs, i);
    st(y, ys, i, op == kBinAdd ? va + vb : op == kBinSub ? va - vb : va * vb);
  }
}

}  // namespace

cudaError_t convert(const void* src, ElemDesc s, void* dst, ElemDesc d, int64_t n, int64_t c,
                    int64_t h, int64_t w, cudaStream_t stream) {
  const int64_t total = n * c * h * w;
  if (total == 0) return cudaSuccess;
  if (total >= (int64_t{1} << 31)) return cudaErrorInvalidValue;
  convert_kernel<<<blocks_for(total), kThreads, 0, stream>>>(src, s, dst, d, static_cast<int32_t>(total),
                                                             static_cast<int32_t>(c), static_cast<int32_t>(h),
                                                             static_cast<int32_t>(w));
  return cudaGetLastError();
}

cudaError_t pool(const void* src, ElemDesc s, void* dst, ElemDesc d, const PoolParams& p,
                 cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(p.N) * p.C * p.OH * p.OW;
  if (total == 0) return cudaSuccess;
  if (static_cast<int64_t>(p.N) * p.C * p.H * p.W >= (int64_t{1} << 31)) return cudaErrorInvalidValue;
  const int esize = s.dt == kDtF32 ? 4 : s.dt == kDtF16 ? 2 : 1;
  if (p.max && s.nhwc && d.nhwc && s.dt == d.dt && s.scale == d.scale && s.zp == d.zp &&
      (p.C * esize) % 4 == 0) {
    const int words = p.C * esize / 4;
    const int64_t wt = static_cast<int64_t>(p.N) * p.OH * p.OW * words;
    const auto* in = static_cast<const uint32_t*>(src);
    auto* out = static_cast<uint32_t*>(dst);
    switch (s.dt) {
      case kDtU8: maxpool_words_kernel<kDtU8><<<blocks_for(wt), kThreads, 0, stream>>>(in, out, p, words, static_cast<int32_t>(wt)); break;
      case kDtS8: maxpool_words_kernel<kDtS8><<<blocks_for(wt), kThreads, 0, stream>>>(in, out, p, words, static_cast<int32_t>(wt)); break;
      case kDtF16: maxpool_words_kernel<kDtF16><<<blocks_for(wt), kThreads, 0, stream>>>(in, out, p, words, static_cast<int32_t>(wt)); break;
      default: maxpool_words_kernel<kDtF32><<<blocks_for(wt), kThreads, 0, stream>>>(in, out, p, words, static_cast<int32_t>(wt)); break;
    }
    return cudaGetLastError();
  }
  pool_kernel<<<blocks_for(total), kThreads, 0, stream>>>(src, s, dst, d, p, static_cast<int32_t>(total));
  return cudaGetLastError();
}

cudaError_t unary(const void* x, ElemDesc xs, void* y, ElemDesc ys, int64_t n, int op, float a,
                  float b, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  if (n >= (int64_t{1} << 31)) return cudaErrorInvalidValue;
  unary_kernel<<<blocks_for(n), kThreads, 0, stream>>>(x, xs, y, ys, static_cast<int32_t>(n), op, a, b);
  return cudaGetLastError();
}

cudaError_t binary(const void* a, ElemDesc as, const void* b, ElemDesc bs, void* y, ElemDesc ys,
                   int64_t n, int op, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  if (n >= (int64_t{1} << 31)) return cudaErrorInvalidValue;
  binary_kernel<<<blocks_for(n), kThreads, 0, stream>>>(a, as, b, bs, y, ys, static_cast<int32_t>(n), op);
  return cudaGetLastError();
}

}  // namespace mpq::cuda
