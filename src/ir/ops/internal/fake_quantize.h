// The element loops of FakeQuantize, shared by the op's reference rules and the trainer's kernel
// (which also runs them on NHWC buffers). The arithmetic is quant::fake_quantize_value, the same
// function the engine's quantize step uses.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/quant_math.h"

namespace mpq::ops {

// Channel of element i: (i / inner) % channels (channels == 1: per tensor).
struct FakeQuantArgs {
  const float* scale = nullptr;
  const int64_t* zero_point = nullptr;
  int64_t channels = 1;
  int64_t inner = 1;
  quant::QRange range;
  int64_t channel(int64_t i) const { return channels == 1 ? 0 : (i / inner) % channels; }
};

// The clipped straight-through estimator (NNI's QATGrad): the gradient passes where the unclamped
// quantized value round(x / scale) + zero_point lies inside [qmin, qmax].
inline bool ste_passes(float x, float scale, int64_t zero_point, quant::QRange r) {
  const float v = x / scale;
  if (std::isnan(v)) return false;
  const double q = std::nearbyint(static_cast<double>(v)) + static_cast<double>(zero_point);
  return q >= static_cast<double>(r.qmin) && q <= static_cast<double>(r.qmax);
}

inline void fake_quantize_span(const float* x, float* y, int64_t begin, int64_t end,
                               const FakeQuantArgs& a) {
  for (int64_t i = begin; i < end; ++i) {
    const int64_t c = a.channel(i);
    y[i] = quant::fake_quantize_value(x[i], a.scale[c], a.zero_point[c], a.range);
  }
}

inline void fake_quantize_ste_span(const float* x, const float* gy, float* gx, int64_t begin,
                                   int64_t end, const FakeQuantArgs& a) {
  for (int64_t i = begin; i < end; ++i) {
    const int64_t c = a.channel(i);
    gx[i] = ste_passes(x[i], a.scale[c], a.zero_point[c], a.range) ? gy[i] : 0.f;
  }
}

}  // namespace mpq::ops
