// Precision: the arithmetic a layer executes in (what the manifest reports per layer), as opposed
// to DType, the storage type of one tensor. int8 layers read u8/s8 tensors and accumulate in s32.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mpq {

enum class Precision : uint8_t { kFp32, kBf16, kFp16, kInt8 };

inline const char* precision_name(Precision p) {
  switch (p) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp16:
      return "fp16";
    case Precision::kInt8:
      return "int8";
  }
  return "?";
}

// "fp32"/"float32"/"32", "bf16", "fp16"/"16" (16-bit float), "int8"/"8".
inline std::optional<Precision> parse_precision(std::string_view s) {
  if (s == "fp32" || s == "f32" || s == "float32" || s == "32") return Precision::kFp32;
  if (s == "bf16" || s == "bfloat16") return Precision::kBf16;
  if (s == "fp16" || s == "f16" || s == "float16" || s == "16") return Precision::kFp16;
  if (s == "int8" || s == "i8" || s == "8") return Precision::kInt8;
  return std::nullopt;
}

// NNI bit widths: 8 -> int8, 16 -> 16-bit float, 32 -> fp32; nullopt for anything else.
inline std::optional<Precision> precision_from_bits(int bits) {
  if (bits == 8) return Precision::kInt8;
  if (bits == 16) return Precision::kFp16;
  if (bits == 32) return Precision::kFp32;
  return std::nullopt;
}

inline int precision_bits(Precision p) {
  return p == Precision::kInt8 ? 8 : p == Precision::kFp32 ? 32 : 16;
}

}  // namespace mpq
