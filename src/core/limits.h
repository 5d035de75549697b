// Caps on what a hostile input may make mpq allocate, and overflow-checked size arithmetic. Each
// cap has a default that real models stay far below and an environment variable that raises it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace mpq {

// Elements of one tensor (MPQ_MAX_TENSOR_ELEMENTS, default 2^32: 16 GiB of fp32).
int64_t max_tensor_elements();
// Bytes of one input file, or of a gzip file once inflated (MPQ_MAX_INPUT_BYTES, default 8 GiB).
size_t max_input_bytes();

// Threads an engine may ask OpenMP for: OpenMP starts as many as asked and ends the process when
// it cannot, so a larger count (from an engine file or an option) is refused first.
constexpr int64_t kMaxThreads = 1024;

// Dims a computed shape may have (a Reshape or Expand target's length): far above any model's
// rank, and it bounds what a target of run-time length can make mpq allocate.
constexpr int64_t kMaxRank = 64;

// a * b, false when it overflows int64 (both must be >= 0).
bool checked_mul(int64_t a, int64_t b, int64_t* out);
// a + b, false when it overflows int64 (both must be >= 0).
bool checked_add(int64_t a, int64_t b, int64_t* out);

// Product of a static shape's dims; throws kInvalidInput (naming `what`) when a dim is negative
// or the product overflows or exceeds max_tensor_elements(). Unknown dims (-1) are allowed when
// `allow_unknown` (they count as 1).
int64_t checked_numel(const Shape& s, const std::string& what, bool allow_unknown = false);

}  // namespace mpq
