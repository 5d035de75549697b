#include "core/dtype.h"

#include <cmath>
#include <limits>

namespace mpq {

namespace {
const DTypeInfo kTable[] = {
#define MPQ_X(e, ctype, size, name, onnx, isf, isi, isq) \
  {DType::e, size, name, onnx, isf, isi, isq},
    MPQ_DTYPES(MPQ_X)
#undef MPQ_X
};

template <typename T>
T saturate_round(double v) {
  if (std::isnan(v)) return 0;
  double r = std::nearbyint(v);  // default rounding mode: half to even
  if (r < static_cast<double>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
  // max + 1 is a power of two, exact in a double (max itself is not for 64 bits).
  if (r >= static_cast<double>(std::numeric_limits<T>::max()) + 1.0)
    return std::numeric_limits<T>::max();
  return static_cast<T>(r);
}
}  // namespace

const DTypeInfo& dtype_info(DType t) {
  return kTable[static_cast<int>(t)];
}

bool parse_dtype(std::string_view s, DType* out) {
  struct Alias {
    const char* name;
    DType t;
  };
  static const Alias kAliases[] = {
      {"float32", DType::f32},   {"fp32", DType::f32},  {"float", DType::f32},
      {"float16", DType::f16},   {"fp16", DType::f16},  {"half", DType::f16},
      {"bfloat16", DType::bf16}, {"int8", DType::i8},   {"uint8", DType::u8},
      {"int32", DType::i32},     {"int64", DType::i64}, {"bool", DType::boolean},
  };
  for (const auto& info : kTable)
    if (s == info.name) return *out = info.dtype, true;
  for (const auto& a : kAliases)
    if (s == a.name) return *out = a.t, true;
  return false;
}

bool dtype_from_onnx(int code, DType* out) {
  for (const auto& info : kTable)
    if (info.onnx_code == code) return *out = info.dtype, true;
  return false;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t mant = x & 0x007fffffu;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xffu);
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
  int32_t e = exp - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (e <= 0) {                                                 // subnormal or zero
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x00800000u;
    uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;  // may carry into exponent: ok
  return static_cast<uint16_t>(half);
}

float half_to_float(uint16_t h) {
  uint32_t sign = (static_cast<uint32_t>(h) & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t out;
  if (exp == 0) {
    if (mant == 0) {
      out = sign;
    } else {  // subnormal: normalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400u));
      out = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    out = sign | 0x7f800000u | (mant << 13);
  } else {
    out = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &out, 4);
  return f;
}

double load_as_double(const void* data, DType t, size_t i) {
  switch (t) {
    case DType::f32:
      return static_cast<const float*>(data)[i];
    case DType::f16:
      return half_to_float(static_cast<const uint16_t*>(data)[i]);
    case DType::bf16:
      return bf16_to_float(static_cast<const uint16_t*>(data)[i]);
    case DType::i8:
      return static_cast<const int8_t*>(data)[i];
    case DType::u8:
      return static_cast<const uint8_t*>(data)[i];
    case DType::i32:
      return static_cast<const int32_t*>(data)[i];
    case DType::i64:
      return static_cast<double>(static_cast<const int64_t*>(data)[i]);
    case DType::boolean:
      return static_cast<const uint8_t*>(data)[i] ? 1.0 : 0.0;
  }
  return 0;
}

void store_from_double(void* data, DType t, size_t i, double v) {
  switch (t) {
    case DType::f32:
      static_cast<float*>(data)[i] = static_cast<float>(v);
      break;
    case DType::f16:
      static_cast<uint16_t*>(data)[i] = float_to_half(static_cast<float>(v));
      break;
    case DType::bf16:
      static_cast<uint16_t*>(data)[i] = float_to_bf16(static_cast<float>(v));
      break;
    case DType::i8:
      static_cast<int8_t*>(data)[i] = saturate_round<int8_t>(v);
      break;
    case DType::u8:
      static_cast<uint8_t*>(data)[i] = saturate_round<uint8_t>(v);
      break;
    case DType::i32:
      static_cast<int32_t*>(data)[i] = saturate_round<int32_t>(v);
      break;
    case DType::i64:
      static_cast<int64_t*>(data)[i] = saturate_round<int64_t>(v);
      break;
    case DType::boolean:
      static_cast<uint8_t*>(data)[i] = v != 0.0;
      break;
  }
}

}  // namespace mpq
