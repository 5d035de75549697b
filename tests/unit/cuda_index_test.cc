// CPU emulation of the CUDA conv kernels' index math (runs without a GPU): the implicit-GEMM
// gather of the vectorized path against a direct im2col, the shared-memory swizzle (no bank
// conflicts for ldmatrix), and the ldmatrix/mma fragment mapping of igemm_tc.cuh against the PTX
// fragment layouts of mma.m16n8k32 (int8) and mma.m16n8k16 (fp16).
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "backends/cuda/conv_params.h"

namespace mpq::cuda {
namespace {

ConvParams make_params(int n, int h, int w, int c, int oc, int k, int s, int pad, int dil, int groups) {
  ConvParams p;
  p.N = n, p.H = h, p.W = w, p.C = c, p.OC = oc;
  p.KH = p.KW = k, p.SH = p.SW = s, p.PH = p.PW = pad, p.DH = p.DW = dil;
  p.OH = (h + 2 * pad - dil * (k - 1) - 1) / s + 1;
  p.OW = (w + 2 * pad - dil * (k - 1) - 1) / s + 1;
  p.groups = groups, p.Cg = c / groups, p.OCg = oc / groups;
  p.K = k * k * p.Cg;
  p.M = n * p.OH * p.OW;
  return p;
}

// The vectorized gather as igemm_tc.cuh computes it: per-row (n*H, ih0, iw0) once, per 16-byte
// chunk the tap from k0, then one contiguous run of elements.
int64_t kernel_offset(const ConvParams& p, int g, int m, int k0, int elem_in_chunk) {
  const int ow = m % p.OW, t = m / p.OW, oh = t % p.OH, n = t / p.OH;
  const int nbase = n * p.H, ih0 = oh * p.SH - p.PH, iw0 = ow * p.SW - p.PW;
  const int tap = k0 / p.Cg, c = k0 - tap * p.Cg, kh = tap / p.KW, kw = tap - kh * p.KW;
  const int ih = ih0 + kh * p.DH, iw = iw0 + kw * p.DW;
  if (m >= p.M || k0 >= p.K || ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) return -1;
  return (static_cast<int64_t>(nbase + ih) * p.W + iw) * p.C + g * p.Cg + c + elem_in_chunk;
}

TEST(CudaIndex, VectorGatherMatchesIm2col) {
  struct Case { int n, h, w, c, oc, k, s, pad, dil, groups, esize; };
  const Case cases[] = {{2, 8, 8, 64, 32, 3, 1, 1, 1, 1, 1}, {3, 9, 7, 32, 16, 3, 2, 1, 1, 1, 1},
                        {2, 6, 6, 16, 16, 1, 1, 0, 1, 1, 1}, {1, 10, 10, 32, 64, 3, 1, 2, 2, 2, 1},
                        {2, 8, 8, 8, 16, 3, 1, 1, 1, 1, 2},  {2, 7, 5, 64, 64, 5, 2, 2, 1, 4, 1}};
  for (const Case& cs : cases) {
    ConvParams p = make_params(cs.n, cs.h, cs.w, cs.c, cs.oc, cs.k, cs.s, cs.pad, cs.dil, cs.groups);
    const int chunk_e = 16 / cs.esize;
    ASSERT_EQ((p.Cg * cs.esize) % 16, 0);
    for (int g = 0; g < p.groups; ++g)
      for (int m = 0; m < p.M + 3; ++m)
        for (int k0 = 0; k0 < p.K + 2 * chunk_e; k0 += chunk_e)
          for (int e = 0; e < chunk_e; ++e) {
            const int64_t want = a_offset(p, g, m, k0 + e);
            const int64_t got = kernel_offset(p, g, m, k0, e);
            ASSERT_EQ(got, want) << "m " << m << " k " << k0 + e << " g " << g;
          }
  }
}

TEST(CudaIndex, Im2colOffsetIsDirectIndex) {
  // a_offset against the textbook definition on one case with everything non-trivial.
  ConvParams p = make_params(2, 7, 6, 6, 4, 3, 2, 1, 2, 2);
  for (int g = 0; g < 2; ++g)
    for (int n = 0; n < 2; ++n)
      for (int oh = 0; oh < p.OH; ++oh)
        for (int ow = 0; ow < p.OW; ++ow)
          for (int kh = 0; kh < 3; ++kh)
            for (int kw = 0; kw < 3; ++kw)
              for (int c = 0; c < p.Cg; ++c) {
                const int ih = oh * 2 - 1 + kh * 2, iw = ow * 2 - 1 + kw * 2;
                const bool in = ih >= 0 && ih < p.H && iw >= 0 && iw < p.W;
                const int64_t want = in ? ((n * p.H + ih) * p.W + iw) * p.C + g * p.Cg + c : -1;
                const int64_t m = (n * p.OH + oh) * p.OW + ow, k = (kh * 3 + kw) * p.Cg + c;
                ASSERT_EQ(a_offset(p, g, m, k), want);
              }
}

TEST(CudaIndex, SwizzleIsConflictFreeForLdmatrix) {
  // ldmatrix reads 8 rows x 16 bytes of one logical chunk: the 8 physical 16-byte slots must fall
  // in distinct bank groups (byte offset mod 128), for every starting row multiple of 8.
  for (int row0 = 0; row0 < 128; row0 += 8)
    for (int chunk = 0; chunk < 4; ++chunk) {
      std::set<int> groups;
      for (int r = 0; r < 8; ++r) groups.insert((smem_swizzle(row0 + r, chunk) % 128) / 16);
      EXPECT_EQ(groups.size(), 8u) << "row0 " << row0 << " chunk " << chunk;
    }
  // And the swizzle is a bijection on each row.
  for (int r = 0; r < 64; ++r) {
    std::set<int> slots;
    for (int c = 0; c < 4; ++c) slots.insert(smem_swizzle(r, c));
    EXPECT_EQ(slots.size(), 4u);
  }
}

// Emulates ldmatrix.x4: lane l gives the row address of matrix l/8; thread t receives, from each
// matrix j, the 4 bytes at (row t/4, bytes 4*(t%4)..) into register j.
void ldmatrix_x4(const uint8_t* smem, const int addr[32], uint32_t regs[32][4]) {
  for (int t = 0; t < 32; ++t)
    for (int j = 0; j < 4; ++j) {
      const uint8_t* row = smem + addr[8 * j + t / 4];
      uint32_t v = 0;
      for (int b = 0; b < 4; ++b) v |= static_cast<uint32_t>(row[4 * (t % 4) + b]) << (8 * b);
      regs[t][j] = v;
    }
}

// Checks the kernel's lane -> address formulas for A (16 rows) and B (16 n-rows) against the PTX
// fragment layouts, for elements of `esize` bytes (1: m16n8k32 int8, 2: m16n8k16 fp16).
void check_fragments(int esize) {
  std::mt19937 rng(7);
  uint8_t smem[64 * 64];
  for (auto& b : smem) b = static_cast<uint8_t>(rng());
  // Logical byte (row, kbyte) of a tile stored with the swizzle.
  auto at = [&](int row, int kbyte) { return smem[smem_swizzle(row, kbyte / 16) + kbyte % 16]; };
  const int kstep = 32 / esize;  // k elements per mma
  for (int ks = 0; ks < 2; ++ks) {
    const int wrow0 = 16, wn0 = 32;  // a warp tile not at the origin
    int a_addr[32], b_addr[32];
    for (int lane = 0; lane < 32; ++lane) {
      const int arow = wrow0 + ((lane >> 3) & 1) * 8 + (lane & 7);
      a_addr[lane] = smem_swizzle(arow, ks * 2 + (lane >> 4));
      const int brow = wn0 + (lane >> 4) * 8 + (lane & 7);
      b_addr[lane] = smem_swizzle(brow, ks * 2 + ((lane >> 3) & 1));
    }
    uint32_t a[32][4], b[32][4];
    ldmatrix_x4(smem, a_addr, a);
    ldmatrix_x4(smem, b_addr, b);
    // PTX layouts. A (row-major 16 x kstep): thread t, group g = t/4, tq = t%4; element i of the
    // per-register vector (4 bytes = 4/esize elements).
    const int per_reg = 4 / esize;
    for (int t = 0; t < 32; ++t) {
      const int g = t / 4, tq = t % 4;
      for (int r = 0; r < 4; ++r)
        for (int i = 0; i < per_reg; ++i) {
          const int row = g + ((r & 1) ? 8 : 0);
          const int k = tq * per_reg + i + ((r & 2) ? kstep / 2 : 0);
          for (int byte = 0; byte < esize; ++byte) {
            const uint8_t got = (a[t][r] >> (8 * (i * esize + byte))) & 0xff;
            ASSERT_EQ(got, at(wrow0 + row, ks * 32 + k * esize + byte)) << "A t" << t << " r" << r;
          }
        }
      // B (k x 8, "col"): reg 0 holds k = tq*per_reg + i, reg 1 the same + kstep/2, column n = g.
      // The x4 load covers n-tile 0 (regs 0, 1) and n-tile 1 (regs 2, 3).
      for (int nt = 0; nt < 2; ++nt)
        for (int r = 0; r < 2; ++r)
          for (int i = 0; i < per_reg; ++i) {
            const int k = tq * per_reg + i + (r ? kstep / 2 : 0);
            for (int byte = 0; byte < esize; ++byte) {
              const uint8_t got = (b[t][2 * nt + r] >> (8 * (i * esize + byte))) & 0xff;
              ASSERT_EQ(got, at(wn0 + nt * 8 + g, ks * 32 + k * esize + byte))
                  << "B t" << t << " nt" << nt << " r" << r;
            }
          }
    }
  }
}

TEST(CudaIndex, LdmatrixFragmentsMatchMmaLayoutInt8) { check_fragments(1); }
TEST(CudaIndex, LdmatrixFragmentsMatchMmaLayoutFp16) { check_fragments(2); }

}  // namespace
}  // namespace mpq::cuda
