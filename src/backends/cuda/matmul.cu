// Batched matrix product of two activations (attention's Q K^T and P V): shared-memory tiles of
// kTile x kTile, one output per thread, fp32 accumulation for fp16 and fp32 operands.
#include <cuda_fp16.h>

#include "backends/cuda/map.h"
#include "backends/cuda/pdl.cuh"

namespace mpq::cuda {

namespace {

constexpr int kTile = 16;

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
__global__ void bmm_kernel(const T* a, const T* b, T* c, BmmParams p) {
  grid_dep_wait();
  __shared__ float sa[kTile][kTile + 1], sb[kTile][kTile + 1];
  const int32_t bi = blockIdx.z;
  // Row tiles on x (up to 2^31 - 1 blocks: all pixels of a channels-last activation).
  const int32_t row = blockIdx.x * kTile + threadIdx.y, col = blockIdx.y * kTile + threadIdx.x;
  const T* ab = a + bi * p.sa;
  const T* bb = b + bi * p.sb;
  float acc = 0.f;
  for (int32_t k0 = 0; k0 < p.k; k0 += kTile) {
    const int32_t ka = k0 + threadIdx.x, kb = k0 + threadIdx.y;
    sa[threadIdx.y][threadIdx.x] =
        row < p.m && ka < p.k ? to_f(ab[static_cast<int64_t>(row) * p.k + ka]) : 0.f;
    sb[threadIdx.y][threadIdx.x] =
        kb < p.k && col < p.n ? to_f(bb[static_cast<int64_t>(kb) * p.n + col]) : 0.f;
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTile; ++kk) acc = fmaf(sa[threadIdx.y][kk], sb[kk][threadIdx.x], acc);
    __syncthreads();
  }
  if (row < p.m && col < p.n) c[bi * p.sc + static_cast<int64_t>(row) * p.n + col] = from_f<T>(acc);
}

}  // namespace

cudaError_t batched_matmul(const void* a, const void* b, void* c, const BmmParams& p,
                           cudaStream_t stream) {
  if (p.batch == 0 || p.m == 0 || p.n == 0) return cudaSuccess;
  if (p.batch > 65535 || (p.n + kTile - 1) / kTile > 65535) return cudaErrorInvalidValue;
  const dim3 grid((p.m + kTile - 1) / kTile, (p.n + kTile - 1) / kTile, p.batch);
  const dim3 block(kTile, kTile);
  if (p.dt == kDtF16)
    (void)launch_pdl(bmm_kernel<__half>, grid, block, 0, stream, static_cast<const __half*>(a),
                     static_cast<const __half*>(b), static_cast<__half*>(c), p);
  else
    (void)launch_pdl(bmm_kernel<float>, grid, block, 0, stream, static_cast<const float*>(a),
                     static_cast<const float*>(b), static_cast<float*>(c), p);
  return cudaGetLastError();
}

}  // namespace mpq::cuda
