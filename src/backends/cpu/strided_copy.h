// Element-index helpers of mpq's own data-movement kernels (Pad, Slice, Gather): strides of a
// realized tensor in logical dim order, and a parallel strided box copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "backends/backend.h"

namespace mpq::cpu {

// Element strides of each logical dim of `t` at `shape` (row-major, or NHWC for rank-4 kNHWC).
std::vector<int64_t> elem_strides(const TensorSpec& t, const Shape& shape);

// dst[sum_k i_k * ds_k] = src[sum_k i_k * ss_k] for every index i of the box `dims`; elements
// are `es` bytes; strides may be negative (a slice with negative steps).
void strided_copy(const void* src, const std::vector<int64_t>& ss, void* dst,
                  const std::vector<int64_t>& ds, const Shape& dims, size_t es);

// Fills `n` elements of `es` bytes with the element at `value`.
void fill_elements(void* dst, int64_t n, const void* value, size_t es);

// The values of a constant integer input, or empty when the input is absent.
std::vector<int64_t> const_ints(const TensorSpec* t);

}  // namespace mpq::cpu
