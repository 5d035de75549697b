// The one dtype table: every per-dtype fact (size, name, ONNX code, kind) lives here, so no other
// file needs a switch over dtypes.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace mpq {

// X-macro: (enum name, C type used for storage, byte size, short name, ONNX TensorProto code,
//           is_float, is_integer, is_quantized-capable)
#define MPQ_DTYPES(X)                                  \
  X(f32, float, 4, "f32", 1, true, false, false)       \
  X(f16, uint16_t, 2, "f16", 10, true, false, false)   \
  X(bf16, uint16_t, 2, "bf16", 16, true, false, false) \
  X(i8, int8_t, 1, "i8", 3, false, true, true)         \
  X(u8, uint8_t, 1, "u8", 2, false, true, true)        \
  X(i32, int32_t, 4, "i32", 6, false, true, false)     \
  X(i64, int64_t, 8, "i64", 7, false, true, false)     \
  X(boolean, uint8_t, 1, "bool", 9, false, false, false)

enum class DType : uint8_t {
#define MPQ_X(e, ...) e,
  MPQ_DTYPES(MPQ_X)
#undef MPQ_X
};

struct DTypeInfo {
  DType dtype;
  size_t size;
  const char* name;
  int onnx_code;
  bool is_float;
  bool is_integer;
  bool is_quantized;  // can carry QuantParams (int8/uint8)
};

const DTypeInfo& dtype_info(DType t);
inline size_t dtype_size(DType t) {
  return dtype_info(t).size;
}
inline const char* dtype_name(DType t) {
  return dtype_info(t).name;
}
// Parses "f32", "float32", "fp32", "int8", ... ; returns false when unknown.
bool parse_dtype(std::string_view s, DType* out);
// ONNX TensorProto data type code -> DType; false when mpq has no such dtype.
bool dtype_from_onnx(int code, DType* out);

// Maps a C++ type to its DType (for typed accessors).
template <typename T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct DTypeOf<int8_t> {
  static constexpr DType value = DType::i8;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::u8;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::i32;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::i64;
};

// 16-bit float conversions (round to nearest even).
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);
inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
inline float bf16_to_float(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Reads element i of a buffer of dtype t as float / writes a float into it (with the dtype's
// rounding and saturation for integers: half-to-even, clamp to the type's range).
double load_as_double(const void* data, DType t, size_t i);
void store_from_double(void* data, DType t, size_t i, double v);

}  // namespace mpq
