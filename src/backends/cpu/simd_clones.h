// mpq's own hot CPU loops are cloned for AVX-512 and AVX2 and the clone is chosen at load time by
// the CPU (GCC's target_clones, an ifunc): the library itself is built for baseline x86-64, where
// these loops would get 16-byte vectors. Put it before the function's return type.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>

#if defined(__clang__)
// clang (the sanitizer and fuzzing builds) cannot clone templates: baseline code there.
#define MPQ_SIMD_CLONES __attribute__((noinline))
#else
#define MPQ_SIMD_CLONES \
  __attribute__((noinline, target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif

namespace mpq::cpu {

// For a cloned loop over NHWC pixels of C channels: the fewest pixels whose elements make a
// multiple of 64 (whole AVX-512 steps of bytes, no scalar tail), repeated to at least 512 elements
// so that the call per row does not count. Rows of one pixel (C = 144: two vector steps and a
// 16-element scalar tail) spent more time in the tail than in the vector loop.
inline int64_t simd_row_pixels(int64_t C) {
  const int64_t t = 64 / std::gcd<int64_t>(C, 64);
  return t * std::max<int64_t>(1, (512 + t * C - 1) / (t * C));
}

}  // namespace mpq::cpu
