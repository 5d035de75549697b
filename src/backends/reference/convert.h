// Element-wise conversion between two realizations of the same logical tensor: dtype (f32, bf16,
// f16, u8/s8 with QuantParams), and layout (plain, NHWC). Quantization follows ONNX
// QuantizeLinear exactly: q = saturate(round_half_to_even(x / scale) + zero_point); dequantization
// is (q - zero_point) * scale. This is the reference for every optimized reorder.
#pragma once

#include "backends/backend.h"

namespace mpq {

void convert_tensor(const TensorSpec& from, const void* src, const TensorSpec& to, void* dst,
                    int64_t batch);

// Offset (in elements) of logical index (n, c, h, w) of a rank-4 tensor [N, C, H, W] in `layout`.
inline int64_t offset4(Layout layout, const Shape& s, int64_t n, int64_t c, int64_t h, int64_t w) {
  return layout == Layout::kNHWC ? ((n * s[2] + h) * s[3] + w) * s[1] + c
                                 : ((n * s[1] + c) * s[2] + h) * s[3] + w;
}

}  // namespace mpq
