// Stores a requantized value of mpq's own int8 kernels: rounded half-to-even and saturated for
// u8/s8, rounded to nearest even for bf16 (uint16_t), as is for f32. Written without libm calls
// so the loops that use it vectorize.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "core/dtype.h"

namespace mpq::cpu {

template <typename T>
inline T store_requant(float v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else if constexpr (std::is_same_v<T, uint16_t>) {
    return float_to_bf16(v);
  } else {
    constexpr float lo = std::is_signed_v<T> ? -128.f : 0.f;
    constexpr float hi = std::is_signed_v<T> ? 127.f : 255.f;
    v = std::min(hi, std::max(lo, v));
    // Adding and subtracting 1.5 * 2^23 rounds |v| < 2^22 half-to-even (default rounding mode).
    return static_cast<T>((v + 12582912.f) - 12582912.f);
  }
}

}  // namespace mpq::cpu
