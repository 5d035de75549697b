// Requantizing rows of int8 bytes into another scale: y = store_requant(A * x + B), with A and B
// per element of a channels-innermost row (BatchNormalization) or one pair for the whole row
// (Concat inputs of another scale). Vectorized 16 wide on AVX-512 (cloned for AVX-512, AVX2 and
// baseline), about 7x faster than a 256-entry table lookup per byte, and byte-identical to it:
// products and sums are rounded separately (no FMA contraction), as the tables were computed.
#pragma once

#include <cstdint>

namespace mpq::cpu {

// y[c] = store_requant(A[c] * x[c] + B[c]) for c < C. Tin, Tout: uint8_t or int8_t.
template <typename Tin, typename Tout>
void requant_channels(const Tin* x, Tout* y, const float* A, const float* B, int64_t C);

// y[i] = store_requant(x[i] * m + c) for i < n. Tin, Tout: uint8_t or int8_t.
template <typename Tin, typename Tout>
void requant_uniform(const Tin* x, Tout* y, int64_t n, float m, float c);

}  // namespace mpq::cpu
