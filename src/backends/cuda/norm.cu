// LayerNormalization as one warp per row (vit's [tokens, 768] and convnext's channels-last rows):
// a pass for the mean, a pass for the variance about it (two passes: the one-pass sum of squares
// loses digits when the mean is large against the spread), a pass that writes.
#include "backends/cuda/epilogue.cuh"
#include "backends/cuda/norm.h"
#include "backends/cuda/pdl.cuh"
#include "backends/cuda/warp.cuh"

namespace mpq::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void layer_norm_kernel(const void* x, ElemDesc xd, void* y, ElemDesc yd, int32_t rows,
                                  int32_t cols, const float* gamma, const float* beta, float eps) {
  grid_dep_wait();
  const int lane = threadIdx.x & 31;
  const int32_t warps = gridDim.x * (blockDim.x >> 5);
  const float inv_n = 1.f / static_cast<float>(cols);
  for (int32_t r = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
    const int64_t base = static_cast<int64_t>(r) * cols;
    float s = 0.f;
    for (int32_t c = lane; c < cols; c += 32)
      s += load_as_float(x, xd.dt, base + c, xd.scale, xd.zp);
    const float mean = warp_sum(s) * inv_n;
    float v = 0.f;
    for (int32_t c = lane; c < cols; c += 32) {
      const float d = load_as_float(x, xd.dt, base + c, xd.scale, xd.zp) - mean;
      v = fmaf(d, d, v);
    }
    const float rstd = rsqrtf(warp_sum(v) * inv_n + eps);
    for (int32_t c = lane; c < cols; c += 32) {
      const float d = load_as_float(x, xd.dt, base + c, xd.scale, xd.zp) - mean;
      const float o = fmaf(d * rstd, gamma[c], beta ? beta[c] : 0.f);
      store_from_float(y, yd.dt, base + c, o, yd.scale, yd.zp);
    }
  }
}

}  // namespace

cudaError_t layer_norm_rows(const void* x, ElemDesc xd, void* y, ElemDesc yd, int64_t rows,
                            int64_t cols, const float* gamma, const float* beta, float eps,
                            cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  if (rows * cols >= (int64_t{1} << 31) || cols == 0) return cudaErrorInvalidValue;
  const int64_t blocks = (rows * 32 + kThreads - 1) / kThreads;
  (void)launch_pdl(layer_norm_kernel,
                   dim3(static_cast<unsigned>(blocks < (1 << 30) ? blocks : (1 << 30))),
                   dim3(kThreads), 0, stream, x, xd, y, yd, static_cast<int32_t>(rows),
                   static_cast<int32_t>(cols), gamma, beta, eps);
  return cudaGetLastError();
}

}  // namespace mpq::cuda
