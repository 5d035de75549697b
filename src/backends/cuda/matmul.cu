// Batched matrix product of two activations (attention's Q K^T and P V): 64 x 64 output tiles
// staged through shared memory in steps of 16 along k, a 4 x 4 block of outputs per thread (each
// shared value loaded once feeds four products), fp32 accumulation for fp16 and fp32 operands.
// A thread's outputs are 16 rows / columns apart, so a warp reads shared memory without bank
// conflicts and writes C in coalesced rows.
#include <cuda_fp16.h>

#include "backends/cuda/map.h"
#include "backends/cuda/pdl.cuh"

namespace mpq::cuda {

namespace {

constexpr int kTileM = 64, kTileN = 64, kTileK = 16, kThreads = 256, kPer = 4;

template <typename T>
__device__ __forceinline__ float to_f(T v) {
  return static_cast<float>(v);
}
template <>
__device__ __forceinline__ float to_f<__half>(__half v) {
  return __half2float(v);
}
template <typename T>
__device__ __forceinline__ T from_f(float v) {
  return static_cast<T>(v);
}
template <>
__device__ __forceinline__ __half from_f<__half>(float v) {
  return __float2half_rn(v);
}

template <typename T>
__global__ void __launch_bounds__(kThreads) bmm_kernel(const T* a, const T* b, T* c, BmmParams p) {
  grid_dep_wait();
  // A's tile is stored transposed; the padding spreads its column writes over the banks.
  __shared__ float sa[kTileK][kTileM + 4], sb[kTileK][kTileN];
  const int32_t tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  // Row tiles on x (up to 2^31 - 1 blocks: all pixels of a channels-last activation).
  const int32_t row0 = blockIdx.x * kTileM, col0 = blockIdx.y * kTileN;
  const T* ab = a + blockIdx.z * p.sa;
  const T* bb = b + blockIdx.z * p.sb;
  float acc[kPer][kPer] = {};
  for (int32_t k0 = 0; k0 < p.k; k0 += kTileK) {
#pragma unroll
    for (int r = 0; r < kTileM * kTileK / kThreads; ++r) {
      const int32_t e = threadIdx.x + r * kThreads;
      const int32_t i = e / kTileK, kk = e % kTileK, row = row0 + i, ka = k0 + kk;
      sa[kk][i] = row < p.m && ka < p.k ? to_f(ab[static_cast<int64_t>(row) * p.k + ka]) : 0.f;
    }
#pragma unroll
    for (int r = 0; r < kTileK * kTileN / kThreads; ++r) {
      const int32_t e = threadIdx.x + r * kThreads;
      const int32_t kk = e / kTileN, j = e % kTileN, col = col0 + j, kb = k0 + kk;
      sb[kk][j] = kb < p.k && col < p.n ? to_f(bb[static_cast<int64_t>(kb) * p.n + col]) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTileK; ++kk) {
      float av[kPer], bv[kPer];
#pragma unroll
      for (int q = 0; q < kPer; ++q) av[q] = sa[kk][ty + 16 * q], bv[q] = sb[kk][tx + 16 * q];
#pragma unroll
      for (int i = 0; i < kPer; ++i)
#pragma unroll
        for (int j = 0; j < kPer; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
  T* cb = c + blockIdx.z * p.sc;
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int32_t row = row0 + ty + 16 * i;
    if (row >= p.m) continue;
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const int32_t col = col0 + tx + 16 * j;
      if (col < p.n) cb[static_cast<int64_t>(row) * p.n + col] = from_f<T>(acc[i][j]);
    }
  }
}

}  // namespace

cudaError_t batched_matmul(const void* a, const void* b, void* c, const BmmParams& p,
                           cudaStream_t stream) {
  if (p.batch == 0 || p.m == 0 || p.n == 0) return cudaSuccess;
  if (p.batch > 65535 || (p.n + kTileN - 1) / kTileN > 65535) return cudaErrorInvalidValue;
  const dim3 grid((p.m + kTileM - 1) / kTileM, (p.n + kTileN - 1) / kTileN, p.batch);
  const dim3 block(kThreads);
  if (p.dt == kDtF16)
    (void)launch_pdl(bmm_kernel<__half>, grid, block, 0, stream, static_cast<const __half*>(a),
                     static_cast<const __half*>(b), static_cast<__half*>(c), p);
  else
    (void)launch_pdl(bmm_kernel<float>, grid, block, 0, stream, static_cast<const float*>(a),
                     static_cast<const float*>(b), static_cast<float*>(c), p);
  return cudaGetLastError();
}

}  // namespace mpq::cuda
