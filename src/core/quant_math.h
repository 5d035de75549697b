// THE quantization arithmetic of mpq: integer ranges, NNI's scale/zero-point formulas, and the
// quantize/dequantize/fake-quantize step. QAT's fake-quant, the calibrator's NNI section and the
// engine's quantize kernels all call these functions, so what training simulates and what int8
// inference computes cannot drift apart.
//
// Rules (DESIGN.md §5, nni.md §2.2):
//   * int  = narrow signed range  [-(2^(b-1)-1), 2^(b-1)-1]  (±127 at 8 bits)
//     uint = [0, 2^b-1]
//   * the real range is widened to contain 0 before a scale is chosen
//   * symmetric: scale = max(|rmin|,|rmax|) / ((qmax-qmin)/2); zp = 0 (int) or (qmin+qmax)/2 (uint)
//     affine:    scale = (rmax-rmin) / (qmax-qmin);            zp = qmin - round(rmin/scale)
//     zp is clamped to [qmin, qmax]
//   * quantize: q = saturate(round_half_to_even(x / scale) + zp)  (ONNX QuantizeLinear)
//     NNI rounds (zp + x/scale) instead; the two differ only on exact .5 ties with an odd zero
//     point. mpq follows ONNX so that exported QDQ models agree with the engine.
//   * all arithmetic in float32, as PyTorch does on float32 tensors.
//   * a range of exactly [0,0] gets scale 1 (NNI divides by zero there).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/quant_params.h"
#include "core/tensor.h"
#include "mpq/quant_types.h"

namespace mpq::quant {

const char* quant_dtype_name(QuantDtype d);    // "int", "uint"
const char* quant_scheme_name(QuantScheme s);  // "per_tensor_affine", ...
bool parse_quant_dtype(std::string_view s, QuantDtype* out);
bool parse_quant_scheme(std::string_view s, QuantScheme* out);
inline bool is_symmetric(QuantScheme s) {
  return s == QuantScheme::kPerTensorSymmetric || s == QuantScheme::kPerChannelSymmetric;
}
inline bool is_per_channel(QuantScheme s) {
  return s == QuantScheme::kPerChannelAffine || s == QuantScheme::kPerChannelSymmetric;
}

struct QRange {
  int64_t qmin = 0;
  int64_t qmax = 0;
};
// Integer range for `bits` (1..32) of `dtype`. Throws kInvalidInput for bits outside 1..32.
QRange quant_range(int bits, QuantDtype dtype);

struct ScaleZeroPoint {
  float scale = 1.f;
  int64_t zero_point = 0;
};
// NNI's update_quantization_param. Throws kInvalidInput for a non-finite range or a dtype/bits
// combination with a single level (int with 1 bit).
ScaleZeroPoint compute_scale_zero_point(float rmin, float rmax, int bits, QuantDtype dtype,
                                        bool symmetric);

// Round half to even with saturation into [r.qmin, r.qmax]; NaN maps to the zero point.
inline int64_t quantize_value(float x, float scale, int64_t zero_point, QRange r) {
  const float v = x / scale;
  if (std::isnan(v))
    return zero_point < r.qmin ? r.qmin : (zero_point > r.qmax ? r.qmax : zero_point);
  // Saturate before converting so that huge values cannot overflow the integer conversion.
  const double q = std::nearbyint(static_cast<double>(v)) + static_cast<double>(zero_point);
  if (q <= static_cast<double>(r.qmin)) return r.qmin;
  if (q >= static_cast<double>(r.qmax)) return r.qmax;
  return static_cast<int64_t>(q);
}
inline float dequantize_value(int64_t q, float scale, int64_t zero_point) {
  return scale * static_cast<float>(q - zero_point);
}
inline float fake_quantize_value(float x, float scale, int64_t zero_point, QRange r) {
  return dequantize_value(quantize_value(x, scale, zero_point, r), scale, zero_point);
}

// Per-tensor or per-channel parameters for a whole tensor.
struct TensorQuant {
  std::vector<float> scale;         // one, or one per channel along `axis`
  std::vector<int64_t> zero_point;  // same length
  int axis = -1;                    // -1: per tensor
  int bits = 8;
  QuantDtype dtype = QuantDtype::kInt;
  QRange range;

};

// Parameters from given ranges: one (min,max) pair per tensor or per channel.
TensorQuant tensor_quant_from_ranges(const std::vector<float>& mins, const std::vector<float>& maxs,
                                     int bits, QuantDtype dtype, QuantScheme scheme, int axis);
// Parameters from the tensor's own min/max (weights): per channel along `axis` when the scheme is
// per-channel (axis 0 for weights, 1 for activations), else per tensor.
TensorQuant tensor_quant_from_data(const Tensor& t, int bits, QuantDtype dtype, QuantScheme scheme,
                                   int axis);
// Per-channel min and max of an f32 tensor along `axis` (all other dims reduced).
void channel_min_max(const Tensor& t, int axis, std::vector<float>* mins, std::vector<float>* maxs);

// Fake-quantizes an f32 tensor with `q` (quantize then dequantize, element-wise).
Tensor fake_quantize(const Tensor& x, const TensorQuant& q);
// Quantizes an f32 tensor to integers (as int64 values, whatever the bit width) and back.
std::vector<int64_t> quantize_tensor(const Tensor& x, const TensorQuant& q);

}  // namespace mpq::quant
