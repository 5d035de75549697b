// Cache-blocked fp32 GEMM (the BLIS loop structure): C is computed in NC-wide column blocks; for
// each KC-deep slice, op(B) is packed into NR-wide panels (kept in L2/L1) and op(A) into MR-tall
// panels (L2); an MR x NR micro-kernel keeps its accumulators in registers. The code is plain C++:
// the micro-kernel's fixed-size loops are what the compiler unrolls and vectorizes. The driver is
// instantiated once per ISA level with register tiles sized for that level's vector registers.
#include "ir/ops/gemm_kernel.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace mpq::ops {

namespace {

constexpr int64_t kKC = 256;     // depth of one packed slice (A panel MR x KC stays in L1)
constexpr int64_t kMC = 192;     // rows of A packed at once (MC x KC block stays in L2)
constexpr int64_t kNC = 2048;    // columns of B packed at once (KC x NC block in L2)
constexpr int64_t kFewRows = 4;  // up to this many rows of C: no packing (see gemm_few_rows)

// Packs rows [i0, i0+mc) x depth [p0, p0+kc) of op(A) into MR-row panels: panel r holds, for each
// k, MR consecutive values (rows past M are zero).
template <int MR>
[[gnu::always_inline]] inline void pack_a(bool trans, const float* A, int64_t lda, int64_t i0,
                                          int64_t mc, int64_t p0, int64_t kc, float* dst) {
  for (int64_t ib = 0; ib < mc; ib += MR, dst += MR * kc) {
    const int m = static_cast<int>(std::min<int64_t>(MR, mc - ib));
    if (trans) {  // op(A)(i, k) = A[k * lda + i]: rows of the panel are contiguous in A
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = A + (p0 + k) * lda + i0 + ib;
        float* d = dst + k * MR;
        for (int i = 0; i < m; ++i) d[i] = src[i];
        for (int i = m; i < MR; ++i) d[i] = 0.f;
      }
    } else {  // op(A)(i, k) = A[i * lda + k]
      for (int i = 0; i < m; ++i) {
        const float* src = A + (i0 + ib + i) * lda + p0;
        for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = src[k];
      }
      for (int i = m; i < MR; ++i)
        for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = 0.f;
    }
  }
}

// Packs depth [p0, p0+kc) x columns [j0, j0+nc) of op(B) into NR-column panels: panel c holds, for
// each k, NR consecutive values (columns past N are zero).
template <int NR>
[[gnu::always_inline]] inline void pack_b(bool trans, const float* B, int64_t ldb, int64_t p0,
                                          int64_t kc, int64_t j0, int64_t nc, float* dst) {
  for (int64_t jb = 0; jb < nc; jb += NR, dst += NR * kc) {
    const int n = static_cast<int>(std::min<int64_t>(NR, nc - jb));
    if (!trans) {  // op(B)(k, j) = B[k * ldb + j]
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = B + (p0 + k) * ldb + j0 + jb;
        float* d = dst + k * NR;
        if (n == NR) {
          for (int j = 0; j < NR; ++j) d[j] = src[j];
        } else {
          for (int j = 0; j < n; ++j) d[j] = src[j];
          for (int j = n; j < NR; ++j) d[j] = 0.f;
        }
      }
    } else {  // op(B)(k, j) = B[j * ldb + k]
      for (int j = 0; j < n; ++j) {
        const float* src = B + (j0 + jb + j) * ldb + p0;
        for (int64_t k = 0; k < kc; ++k) dst[k * NR + j] = src[k];
      }
      for (int j = n; j < NR; ++j)
        for (int64_t k = 0; k < kc; ++k) dst[k * NR + j] = 0.f;
    }
  }
}

// acc = sum_k a[k*MR + i] * b[k*NR + j]; then C(i, j) = alpha * acc + beta * C(i, j) for the
// m x n valid part. beta == 0 does not read C.
template <int MR, int NR>
[[gnu::always_inline]] inline void micro_kernel(int64_t kc, const float* __restrict a,
                                                const float* __restrict b, float* c, int64_t ldc,
                                                int m, int n, float alpha, float beta) {
  float acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = 0.f;
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
    }
  }
  if (beta == 0.f) {
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) c[i * ldc + j] = alpha * acc[i][j];
  } else {
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) c[i * ldc + j] = alpha * acc[i][j] + beta * c[i * ldc + j];
  }
}

struct Buffers {
  std::unique_ptr<float[]> a, b;
  size_t a_size = 0, b_size = 0;
  float* get_a(size_t n) {
    if (n > a_size) a.reset(new float[n + 16]), a_size = n;
    return aligned(a.get());
  }
  float* get_b(size_t n) {
    if (n > b_size) b.reset(new float[n + 16]), b_size = n;
    return aligned(b.get());
  }
  static float* aligned(float* p) {
    auto u = reinterpret_cast<uintptr_t>(p);
    return reinterpret_cast<float*>((u + 63) & ~uintptr_t{63});
  }
};

template <int MR, int NR>
[[gnu::always_inline]] inline void gemm_driver(bool trans_a, bool trans_b, int64_t M, int64_t N,
                                               int64_t K, float alpha, const float* A, int64_t lda,
                                               const float* B, int64_t ldb, float beta, float* C,
                                               int64_t ldc) {
  thread_local Buffers buf;
  // Panels are padded to whole MR / NR tiles.
  const int64_t nc_max = (std::min(kNC, N) + NR - 1) / NR * NR;
  const int64_t kc_max = std::min(kKC, K);
  const int64_t mc_max = (std::min(kMC, M) + MR - 1) / MR * MR;
  float* pb = buf.get_b(static_cast<size_t>(nc_max * kc_max));
  float* pa = buf.get_a(static_cast<size_t>(mc_max * kc_max));
  for (int64_t j0 = 0; j0 < N; j0 += kNC) {
    const int64_t nc = std::min(kNC, N - j0);
    for (int64_t p0 = 0; p0 < K; p0 += kKC) {
      const int64_t kc = std::min(kKC, K - p0);
      const float bet = p0 == 0 ? beta : 1.f;  // later depth slices accumulate
      pack_b<NR>(trans_b, B, ldb, p0, kc, j0, nc, pb);
      for (int64_t i0 = 0; i0 < M; i0 += kMC) {
        const int64_t mc = std::min(kMC, M - i0);
        pack_a<MR>(trans_a, A, lda, i0, mc, p0, kc, pa);
        for (int64_t jb = 0; jb < nc; jb += NR) {
          const int n = static_cast<int>(std::min<int64_t>(NR, nc - jb));
          const float* bp = pb + jb * kc;
          for (int64_t ib = 0; ib < mc; ib += MR) {
            const int m = static_cast<int>(std::min<int64_t>(MR, mc - ib));
            micro_kernel<MR, NR>(kc, pa + ib * kc, bp, C + (i0 + ib) * ldc + j0 + jb, ldc, m, n,
                                 alpha, bet);
          }
        }
      }
    }
  }
}

// Few rows (GEMV-like, e.g. a batch-1 fully connected layer): packing B would cost as much as the
// products, so stream B directly. Row i of C: with plain B an axpy per k (vectorized over j); with
// transposed B a dot product per j, kept in kLanes independent partial sums so that it vectorizes
// without reassociating float additions.
template <int kLanes>
[[gnu::always_inline]] inline void gemm_few_rows(bool trans_a, bool trans_b, int64_t M, int64_t N,
                                                 int64_t K, float alpha, const float* A,
                                                 int64_t lda, const float* B, int64_t ldb,
                                                 float beta, float* C, int64_t ldc) {
  thread_local std::vector<float> arow, acc;
  arow.resize(K);
  acc.resize(N);
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t k = 0; k < K; ++k) arow[k] = trans_a ? A[k * lda + i] : A[i * lda + k];
    const float* a = arow.data();
    float* __restrict s = acc.data();
    if (!trans_b) {
      for (int64_t j = 0; j < N; ++j) s[j] = 0.f;
      for (int64_t k = 0; k < K; ++k) {
        const float ak = a[k];
        const float* __restrict b = B + k * ldb;
        for (int64_t j = 0; j < N; ++j) s[j] += ak * b[j];
      }
    } else {
      for (int64_t j = 0; j < N; ++j) {
        const float* __restrict b = B + j * ldb;
        float part[kLanes] = {};
        int64_t k = 0;
        for (; k + kLanes <= K; k += kLanes)
          for (int l = 0; l < kLanes; ++l) part[l] += a[k + l] * b[k + l];
        float tail = 0.f;
        for (; k < K; ++k) tail += a[k] * b[k];
        for (int w = kLanes / 2; w > 0; w /= 2)  // fixed pairwise tree: deterministic
          for (int l = 0; l < w; ++l) part[l] += part[l + w];
        s[j] = part[0] + tail;
      }
    }
    float* c = C + i * ldc;
    if (beta == 0.f)
      for (int64_t j = 0; j < N; ++j) c[j] = alpha * s[j];
    else
      for (int64_t j = 0; j < N; ++j) c[j] = alpha * s[j] + beta * c[j];
  }
}

template <int MR, int NR>
[[gnu::always_inline]] inline void gemm_any(bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                                            float alpha, const float* A, int64_t lda,
                                            const float* B, int64_t ldb, float beta, float* C,
                                            int64_t ldc) {
  if (M <= kFewRows) {
    gemm_few_rows<16>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  } else if (N <= kFewRows) {  // C^T = op(B)^T op(A)^T has few rows
    thread_local std::vector<float> d;
    d.resize(N * M);
    gemm_few_rows<16>(!tb, !ta, N, M, K, 1.f, B, ldb, A, lda, 0.f, d.data(), M);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j)
        C[i * ldc + j] = alpha * d[j * M + i] + (beta == 0.f ? 0.f : beta * C[i * ldc + j]);
  } else {
    gemm_driver<MR, NR>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
}

using GemmFn = void (*)(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                        const float*, int64_t, float, float*, int64_t);

#if defined(__x86_64__) && defined(__GNUC__)
// 32 zmm registers: 12 x 32 tile = 24 accumulators + 2 B vectors + broadcasts.
[[gnu::target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"), gnu::flatten]] void gemm_avx512(
    bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
    const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_any<12, 32>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
// 16 ymm registers: a 6 x 8 tile (wider tiles measured 10x slower: GCC 12 spills them).
[[gnu::target("avx2,fma"), gnu::flatten]] void gemm_avx2(bool ta, bool tb, int64_t M, int64_t N,
                                                         int64_t K, float alpha, const float* A,
                                                         int64_t lda, const float* B, int64_t ldb,
                                                         float beta, float* C, int64_t ldc) {
  gemm_any<6, 8>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif
[[gnu::flatten]] void gemm_generic(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                                   const float* A, int64_t lda, const float* B, int64_t ldb,
                                   float beta, float* C, int64_t ldc) {
  gemm_any<4, 8>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

struct Variant {
  const char* name;
  GemmFn fn;
  bool (*supported)();
};
const Variant kVariants[] = {
#if defined(__x86_64__) && defined(__GNUC__)
    {"avx512", gemm_avx512,
     [] {
       __builtin_cpu_init();
       return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
              __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
     }},
    {"avx2", gemm_avx2,
     [] {
       __builtin_cpu_init();
       return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
     }},
#endif
    {"generic", gemm_generic, [] { return true; }},
};
// The best variant this CPU supports (the list is ordered best first).
const Variant*& dispatch_ptr() {
  static const Variant* v = [] {
    for (const Variant& c : kVariants)
      if (c.supported()) return &c;
    return &kVariants[std::size(kVariants) - 1];
  }();
  return v;
}
const Variant& dispatch() {
  return *dispatch_ptr();
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.f) {  // no products: C = beta * C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
    return;
  }
  dispatch().fn(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

const char* sgemm_isa() {
  return dispatch().name;
}

bool sgemm_set_isa(const std::string& name) {
  for (const Variant& c : kVariants)
    if (name == c.name && c.supported()) return dispatch_ptr() = &c, true;
  return false;
}

}  // namespace mpq::ops
