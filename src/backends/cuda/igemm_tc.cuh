// Tensor-core implicit-GEMM convolution (NHWC), int8 (mma.sync m16n8k32, s8 or u8 activations x
// s8 weights, s32 accumulators) and fp16 (mma.sync m16n8k16, f32 accumulators), sm_80+.
//
// One CTA computes a BM x BN tile of (pixels x output channels) of one group. K is walked in
// tiles of 64 bytes (64 int8 or 32 fp16 elements) through a kStages-deep cp.async pipeline; A
// (the implicit im2col of x) and B (packed weights) sit in shared memory as 64-byte rows with a
// swizzle (smem_swizzle) that keeps ldmatrix conflict-free. Padded and out-of-range A elements are
// filled with the input zero point (the epilogue subtracts z_x * sum(w) in integers).
// kLoad (how A rows are gathered): kLoadVec16: each 16-byte chunk lies inside one filter tap
// (Cg * elem_size % 16 == 0) and is one cp.async; kLoadVec4: the same with 4-byte pieces
// (Cg * elem_size % 4 == 0: mnist's 20 and 500 channels); kLoadGather: element by element (first
// layers with 1 or 3 channels, depthwise).
#pragma once

#include <cuda_fp16.h>

#include "backends/cuda/epilogue.cuh"
#include "backends/cuda/pdl.cuh"
#include "backends/cuda/tc_store.cuh"

namespace mpq::cuda {

enum MmaKind : int { kMmaS8 = 0, kMmaU8 = 1, kMmaF16 = 2 };
enum LoadMode : int { kLoadGather = 0, kLoadVec16 = 1, kLoadVec4 = 2 };

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(src));
}
__device__ __forceinline__ void cp_async4(uint32_t dst, const void* src) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(dst), "l"(src));
}
__device__ __forceinline__ void st_shared4(uint32_t dst, uint32_t v) {
  asm volatile("st.shared.u32 [%0], %1;\n" ::"r"(dst), "r"(v));
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}
__device__ __forceinline__ void st_shared16(uint32_t dst, uint4 v) {
  asm volatile("st.shared.v4.u32 [%0], {%1, %2, %3, %4};\n" ::"r"(dst), "r"(v.x), "r"(v.y),
               "r"(v.z), "r"(v.w));
}
__device__ __forceinline__ void ldmatrix_x4(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2,
                                            uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr));
}

// One specialization per mma kind: they differ only in the PTX types, which the asm statement
// needs as a literal string.
template <int kKind>
struct MmaTraits;

template <>
struct MmaTraits<kMmaS8> {
  using Acc = int32_t;
  static constexpr int kElem = 1;
  __device__ __forceinline__ static void mma(Acc* d, const uint32_t* a, const uint32_t* b) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
};

template <>
struct MmaTraits<kMmaU8> {
  using Acc = int32_t;
  static constexpr int kElem = 1;
  __device__ __forceinline__ static void mma(Acc* d, const uint32_t* a, const uint32_t* b) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
};

template <>
struct MmaTraits<kMmaF16> {
  using Acc = float;
  static constexpr int kElem = 2;
  __device__ __forceinline__ static void mma(Acc* d, const uint32_t* a, const uint32_t* b) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
};

// Shared memory bytes of one configuration: the pipeline stages, or the float C tile of the
// epilogue if larger.
constexpr int tc_smem_bytes(int bm, int bn, int stages) {
  return (bm + bn) * 64 * stages > bm * (bn + 4) * 4 ? (bm + bn) * 64 * stages : bm * (bn + 4) * 4;
}

// long-function: split into device functions with the other conv kernels, the conv layers ran
// 8-16% slower on the H200 (bench/zoo at batch 32: resnet18 int8 0.69 -> 0.76 ms, vgg11_bn fp16
// 2.23 -> 2.60 ms; register allocation moved), so it stays one function.
template <int kBM, int kBN, int kWarpsM, int kWarpsN, int kStages, int kKind, int kLoad>
__global__ void __launch_bounds__(kWarpsM* kWarpsN * 32)
    igemm_tc_kernel(const __grid_constant__ ConvParams p) {
  grid_dep_wait();
  using T = MmaTraits<kKind>;
  using Acc = typename T::Acc;
  constexpr int kThreads = kWarpsM * kWarpsN * 32;
  constexpr int kWM = kBM / kWarpsM, kWN = kBN / kWarpsN;
  constexpr int kMI = kWM / 16, kNJ = kWN / 8;
  static_assert(kNJ % 2 == 0, "n-tiles are loaded in pairs");
  constexpr int kE = T::kElem;
  constexpr int kBKe = 64 / kE;     // k elements per tile
  constexpr int kChunkE = 16 / kE;  // elements per 16-byte chunk
  constexpr int kRowsPerPass = kThreads / 4;
  constexpr int kAIter = kBM / kRowsPerPass;
  constexpr int kBIter = kBN / kRowsPerPass;
  static_assert(kAIter >= 1 && kBIter >= 1, "tile too small for the thread count");
  constexpr int kStageBytes = (kBM + kBN) * 64;

  extern __shared__ __align__(128) uint8_t smem[];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm0 = (warp / kWarpsN) * kWM, wn0 = (warp % kWarpsN) * kWN;
  const int g = blockIdx.z / p.ksplit, split = blockIdx.z - g * p.ksplit;
  const int m0 = blockIdx.x * kBM, n0 = blockIdx.y * kBN;
  const uint8_t* x = static_cast<const uint8_t*>(p.x);
  const uint8_t* w = static_cast<const uint8_t*>(p.w);

  // This thread's A rows (output pixels): fixed for the whole K loop.
  const int chunk = tid & 3;
  int a_nbase[kAIter], a_ih0[kAIter], a_iw0[kAIter];
  bool a_ok[kAIter];
#pragma unroll
  for (int i = 0; i < kAIter; ++i) {
    const int m = m0 + (tid >> 2) + i * kRowsPerPass;
    a_ok[i] = m < p.M;
    const int mm = a_ok[i] ? m : 0;
    const int ow = mm % p.OW, t = mm / p.OW, oh = t % p.OH, n = t / p.OH;
    a_nbase[i] = n * p.H;
    a_ih0[i] = oh * p.SH - p.PH;
    a_iw0[i] = ow * p.SW - p.PW;
  }
  uint32_t fill = static_cast<uint32_t>(p.x_fill) & 0xff;
  fill = kE == 1 ? fill * 0x01010101u : 0u;
  const uint4 fill4 = make_uint4(fill, fill, fill, fill);
  const int gc0 = g * p.Cg;
  const uint8_t* wg = w + (static_cast<int64_t>(g) * p.OCpad + n0) * p.Kpad * kE;
  const int kt_begin = p.ksplit > 1 ? split * p.kt_per_split : 0;
  const int kt_total = p.Kpad / kBKe;
  const int ktiles = p.ksplit > 1 ? min(p.kt_per_split, kt_total - kt_begin) : kt_total;

  // Tap (kh, kw) and channel c of this thread's chunk, advanced tile by tile (load_tile is called
  // for kt = kt_begin, kt_begin + 1, ... in order) instead of divided out each time.
  int t_c = 0, t_kh = 0, t_kw = 0;
  if constexpr (kLoad == kLoadVec16) {
    const int k0 = kt_begin * kBKe + chunk * kChunkE, tap = k0 / p.Cg;
    t_c = k0 - tap * p.Cg, t_kh = tap / p.KW, t_kw = tap - t_kh * p.KW;
  }
  auto load_tile = [&](int kt, int stage) {
    uint8_t* As = smem + stage * kStageBytes;
    uint8_t* Bs = As + kBM * 64;
    const int k0 = kt * kBKe + chunk * kChunkE;
    if constexpr (kLoad == kLoadVec16) {
      const int c = t_c, kh = t_kh, kw = t_kw;
      const bool k_ok = k0 < p.K;
      for (t_c += kBKe; t_c >= p.Cg;) {
        t_c -= p.Cg;
        if (++t_kw == p.KW) t_kw = 0, ++t_kh;
      }
#pragma unroll
      for (int i = 0; i < kAIter; ++i) {
        const int row = (tid >> 2) + i * kRowsPerPass;
        const uint32_t dst = smem_addr(As + smem_swizzle(row, chunk));
        const int ih = a_ih0[i] + kh * p.DH, iw = a_iw0[i] + kw * p.DW;
        if (k_ok && a_ok[i] && ih >= 0 && ih < p.H && iw >= 0 && iw < p.W) {
          const int64_t off = (static_cast<int64_t>(a_nbase[i] + ih) * p.W + iw) * p.C + gc0 + c;
          cp_async16(dst, x + off * kE);
        } else {
          st_shared16(dst, fill4);
        }
      }
    } else if constexpr (kLoad == kLoadVec4) {
      // Four 4-byte pieces per chunk, each inside one tap: the tap of each piece is the same for
      // all of this thread's rows.
      constexpr int kPieceE = 4 / kE;
      int dk[4], pkh[4], pkw[4];
      bool pok[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int k = k0 + j * kPieceE;
        const int tap = k / p.Cg, c = k - tap * p.Cg;
        pkh[j] = tap / p.KW;
        pkw[j] = tap - pkh[j] * p.KW;
        dk[j] = c;
        pok[j] = k < p.K;
      }
#pragma unroll
      for (int i = 0; i < kAIter; ++i) {
        const int row = (tid >> 2) + i * kRowsPerPass;
        const uint32_t dst = smem_addr(As + smem_swizzle(row, chunk));
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int ih = a_ih0[i] + pkh[j] * p.DH, iw = a_iw0[i] + pkw[j] * p.DW;
          if (pok[j] && a_ok[i] && ih >= 0 && ih < p.H && iw >= 0 && iw < p.W) {
            const int64_t off =
                (static_cast<int64_t>(a_nbase[i] + ih) * p.W + iw) * p.C + gc0 + dk[j];
            cp_async4(dst + 4 * j, x + off * kE);
          } else {
            st_shared4(dst + 4 * j, fill);
          }
        }
      }
    } else {
      // Element gathers: the (kh, kw, c) of each element comes from the table once and serves all
      // of this thread's rows.
      uint32_t v[kAIter][4];
#pragma unroll
      for (int i = 0; i < kAIter; ++i)
#pragma unroll
        for (int q = 0; q < 4; ++q) v[i][q] = 0;
      const uint32_t fill_e = static_cast<uint32_t>(p.x_fill) & (kE == 1 ? 0xffu : 0u);
#pragma unroll
      for (int e = 0; e < kChunkE; ++e) {
        const int4 t = __ldg(reinterpret_cast<const int4*>(p.ktab) + k0 + e);
        const int bit = (e * kE * 8) & 31, word = (e * kE) >> 2;
#pragma unroll
        for (int i = 0; i < kAIter; ++i) {
          uint32_t val = fill_e;
          const int ih = a_ih0[i] + t.x, iw = a_iw0[i] + t.y;
          if (t.w && a_ok[i] && ih >= 0 && ih < p.H && iw >= 0 && iw < p.W) {
            const int64_t off =
                (static_cast<int64_t>(a_nbase[i] + ih) * p.W + iw) * p.C + gc0 + t.z;
            val = kE == 1 ? static_cast<uint32_t>(x[off])
                          : static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(x)[off]);
          }
          v[i][word] |= val << bit;
        }
      }
#pragma unroll
      for (int i = 0; i < kAIter; ++i) {
        const int row = (tid >> 2) + i * kRowsPerPass;
        st_shared16(smem_addr(As + smem_swizzle(row, chunk)),
                    make_uint4(v[i][0], v[i][1], v[i][2], v[i][3]));
      }
    }
#pragma unroll
    for (int i = 0; i < kBIter; ++i) {
      const int row = (tid >> 2) + i * kRowsPerPass;
      const uint8_t* src = wg + (static_cast<int64_t>(row) * p.Kpad + kt * kBKe) * kE + chunk * 16;
      cp_async16(smem_addr(Bs + smem_swizzle(row, chunk)), src);
    }
  };

  Acc acc[kMI][kNJ][4];
#pragma unroll
  for (int i = 0; i < kMI; ++i)
#pragma unroll
    for (int j = 0; j < kNJ; ++j)
#pragma unroll
      for (int q = 0; q < 4; ++q) acc[i][j][q] = 0;

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < ktiles) load_tile(kt_begin + s, s);
    cp_async_commit();
  }

  for (int kt = 0; kt < ktiles; ++kt) {
    cp_async_wait<kStages - 2>();
    __syncthreads();
    {
      const int nk = kt + kStages - 1;
      if (nk < ktiles) load_tile(kt_begin + nk, nk % kStages);
      cp_async_commit();
    }
    const uint8_t* As = smem + (kt % kStages) * kStageBytes;
    const uint8_t* Bs = As + kBM * 64;
#pragma unroll
    for (int ks = 0; ks < 2; ++ks) {
      uint32_t a[kMI][4], b[kNJ][2];
#pragma unroll
      for (int i = 0; i < kMI; ++i) {
        const int row = wm0 + i * 16 + ((lane >> 3) & 1) * 8 + (lane & 7);
        ldmatrix_x4(smem_addr(As + smem_swizzle(row, ks * 2 + (lane >> 4))), a[i][0], a[i][1],
                    a[i][2], a[i][3]);
      }
#pragma unroll
      for (int j = 0; j < kNJ / 2; ++j) {
        const int row = wn0 + j * 16 + (lane >> 4) * 8 + (lane & 7);
        ldmatrix_x4(smem_addr(Bs + smem_swizzle(row, ks * 2 + ((lane >> 3) & 1))), b[2 * j][0],
                    b[2 * j][1], b[2 * j + 1][0], b[2 * j + 1][1]);
      }
#pragma unroll
      for (int i = 0; i < kMI; ++i)
#pragma unroll
        for (int j = 0; j < kNJ; ++j) T::mma(acc[i][j], a[i], b[j]);
    }
  }
  cp_async_wait<0>();
  __syncthreads();

  // Epilogue: the accumulator tile goes through shared memory (as float; the pipeline buffers
  // are free now) so that each thread then finishes 4 consecutive channels of one pixel and the
  // stores are contiguous along the channels.
  constexpr int kCStride = kBN + 4;
  static_assert(kBM * kCStride * 4 <= tc_smem_bytes(kBM, kBN, kStages), "C tile exceeds smem");
  float* Cs = reinterpret_cast<float*>(smem);
#pragma unroll
  for (int i = 0; i < kMI; ++i)
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int j = 0; j < kNJ; ++j) {
        const int r = wm0 + i * 16 + (lane >> 2) + h * 8, c = wn0 + j * 8 + (lane & 3) * 2;
        // int8: the exact s32 sums (as bit patterns) until the zero point is removed.
        if constexpr (kE == 1)
          *reinterpret_cast<float2*>(&Cs[r * kCStride + c]) =
              make_float2(__int_as_float(acc[i][j][2 * h]), __int_as_float(acc[i][j][2 * h + 1]));
        else
          *reinterpret_cast<float2*>(&Cs[r * kCStride + c]) = make_float2(
              static_cast<float>(acc[i][j][2 * h]), static_cast<float>(acc[i][j][2 * h + 1]));
      }
  __syncthreads();
  tc_store_tile<kBM, kBN, kThreads, kE>(p, Cs, m0, n0, g, split, tid);
}

}  // namespace mpq::cuda
