// Element-wise and data-movement kernels: conversion (quantize, dequantize, requantize, fp16,
// NCHW <-> NHWC), pooling and unary activations. Values go through float
// (dequantized) and are stored with the destination's rounding rule (epilogue.cuh).
#include "backends/cuda/epilogue.cuh"
#include "backends/cuda/launch.h"
#include "backends/cuda/pdl.cuh"

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
  grid_dep_wait();
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

// Plain (NCHW) f32 -> NHWC of any dtype, one pixel (all C <= 8 channels) per thread: the reads
// of each channel plane are coalesced, no per-element index division (the model's input).
__global__ void nchw_f32_to_nhwc_kernel(const float* src, void* dst, ElemDesc d, int32_t pixels,
                                        int32_t C, int32_t HW) {
  grid_dep_wait();
  for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < pixels; i += gridDim.x * blockDim.x) {
    const int32_t n = i / HW, hw = i - n * HW;
    const float* s = src + static_cast<int64_t>(n) * C * HW + hw;
    for (int c = 0; c < C; ++c) st(dst, d, static_cast<int64_t>(i) * C + c, __ldg(s + c * HW));
  }
}

__global__ void pool_kernel(const void* src, ElemDesc s, void* dst, ElemDesc d, PoolParams p,
                            int32_t total) {
  grid_dep_wait();
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
__device__ __forceinline__ uint4 word_max(uint4 a, uint4 b) {
  return make_uint4(word_max<kDt>(a.x, b.x), word_max<kDt>(a.y, b.y), word_max<kDt>(a.z, b.z),
                    word_max<kDt>(a.w, b.w));
}

// One thread per word of an output pixel: Word is uint32_t (channels * elem_size % 4 == 0) or
// uint4 (% 16 == 0: a quarter of the threads and loads).
template <int kDt, typename Word>
__global__ void maxpool_words_kernel(const Word* src, Word* dst, PoolParams p, int words,
                                     int32_t total) {
  grid_dep_wait();
  for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const int wc = i % words;
    int32_t t = i / words;
    const int ow = t % p.OW;
    t /= p.OW;
    const int oh = t % p.OH;
    const int32_t n = t / p.OH;
    Word acc{};
    bool first = true;
    for (int kh = 0; kh < p.KH; ++kh) {
      const int ih = oh * p.SH - p.PH + kh * p.DH;
      if (ih < 0 || ih >= p.H) continue;
      for (int kw = 0; kw < p.KW; ++kw) {
        const int iw = ow * p.SW - p.PW + kw * p.DW;
        if (iw < 0 || iw >= p.W) continue;
        const Word v = __ldg(src + ((n * p.H + ih) * p.W + iw) * words + wc);
        acc = first ? v : word_max<kDt>(acc, v);
        first = false;
      }
    }
    dst[i] = acc;
  }
}

// Launches maxpool_words_kernel on `Word`s for the element type.
template <typename Word>
void launch_maxpool_words(int dt, const void* src, void* dst, const PoolParams& p,
                          cudaStream_t stream) {
  const int esize = dt == kDtF32 ? 4 : dt == kDtF16 ? 2 : 1;
  const int words = p.C * esize / static_cast<int>(sizeof(Word));
  const int64_t wt = static_cast<int64_t>(p.N) * p.OH * p.OW * words;
  const auto* in = static_cast<const Word*>(src);
  auto* out = static_cast<Word*>(dst);
  const int32_t n32 = static_cast<int32_t>(wt);
  const dim3 grid(blocks_for(wt)), block(kThreads);
  switch (dt) {
    case kDtU8:
      (void)launch_pdl(maxpool_words_kernel<kDtU8, Word>, grid, block, 0, stream, in, out, p, words,
                       n32);
      break;
    case kDtS8:
      (void)launch_pdl(maxpool_words_kernel<kDtS8, Word>, grid, block, 0, stream, in, out, p, words,
                       n32);
      break;
    case kDtF16:
      (void)launch_pdl(maxpool_words_kernel<kDtF16, Word>, grid, block, 0, stream, in, out, p,
                       words, n32);
      break;
    default:
      (void)launch_pdl(maxpool_words_kernel<kDtF32, Word>, grid, block, 0, stream, in, out, p,
                       words, n32);
      break;
  }
}

__global__ void unary_kernel(const void* x, ElemDesc xs, void* y, ElemDesc ys, int32_t n, int op,
                             float a, float b) {
  grid_dep_wait();
  for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    float v = ld(x, xs, i);
    if (op == kOpRelu)
      v = fmaxf(v, 0.f);
    else if (op == kOpClip)
      v = fminf(fmaxf(v, a), b);
    else if (op == kOpLeaky)
      v = v >= 0.f ? v : a * v;
    st(y, ys, i, v);
  }
}

}  // namespace

cudaError_t convert(const void* src, ElemDesc s, void* dst, ElemDesc d, int64_t n, int64_t c,
                    int64_t h, int64_t w, cudaStream_t stream) {
  const int64_t total = n * c * h * w;
  if (total == 0) return cudaSuccess;
  if (total >= (int64_t{1} << 31)) return cudaErrorInvalidValue;
  if (s.dt == kDtF32 && !s.nhwc && d.nhwc && c <= 8) {
    const int64_t pixels = n * h * w;
    (void)launch_pdl(nchw_f32_to_nhwc_kernel, dim3(blocks_for(pixels)), dim3(kThreads), 0, stream,
                     static_cast<const float*>(src), dst, d, static_cast<int32_t>(pixels),
                     static_cast<int32_t>(c), static_cast<int32_t>(h * w));
    return cudaGetLastError();
  }
  (void)launch_pdl(convert_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, src, s, dst,
                   d, static_cast<int32_t>(total), static_cast<int32_t>(c), static_cast<int32_t>(h),
                   static_cast<int32_t>(w));
  return cudaGetLastError();
}

// Global average pooling (squeeze-excitation, classifier heads): a block per (image, 32
// channels), its 8 rows of threads summing every 8th pixel, then one reduction in shared memory.
// NHWC reads are coalesced across the channels; one thread per output would read a whole plane.
constexpr int kGapRows = 8;
__global__ void global_avg_kernel(const void* src, ElemDesc s, void* dst, ElemDesc d, int32_t C,
                                  int32_t HW) {
  grid_dep_wait();
  __shared__ float part[kGapRows][33];
  const int32_t n = blockIdx.x, c = blockIdx.y * 32 + threadIdx.x;
  float acc = 0.f;
  if (c < C)
    for (int32_t p = threadIdx.y; p < HW; p += kGapRows)
      acc += ld(src, s,
                s.nhwc ? (static_cast<int64_t>(n) * HW + p) * C + c
                       : (static_cast<int64_t>(n) * C + c) * HW + p);
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y != 0 || c >= C) return;
  float t = 0.f;
  for (int k = 0; k < kGapRows; ++k) t += part[k][threadIdx.x];
  st(dst, d, static_cast<int64_t>(n) * C + c, t / static_cast<float>(HW));
}

cudaError_t pool(const void* src, ElemDesc s, void* dst, ElemDesc d, const PoolParams& p,
                 cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(p.N) * p.C * p.OH * p.OW;
  if (total == 0) return cudaSuccess;
  if (static_cast<int64_t>(p.N) * p.C * p.H * p.W >= (int64_t{1} << 31))
    return cudaErrorInvalidValue;
  const int esize = s.dt == kDtF32 ? 4 : s.dt == kDtF16 ? 2 : 1;
  const bool words_ok =
      p.max && s.nhwc && d.nhwc && s.dt == d.dt && s.scale == d.scale && s.zp == d.zp;
  if (words_ok && (p.C * esize) % 16 == 0) {
    launch_maxpool_words<uint4>(s.dt, src, dst, p, stream);
    return cudaGetLastError();
  }
  if (words_ok && (p.C * esize) % 4 == 0) {
    launch_maxpool_words<uint32_t>(s.dt, src, dst, p, stream);
    return cudaGetLastError();
  }
  if (!p.max && p.OH == 1 && p.OW == 1 && p.KH == p.H && p.KW == p.W && p.PH == 0 && p.PW == 0) {
    (void)launch_pdl(global_avg_kernel, dim3(p.N, (p.C + 31) / 32), dim3(32, kGapRows), 0, stream,
                     src, s, dst, d, p.C, p.H * p.W);
    return cudaGetLastError();
  }
  (void)launch_pdl(pool_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, src, s, dst, d,
                   p, static_cast<int32_t>(total));
  return cudaGetLastError();
}

cudaError_t unary(const void* x, ElemDesc xs, void* y, ElemDesc ys, int64_t n, int op, float a,
                  float b, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  if (n >= (int64_t{1} << 31)) return cudaErrorInvalidValue;
  (void)launch_pdl(unary_kernel, dim3(blocks_for(n)), dim3(kThreads), 0, stream, x, xs, y, ys,
                   static_cast<int32_t>(n), op, a, b);
  return cudaGetLastError();
}

cudaError_t kernel_image_check() {
  cudaFuncAttributes a{};
  const cudaError_t e = cudaFuncGetAttributes(&a, unary_kernel);
  if (e != cudaSuccess) cudaGetLastError();
  return e;
}

}  // namespace mpq::cuda
