// The fp32 GEMM behind the reference Conv, ConvTranspose, Gemm and MatMul (and their backward
// rules). Cache-blocked (packed panels, register-tiled micro-kernel) plain C++ that the compiler
// vectorizes; one copy is compiled per x86 ISA level (AVX-512, AVX2+FMA, baseline) and picked at
// run time. Single-threaded and deterministic on a given machine.
#pragma once

#include <cstdint>
#include <string>

namespace mpq::ops {

// C = alpha * op(A) * op(B) + beta * C with row-major storage.
//   op(A) is M x K: A is M x K with row stride lda (or, with trans_a, K x M with row stride lda).
//   op(B) is K x N: B is K x N with row stride ldb (or, with trans_b, N x K with row stride ldb).
//   C is M x N with row stride ldc. beta == 0 overwrites C without reading it (NaN-safe).
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Name of the GEMM variant chosen for this CPU ("avx512", "avx2", "generic").
const char* sgemm_isa();
// Selects a variant by name (tests run every variant the CPU supports); false if unavailable.
// Not thread-safe: call before any GEMM runs.
bool sgemm_set_isa(const std::string& name);

}  // namespace mpq::ops
