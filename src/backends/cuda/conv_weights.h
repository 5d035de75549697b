// The CUDA conv kernel's prepare-time host work (conv.cc): a Conv/Gemm node's geometry as
// ConvParams, and its weights packed for the kernels ([group][OCpad][Kpad], k = (kh, kw, c)),
// quantized per output channel for int8 layers, with the epilogue's scales and bias.
#pragma once

#include <cstdint>
#include <vector>

#include "backends/backend.h"
#include "backends/cuda/conv_params.h"
#include "backends/cuda/launch.h"
#include "ir/graph.h"

namespace mpq::cuda {

// What a Conv/Gemm node computes, reduced to the implicit-GEMM geometry.
struct ConvGeometry {
  bool conv = true;
  int64_t C = 0, H = 1, W = 1, OC = 0, OH = 1, OW = 1;
  int64_t KH = 1, KW = 1, SH = 1, SW = 1, PH = 0, PW = 0, DH = 1, DW = 1, groups = 1;
  float gemm_alpha = 1.f, gemm_beta = 1.f;
  bool trans_b = false;  // Gemm: B is [N, K]
};

bool is_conv_op(const Node& n);
ConvGeometry conv_geometry(const Node& n, const TensorSpec& x, const TensorSpec& w,
                           const TensorSpec& y);

// p's shapes (N images of g) and the padded K and OC of `kind` (kConvS8 ...); raises when the
// groups do not divide the channels or a tensor needs 64-bit indexing.
void set_conv_shapes(ConvParams& p, const ConvGeometry& g, int64_t n, int kind);

// The weights as float rows W[oc][k], k = (kh, kw, c), Gemm's alpha applied.
std::vector<float> weight_rows(const TensorSpec& w, const ConvParams& p, const ConvGeometry& g);
// The bias per output channel (zero without one), Gemm's beta applied.
std::vector<float> conv_bias(const KernelSetup& s, const ConvParams& p, const ConvGeometry& g);

// int8 weights: packed, with each output channel's scale and sum of quantized values.
struct QuantizedWeights {
  std::vector<int8_t> packed;
  std::vector<float> scale;  // [OC]
  std::vector<int64_t> sum;  // [OC]
};
// Scales a QDQ model fixed (w.quant) are used as given, over the full int8 range as ONNX's
// QuantizeLinear saturates; otherwise mpq's symmetric max|w| / 127.
QuantizedWeights quantize_weights(const std::vector<float>& rows, const TensorSpec& w,
                                  const ConvParams& p, const ConvGeometry& g);

// The int8 epilogue's per-channel alpha, beta and zero-point compensation (Epilogue::int_acc)
// for input `x` and output scale `s_y`.
struct Int8Epilogue {
  std::vector<float> alpha, beta;
  std::vector<int32_t> zcomp;
};
Int8Epilogue int8_epilogue(const QuantizedWeights& qw, const std::vector<float>& bias,
                           const ElemDesc& x, float s_y);

// Float weights packed per group, zero padded.
std::vector<float> pack_weights(const std::vector<float>& rows, const ConvParams& p);

bool depthwise_layer(const ConvParams& p);

// A depthwise layer's packed weights ([C][OCpad][Kpad], one row per channel) as [KH*KW][C].
template <typename T>
std::vector<T> depthwise_taps(const std::vector<T>& packed, const ConvParams& p) {
  const int taps = p.KH * p.KW;
  std::vector<T> t(static_cast<size_t>(taps) * p.C);
  for (int c = 0; c < p.C; ++c)
    for (int k = 0; k < taps; ++k)
      t[static_cast<size_t>(k) * p.C + c] = packed[static_cast<size_t>(c) * p.OCpad * p.Kpad + k];
  return t;
}

// For element gathers: each k's (kh * DH, kw * DW, c, 1), [Kpad][4].
std::vector<int32_t> gather_table(const ConvParams& p);

}  // namespace mpq::cuda
