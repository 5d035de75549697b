// The strided element-wise kernel (map.h): every operand addressed through its own strides, so
// one kernel serves activations, broadcasting arithmetic and the data-movement ops. Values go
// through float and are stored with the destination's rounding rule (epilogue.cuh).
#include "backends/cuda/epilogue.cuh"
#include "backends/cuda/map.h"
#include "backends/cuda/pdl.cuh"
#include "backends/cuda/warp.cuh"

namespace mpq::cuda {

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > (1 << 30) ? (1 << 30) : b));
}

__device__ __forceinline__ float map_fn(int op, float x, float y, float z, float a, float b) {
  switch (op) {
    case kMapSigmoid:
      return 1.f / (1.f + __expf(-x));
    case kMapTanh:
      return tanhf(x);
    case kMapExp:
      return expf(x);
    case kMapSqrt:
      return sqrtf(x);
    case kMapErf:
      return erff(x);
    case kMapHardSigmoid:
      return fminf(fmaxf(fmaf(a, x, b), 0.f), 1.f);
    case kMapHardSwish:
      return x * fminf(fmaxf(x * (1.f / 6.f) + 0.5f, 0.f), 1.f);
    case kMapAdd:
      return x + y;
    case kMapSub:
      return x - y;
    case kMapMul:
      return x * y;
    case kMapDiv:
      return x / y;
    case kMapPow:
      return y == 2.f ? x * x : powf(x, y);
    case kMapFma:
      return fmaf(x, y, z);
    case kMapSilu:
      return x / (1.f + __expf(-x));
    case kMapGelu:
      return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    default:
      return x;
  }
}

// Index math in 32 bits for the coordinates (the host checks the space has < 2^31 elements).
// Every loop over operands and dims is unrolled with constant indices: an index into the
// parameter struct that is only known at run time would make each thread copy the whole struct
// to local memory, which cost ~50x the memory time of a broadcasting Mul.
template <int kIn>
__global__ void map_kernel(const void* x0, const void* x1, const void* x2, void* y, MapParams p,
                           int32_t total) {
  grid_dep_wait();
  const void* xs[kMapMaxIn] = {x0, x1, x2};
  for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    int64_t off[kIn], yo = p.out.offset;
#pragma unroll
    for (int k = 0; k < kIn; ++k) off[k] = p.in[k].offset;
    bool inside = true;
    if (p.rank == 1 && !p.padded) {  // compacted same-layout operands: no index division
      yo += i * p.out.stride[0];
#pragma unroll
      for (int k = 0; k < kIn; ++k) off[k] += i * p.in[k].stride[0];
    } else {
      int32_t rem = i;
#pragma unroll
      for (int d = kMapMaxRank - 1; d >= 0; --d) {
        if (d >= p.rank) continue;
        const int32_t c = rem % p.dims[d];
        rem /= p.dims[d];
        yo += c * p.out.stride[d];
#pragma unroll
        for (int k = 0; k < kIn; ++k) off[k] += c * p.in[k].stride[d];
        if (p.padded) inside = inside && c >= p.lo[d] && c - p.lo[d] < p.in_dims[d];
      }
    }
    float v[kMapMaxIn] = {0.f, 0.f, 0.f};
#pragma unroll
    for (int k = 0; k < kIn; ++k)
      v[k] = k == 0 && !inside
                 ? p.pad_value
                 : load_as_float(xs[k], p.in[k].e.dt, off[k], p.in[k].e.scale, p.in[k].e.zp);
    const float r = map_fn(p.op, v[0], v[1], v[2], p.a, p.b);
    store_from_float(y, p.out.e.dt, yo, r, p.out.e.scale, p.out.e.zp);
  }
}

// One warp per output: lanes walk the reduced coordinates, then a shuffle sum.
__global__ void reduce_mean_kernel(const void* x, void* y, ReduceParams p, int32_t total,
                                   int32_t rtotal) {
  grid_dep_wait();
  const int lane = threadIdx.x & 31;
  const int32_t warps = gridDim.x * (blockDim.x >> 5);
  for (int32_t i = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); i < total; i += warps) {
    int64_t xo = p.map.in[0].offset, yo = p.map.out.offset;
    int32_t rem = i;
#pragma unroll
    for (int d = kMapMaxRank - 1; d >= 0; --d) {  // constant indices, as in map_kernel
      if (d >= p.map.rank) continue;
      const int32_t c = rem % p.map.dims[d];
      rem /= p.map.dims[d];
      xo += c * p.map.in[0].stride[d];
      yo += c * p.map.out.stride[d];
    }
    const ElemDesc& e = p.map.in[0].e;
    float s = 0.f;
    for (int32_t r = lane; r < rtotal; r += 32) {
      int64_t o = xo;
      int32_t rr = r;
#pragma unroll
      for (int d = kMapMaxRank - 1; d >= 0; --d) {
        if (d >= p.rrank) continue;
        o += (rr % p.rdims[d]) * p.rstride[d];
        rr /= p.rdims[d];
      }
      s += load_as_float(x, e.dt, o, e.scale, e.zp);
    }
    s = warp_sum(s);
    if (lane == 0)
      store_from_float(y, p.map.out.e.dt, yo, s / static_cast<float>(rtotal), p.map.out.e.scale,
                       p.map.out.e.zp);
  }
}

// One warp per row: max, sum of exp(x - max), then the normalized store (LogSoftmax:
// x - max - log(sum)).
__global__ void softmax_kernel(const void* x, ElemDesc xd, void* y, ElemDesc yd, int32_t rows,
                               int32_t cols, bool log_space) {
  grid_dep_wait();
  const int lane = threadIdx.x & 31;
  const int32_t warps = gridDim.x * (blockDim.x >> 5);
  for (int32_t r = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
    const int64_t base = static_cast<int64_t>(r) * cols;
    float mx = -INFINITY;
    for (int32_t c = lane; c < cols; c += 32)
      mx = fmaxf(mx, load_as_float(x, xd.dt, base + c, xd.scale, xd.zp));
    mx = warp_max(mx);
    float s = 0.f;
    for (int32_t c = lane; c < cols; c += 32)
      s += __expf(load_as_float(x, xd.dt, base + c, xd.scale, xd.zp) - mx);
    const float sum = warp_sum(s), inv = 1.f / sum, lse = logf(sum);
    for (int32_t c = lane; c < cols; c += 32) {
      const float d = load_as_float(x, xd.dt, base + c, xd.scale, xd.zp) - mx;
      store_from_float(y, yd.dt, base + c, log_space ? d - lse : __expf(d) * inv, yd.scale, yd.zp);
    }
  }
}

}  // namespace

cudaError_t strided_map(const void* x0, const void* x1, const void* x2, void* y, const MapParams& p,
                        cudaStream_t stream) {
  int64_t total = 1;
  for (int d = 0; d < p.rank; ++d) total *= p.dims[d];
  if (total == 0) return cudaSuccess;
  if (total >= (int64_t{1} << 31) || p.rank > kMapMaxRank || p.nin < 1 || p.nin > kMapMaxIn)
    return cudaErrorInvalidValue;
  auto kernel = p.nin == 1 ? map_kernel<1> : p.nin == 2 ? map_kernel<2> : map_kernel<3>;
  (void)launch_pdl(kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, x0, x1, x2, y, p,
                   static_cast<int32_t>(total));
  return cudaGetLastError();
}

cudaError_t reduce_mean(const void* x, void* y, const ReduceParams& p, cudaStream_t stream) {
  int64_t total = 1, rtotal = 1;
  for (int d = 0; d < p.map.rank; ++d) total *= p.map.dims[d];
  for (int d = 0; d < p.rrank; ++d) rtotal *= p.rdims[d];
  if (total == 0) return cudaSuccess;
  if (total >= (int64_t{1} << 31) || rtotal >= (int64_t{1} << 31) || rtotal == 0)
    return cudaErrorInvalidValue;
  (void)launch_pdl(reduce_mean_kernel, dim3(blocks_for(total * 32)), dim3(kThreads), 0, stream, x,
                   y, p, static_cast<int32_t>(total), static_cast<int32_t>(rtotal));
  return cudaGetLastError();
}

cudaError_t softmax_rows(const void* x, ElemDesc xd, void* y, ElemDesc yd, int64_t rows,
                         int64_t cols, bool log_space, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  if (rows * cols >= (int64_t{1} << 31) || cols == 0) return cudaErrorInvalidValue;
  (void)launch_pdl(softmax_kernel, dim3(blocks_for(rows * 32)), dim3(kThreads), 0, stream, x, xd, y,
                   yd, static_cast<int32_t>(rows), static_cast<int32_t>(cols), log_space);
  return cudaGetLastError();
}

}  // namespace mpq::cuda
