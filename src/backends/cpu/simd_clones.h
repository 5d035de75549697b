// mpq's own hot CPU loops are cloned for AVX-512 and AVX2 and the clone is chosen at load time by
// the CPU (GCC's target_clones, an ifunc): the library itself is built for baseline x86-64, where
// these loops would get 16-byte vectors. Put it before the function's return type.
#pragma once

#if defined(__clang__)
// clang (the sanitizer and fuzzing builds) cannot clone templates: baseline code there.
#define MPQ_SIMD_CLONES __attribute__((noinline))
#else
#define MPQ_SIMD_CLONES \
  __attribute__((noinline, target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
