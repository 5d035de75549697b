// Host-side entry points of the CUDA kernels (compiled by nvcc, called from the backend's .cc
// files). Every function only enqueues work on `stream` and returns the launch error, if any.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backends/cuda/conv_params.h"

namespace mpq::cuda {

// ---- convolution / GEMM (conv_dispatch.cu)
// Arithmetic of a conv launch: int8 with s8 or u8 activations, fp16, fp32.
enum ConvKind : int { kConvS8 = 0, kConvU8 = 1, kConvF16 = 2, kConvF32 = 3 };

struct ConvConfig {
  int kind = 0;
  int vec = 0;  // how A is gathered: 0 element by element, 1 16-byte pieces, 2 4-byte pieces
  int bm = 0, bn = 0;
  int threads = 0;
  int smem = 0;       // dynamic shared memory bytes
  int direct_k = 0;   // direct kernel (direct_int8.cuh): the largest K it takes; 0: implicit GEMM
  int depthwise = 0;  // depthwise kernel (depthwise.cuh): groups == C == OC only, never split
  // Depthwise kernels built for one window: kernel width and stride along W (dilation 1);
  // 0: any window.
  int dw_kw = 0, dw_sw = 0;
  int wgmma = 0;     // Hopper TMA + wgmma kernel (igemm_wgmma.cuh): sm_90a, geometry of wgmma_fits
  std::string name;  // e.g. "tc_s8_128x128x64_s4_vec"
};

// A depthwise layer's window along W, for the depthwise kernels built for one window.
struct DepthwiseWindow {
  int kw = 0, sw = 1, dw = 1;
};

// Indices (into conv_configs()) of the configurations that can run a layer of this kind: the
// implicit-GEMM tiles of its load mode, the direct kernels where K, groups and OC allow them
// (k = 0: none), and the depthwise kernels for a depthwise layer (dw given: those for any
// window and those built for its window), and with the layer's geometry `geom` the Hopper
// kernels where wgmma_available() and wgmma_fits() allow them.
const std::vector<ConvConfig>& conv_configs();
std::vector<int> conv_candidates(int kind, int load_mode, int64_t k = 0, int64_t groups = 1,
                                 int64_t oc = 0, const DepthwiseWindow* dw = nullptr,
                                 const ConvParams* geom = nullptr);
// True when this binary holds the sm_90a kernels and the current device is sm_90.
bool wgmma_available();
// Whether this binary was built with sm_90a code (MPQ_CUDA_ARCHS including 90a).
bool wgmma_compiled();
// The manifest note of int8 convolutions that cannot use the Hopper kernels on a device of
// compute capability `sm` (e.g. 86) with or without sm_90a code in the binary ("" if they can).
std::string wgmma_fallback_note(int sm, bool compiled);
// Whether the Hopper kernel with BM-row tiles runs layer p: one group, C % 64 == 0, stride 1,
// input zero point 0, and tiles of whole output rows or whole images (igemm_wgmma.cuh).
bool wgmma_fits(const ConvParams& p, int bm);
// The direct kernels' limit on output channels (their weights sit in shared memory).
constexpr int kDirectMaxOc = 256;
// K of the narrower direct kernel (larger K, up to 64, takes the wider one).
constexpr int kDirectSmallK = 28;
// The fastest gather a layer of `kind` with `cg` channels per group allows (see igemm_tc.cuh).
int conv_load_mode(int kind, int64_t cg);
// K padding (elements) and output-channel padding every configuration of `kind` accepts.
int conv_k_multiple(int kind);
constexpr int kOcMultiple = 128;
// Raises the dynamic shared-memory limit of configuration `cfg` (once per process and device).
cudaError_t conv_prepare(int cfg);
cudaError_t conv_launch(int cfg, const ConvParams& p, cudaStream_t stream);

// ---- data movement and element-wise work (misc.cu)
// A tensor's storage as the element-wise kernels see it: dtype, quantization, and for rank-4
// tensors whether it is NHWC (logical dims are always N, C, H, W).
struct ElemDesc {
  int32_t dt = kDtF32;
  float scale = 1.f;
  int32_t zp = 0;
  bool nhwc = false;
};

// dst = convert(src): dtype, quantization and layout; dims (N, C, H, W) logical (for rank != 4 pass
// N = numel, C = H = W = 1).
cudaError_t convert(const void* src, ElemDesc s, void* dst, ElemDesc d, int64_t n, int64_t c,
                    int64_t h, int64_t w, cudaStream_t stream);

struct PoolParams {
  int32_t N = 0, C = 0, H = 0, W = 0, OH = 0, OW = 0;
  int32_t KH = 1, KW = 1, SH = 1, SW = 1, PH = 0, PW = 0, DH = 1, DW = 1;
  bool max = true;
  bool count_include_pad = false;
};
cudaError_t pool(const void* src, ElemDesc s, void* dst, ElemDesc d, const PoolParams& p,
                 cudaStream_t stream);

// y = f(x) element-wise (x and y share layout); op: kOpRelu, kOpClip(a, b), kOpLeaky(a), or 0
// (identity: conversion only).
cudaError_t unary(const void* x, ElemDesc xs, void* y, ElemDesc ys, int64_t n, int op, float a,
                  float b, cudaStream_t stream);

// cudaSuccess when this binary holds code the current device runs (its sm_XY, or PTX it can
// compile); else the error of looking a kernel up (cudaErrorNoKernelImageForDevice).
cudaError_t kernel_image_check();

}  // namespace mpq::cuda
