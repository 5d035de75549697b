// Hopper int8 implicit-GEMM convolution (NHWC, s8/u8 activations x s8 weights, s32 sums) with
// TMA loads and warpgroup MMA (sm_90a).
//
// The mma.sync kernel (igemm_tc.cuh) spends most of its instructions gathering A rows and feeding
// ldmatrix; here one thread issues two TMA box loads per k-tile and each warpgroup one wgmma per
// k32 step. That needs the implicit A tile to be a box of the input: a k-tile of 64 bytes is 64
// channels of one filter tap (C % 64 == 0, one group), the BM output pixels of a tile are whole
// output rows of one image or whole images (BM % OW == 0, and OH*OW a multiple of BM or a divisor
// of it), and the stride is 1; then the A tile of tap (kh, kw) is the input box at
// (c0, kw*DW - PW, oh0 + kh*DH - PH, n0) of size (64, OW, BM/OW or OH, 1 or BM/(OH*OW)). The box's
// padding reads zeros, so the input zero point must be 0 (the epilogue's z_x * sum(w) assumes the
// padding holds z_x). wgmma_fits() in conv_dispatch.cu checks all of this.
//
// One warpgroup per 64 rows of the tile, kStages k-tiles in flight (one mbarrier each), the
// accumulators go through shared memory to the same epilogue as the mma.sync kernel
// (tc_store_tile), so both give the same bytes.
#pragma once

#include <cuda.h>

#include "backends/cuda/hopper.cuh"
#include "backends/cuda/tc_store.cuh"

namespace mpq::cuda {

// Dynamic shared memory of one configuration: the stages (or the C tile), 1 KB to align them.
constexpr int wgmma_smem_bytes(int bm, int bn, int stages) {
  return tc_smem_bytes(bm, bn, stages) + 1024;
}

template <int kBM, int kBN, int kStages, int kKind>
__global__ void __launch_bounds__(kBM * 2)
    igemm_wgmma_kernel(const __grid_constant__ ConvParams p, const __grid_constant__ CUtensorMap tx,
                       const __grid_constant__ CUtensorMap tw) {
#ifdef MPQ_SM90A
  using namespace sm90;
  grid_dep_wait();
  constexpr int kThreads = kBM * 2;  // one warpgroup (128 threads) per 64 rows
  constexpr int kStageA = kBM * 64, kStageBytes = (kBM + kBN) * 64;
  static_assert(kStageA % 1024 == 0 && kStageBytes % 1024 == 0, "stages keep 1 KB alignment");
  extern __shared__ uint8_t smem_raw[];
  __shared__ __align__(8) uint64_t full[kStages];
  // The swizzle that TMA writes and wgmma reads is a function of the address: align to 1 KB.
  const uint32_t raw = smem_addr(smem_raw), base = (raw + 1023u) & ~1023u;
  uint8_t* smem = smem_raw + (base - raw);
  const uint32_t bar0 = smem_addr(&full[0]);
  const int tid = threadIdx.x, wg = tid >> 7, warp = (tid >> 5) & 3, lane = tid & 31;
  const int split = blockIdx.z;  // one group
  const int m0 = blockIdx.x * kBM, n0 = blockIdx.y * kBN;
  const int hw = p.OH * p.OW, img = m0 / hw, oh0 = (m0 - img * hw) / p.OW;
  const int kt_begin = p.ksplit > 1 ? split * p.kt_per_split : 0;
  const int kt_total = p.Kpad / 64;
  const int ktiles = p.ksplit > 1 ? min(p.kt_per_split, kt_total - kt_begin) : kt_total;

  if (tid == 0) {
    for (int s = 0; s < kStages; ++s) mbar_init(bar0 + 8 * s, 1);
    mbar_fence_init();
  }
  __syncthreads();
  // Local k-tile i into stage i % kStages: the tap's input box and the weights' 64 x BN box.
  auto issue = [&](int i) {
    const int k0 = (kt_begin + i) * 64, tap = k0 / p.Cg, c0 = k0 - tap * p.Cg;
    const int kh = tap / p.KW, kw = tap - kh * p.KW;
    const uint32_t a = base + (i % kStages) * kStageBytes, bar = bar0 + 8 * (i % kStages);
    mbar_expect_tx(bar, kStageBytes);
    tma_load_4d(a, &tx, bar, c0, kw * p.DW - p.PW, oh0 + kh * p.DH - p.PH, img);
    tma_load_2d(a + kStageA, &tw, bar, k0, n0);
  };
  if (tid == 0)
    for (int i = 0; i < kStages && i < ktiles; ++i) issue(i);

  int32_t acc[kBN / 2];
#pragma unroll
  for (int j = 0; j < kBN / 2; ++j) acc[j] = 0;
  for (int i = 0; i < ktiles; ++i) {
    const int s = i % kStages;
    mbar_wait(bar0 + 8 * s, (i / kStages) & 1);
    const uint32_t a = base + s * kStageBytes + wg * 64 * 64, b = base + s * kStageBytes + kStageA;
    wgmma_fence();
#pragma unroll
    for (int ks = 0; ks < 2; ++ks)
      Wgmma<kBN, kKind>::mma(acc, desc_sw64(a + 32 * ks), desc_sw64(b + 32 * ks));
    wgmma_commit();
    // The MMAs of this k-tile stay in flight while those of the previous one are waited for:
    // its stage is then free in every warpgroup and gets the k-tile kStages ahead of it.
    wgmma_wait<1>();
    __syncthreads();
    if (tid == 0 && i > 0 && i - 1 + kStages < ktiles) issue(i - 1 + kStages);
  }
  wgmma_wait<0>();
  __syncthreads();

  // The accumulators (rows 16 * warp + lane / 4 (+ 8) of the warpgroup's 64, columns 8 j +
  // 2 (lane % 4) (+ 1)) as s32 bit patterns into the C tile; the stages are all consumed.
  constexpr int kCStride = kBN + 4;
  float* Cs = reinterpret_cast<float*>(smem);
#pragma unroll
  for (int j = 0; j < kBN / 8; ++j)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = wg * 64 + warp * 16 + (lane >> 2) + h * 8, c = j * 8 + (lane & 3) * 2;
      *reinterpret_cast<float2*>(&Cs[r * kCStride + c]) =
          make_float2(__int_as_float(acc[4 * j + 2 * h]), __int_as_float(acc[4 * j + 2 * h + 1]));
    }
  __syncthreads();
  tc_store_tile<kBM, kBN, kThreads, 1>(p, Cs, m0, n0, 0, split, tid);
#endif
}

}  // namespace mpq::cuda
