#include "backends/cpu/requant_rows.h"

#include "backends/cpu/int8_store.h"
#include "backends/cpu/simd_clones.h"

namespace mpq::cpu {

namespace {

// No `omp simd` in these loops: with it GCC 12 keeps every target clone 4 floats wide. The
// clones are internal and the exported functions forward to them: cloned exported templates lose
// the fp-contract setting in GCC 12 (CpuRequantRows fails that way).
template <typename Tin, typename Tout>
__attribute__((optimize("fp-contract=off"))) MPQ_SIMD_CLONES void channels_row(
    const Tin* __restrict x, Tout* __restrict y, const float* __restrict A,
    const float* __restrict B, int64_t C) {
  for (int64_t c = 0; c < C; ++c)
    y[c] = store_requant<Tout>(A[c] * static_cast<float>(x[c]) + B[c]);
}

template <typename Tin, typename Tout>
__attribute__((optimize("fp-contract=off"))) MPQ_SIMD_CLONES void uniform_row(
    const Tin* __restrict x, Tout* __restrict y, int64_t n, float m, float c) {
  for (int64_t i = 0; i < n; ++i) y[i] = store_requant<Tout>(static_cast<float>(x[i]) * m + c);
}

}  // namespace

template <typename Tin, typename Tout>
void requant_channels(const Tin* x, Tout* y, const float* A, const float* B, int64_t C) {
  channels_row(x, y, A, B, C);
}

template <typename Tin, typename Tout>
void requant_uniform(const Tin* x, Tout* y, int64_t n, float m, float c) {
  uniform_row(x, y, n, m, c);
}

#define MPQ_REQUANT_ROWS(Tin, Tout)                                                        \
  template void requant_channels<Tin, Tout>(const Tin*, Tout*, const float*, const float*, \
                                            int64_t);                                      \
  template void requant_uniform<Tin, Tout>(const Tin*, Tout*, int64_t, float, float);
MPQ_REQUANT_ROWS(uint8_t, uint8_t)
MPQ_REQUANT_ROWS(uint8_t, int8_t)
MPQ_REQUANT_ROWS(int8_t, uint8_t)
MPQ_REQUANT_ROWS(int8_t, int8_t)
#undef MPQ_REQUANT_ROWS

}  // namespace mpq::cpu
