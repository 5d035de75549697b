// The strided element-wise kernel (map.h): every operand addressed through its own strides, so
// one kernel serves activations, broadcasting arithmetic and the data-movement ops. Values go
// through float and are stored with the destination's rounding rule (epilogue.cuh).
#include <algorithm>

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
// Each thread does kVec consecutive elements of the innermost dim (the host checks that it
// divides that dim): the coordinate divisions are paid once for kVec elements, and the kVec
// loads are independent, so more of them are in flight per thread.
template <int kIn, int kVec>
__device__ __forceinline__ void map_range(const void* const* xs, void* y, const MapParams& p,
                                          int32_t total) {
  for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    int64_t off[kIn], in_step[kIn], yo = p.out.offset, out_step = 0;
#pragma unroll
    for (int k = 0; k < kIn; ++k) off[k] = p.in[k].offset, in_step[k] = 0;
    bool inside = true;
    if (p.rank == 1 && !p.padded) {  // compacted same-layout operands: no index division
      yo += i * kVec * p.out.stride[0];
      out_step = p.out.stride[0];
#pragma unroll
      for (int k = 0; k < kIn; ++k)
        off[k] += i * kVec * p.in[k].stride[0], in_step[k] = p.in[k].stride[0];
    } else {
      int32_t rem = i;
#pragma unroll
      for (int d = kMapMaxRank - 1; d >= 0; --d) {
        if (d >= p.rank) continue;
        const bool inner = d == p.rank - 1;
        const int32_t n = inner ? p.dims[d] / kVec : p.dims[d];
        const int32_t c = (rem % n) * (inner ? kVec : 1);
        rem /= n;
        yo += c * p.out.stride[d];
        if (inner) out_step = p.out.stride[d];
#pragma unroll
        for (int k = 0; k < kIn; ++k) {
          off[k] += c * p.in[k].stride[d];
          if (inner) in_step[k] = p.in[k].stride[d];
        }
        if (p.padded) inside = inside && c >= p.lo[d] && c - p.lo[d] < p.in_dims[d];
      }
    }
    float v[kVec][kMapMaxIn];
#pragma unroll
    for (int j = 0; j < kVec; ++j)
#pragma unroll
      for (int k = 0; k < kIn; ++k)
        v[j][k] = k == 0 && !inside ? p.pad_value
                                    : load_as_float(xs[k], p.in[k].e.dt, off[k] + j * in_step[k],
                                                    p.in[k].e.scale, p.in[k].e.zp);
#pragma unroll
    for (int j = 0; j < kVec; ++j) {
      const float r =
          map_fn(p.op, v[j][0], kIn > 1 ? v[j][1] : 0.f, kIn > 2 ? v[j][2] : 0.f, p.a, p.b);
      store_from_float(y, p.out.e.dt, yo + j * out_step, r, p.out.e.scale, p.out.e.zp);
    }
  }
}

// p is a __grid_constant__: map_range reads it by reference, which would otherwise make a local
// copy of the whole struct.
template <int kIn, int kVec>
__global__ void map_kernel(const void* x0, const void* x1, const void* x2, void* y,
                           const __grid_constant__ MapParams p, int32_t total) {
  grid_dep_wait();
  const void* xs[kMapMaxIn] = {x0, x1, x2};
  map_range<kIn, kVec>(xs, y, p, total);
}

// Up to kMapBatch one-operand maps into the same output, one per blockIdx.y: a Concat of many
// inputs (densenet's, of up to 25) is a few launches instead of one per input.
struct MapBatch {
  int32_t n = 0;
  void* y = nullptr;
  const void* x[kMapBatch] = {};
  int32_t total[kMapBatch] = {};
  bool vec[kMapBatch] = {};
  MapParams p[kMapBatch];
};

__global__ void map_batch_kernel(const __grid_constant__ MapBatch b) {
  grid_dep_wait();
  const int j = blockIdx.y;
  const void* xs[kMapMaxIn] = {b.x[j], nullptr, nullptr};
  if (b.vec[j])
    map_range<1, 4>(xs, b.y, b.p[j], b.total[j]);
  else
    map_range<1, 1>(xs, b.y, b.p[j], b.total[j]);
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

namespace {

// Elements of p's space (-1: not a valid space).
int64_t space_size(const MapParams& p) {
  if (p.rank > kMapMaxRank || p.nin < 1 || p.nin > kMapMaxIn) return -1;
  int64_t total = 1;
  for (int d = 0; d < p.rank; ++d) total *= p.dims[d];
  return total >= (int64_t{1} << 31) ? -1 : total;
}

// Four elements a thread where the innermost dim allows it (padding is per coordinate: one).
bool vectorizable(const MapParams& p) {
  return !p.padded && p.rank >= 1 && p.dims[p.rank - 1] % 4 == 0;
}

}  // namespace

cudaError_t strided_map(const void* x0, const void* x1, const void* x2, void* y, const MapParams& p,
                        cudaStream_t stream) {
  const int64_t total = space_size(p);
  if (total < 0) return cudaErrorInvalidValue;
  if (total == 0) return cudaSuccess;
  const bool vec = vectorizable(p);
  using Kernel = void (*)(const void*, const void*, const void*, void*, const MapParams, int32_t);
  static constexpr Kernel kernels[2][3] = {{map_kernel<1, 1>, map_kernel<2, 1>, map_kernel<3, 1>},
                                           {map_kernel<1, 4>, map_kernel<2, 4>, map_kernel<3, 4>}};
  const int64_t work = vec ? total / 4 : total;
  (void)launch_pdl(kernels[vec][p.nin - 1], dim3(blocks_for(work)), dim3(kThreads), 0, stream, x0,
                   x1, x2, y, p, static_cast<int32_t>(work));
  return cudaGetLastError();
}

cudaError_t strided_map_batch(const void* const* x, void* y, const MapParams* p, int n,
                              cudaStream_t stream) {
  if (n < 1 || n > kMapBatch) return cudaErrorInvalidValue;
  MapBatch b;
  b.n = n;
  b.y = y;
  int64_t blocks = 1;
  for (int j = 0; j < n; ++j) {
    const int64_t total = space_size(p[j]);
    if (total < 0 || p[j].nin != 1) return cudaErrorInvalidValue;
    b.x[j] = x[j];
    b.p[j] = p[j];
    b.vec[j] = vectorizable(p[j]);
    b.total[j] = static_cast<int32_t>(b.vec[j] ? total / 4 : total);
    blocks = std::max<int64_t>(blocks, blocks_for(b.total[j]));
  }
  (void)launch_pdl(map_batch_kernel, dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(n)),
                   dim3(kThreads), 0, stream, b);
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
