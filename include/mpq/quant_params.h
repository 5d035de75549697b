// Quantization parameters carried by a tensor description: real = scale * (q - zero_point).
#pragma once

#include <cstdint>
#include <vector>

namespace mpq {

struct QuantParams {
  std::vector<float> scale;         // one per tensor, or one per channel along `axis`
  std::vector<int32_t> zero_point;  // same length as scale
  int axis = -1;                    // -1: per tensor
  int bits = 8;
  bool is_signed = true;

  bool per_channel() const { return axis >= 0; }
  // Integer range of the quantized type: narrow for signed weights is chosen by the caller.
  int32_t qmin() const { return is_signed ? -(1 << (bits - 1)) : 0; }
  int32_t qmax() const { return is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1; }
};

}  // namespace mpq
