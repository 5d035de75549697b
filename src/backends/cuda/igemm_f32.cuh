// IEEE fp32 implicit-GEMM convolution (NHWC) on the CUDA cores (FFMA; no TF32).
//
// CTA tile kBM x kBN (pixels x channels), k-tile 8, 2*kBM threads each computing 8 x (kBN/16)
// outputs from registers. Tiles are double-buffered in shared memory, transposed (k-major) so the
// inner loop reads A and B as broadcast float4s; the next tile is fetched into registers while the
// current one is multiplied. kVec: 4 consecutive k elements lie in one tap (Cg % 4 == 0).
#pragma once

#include "backends/cuda/epilogue.cuh"
#include "backends/cuda/pdl.cuh"

namespace mpq::cuda {

// kBM rows x kBN channels per CTA, kBM * 2 threads (each loads one float4 of A per k-tile), each
// computing 8 rows x kBN/16 channels. Smaller kBM gives deep small-M layers more CTAs.
// long-function: split into device functions with the other conv kernels, the conv layers ran
// 8-16% slower on the H200 (bench/zoo at batch 32: resnet18 int8 0.69 -> 0.76 ms, vgg11_bn fp16
// 2.23 -> 2.60 ms; register allocation moved), so it stays one function.
template <int kBM, int kBN, int kLoad>
__global__ void __launch_bounds__(kBM * 2) igemm_f32_kernel(const __grid_constant__ ConvParams p) {
  grid_dep_wait();
  constexpr int kThreads = kBM * 2, kBK = 8, kTN = kBN / 16;
  static_assert(kThreads / 16 * 8 == kBM, "8 rows per thread");
  __shared__ __align__(16) float As[2][kBK][kBM];
  __shared__ __align__(16) float Bs[2][kBK][kBN];
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
  const int g = blockIdx.z / p.ksplit, split = blockIdx.z - g * p.ksplit;
  const int m0 = blockIdx.x * kBM, n0 = blockIdx.y * kBN;
  const float* x = static_cast<const float*>(p.x);
  const float* w =
      static_cast<const float*>(p.w) + (static_cast<int64_t>(g) * p.OCpad + n0) * p.Kpad;

  // A: one row (pixel) and 4 k elements per thread per tile.
  const int a_row = tid >> 1, a_kq = (tid & 1) * 4;
  const int am = m0 + a_row;
  const bool a_ok = am < p.M;
  int a_nbase, a_ih0, a_iw0;
  {
    const int mm = a_ok ? am : 0;
    const int ow = mm % p.OW, t = mm / p.OW, oh = t % p.OH, n = t / p.OH;
    a_nbase = n * p.H, a_ih0 = oh * p.SH - p.PH, a_iw0 = ow * p.SW - p.PW;
  }
  const int gc0 = g * p.Cg;
  // B: kBN rows x 8 k = kBN*2 float4s.
  constexpr int kBLoads = (kBN * 2 + kThreads - 1) / kThreads;

  float4 ra, rb[kBLoads];
  auto fetch = [&](int kt) {
    const int k0 = kt * kBK + a_kq;
    if constexpr (kLoad == 1) {
      const int tap = k0 / p.Cg, c = k0 - tap * p.Cg;
      const int kh = tap / p.KW, kw = tap - kh * p.KW;
      const int ih = a_ih0 + kh * p.DH, iw = a_iw0 + kw * p.DW;
      if (a_ok && k0 < p.K && ih >= 0 && ih < p.H && iw >= 0 && iw < p.W)
        ra = *reinterpret_cast<const float4*>(
            x + (static_cast<int64_t>(a_nbase + ih) * p.W + iw) * p.C + gc0 + c);
      else
        ra = make_float4(0.f, 0.f, 0.f, 0.f);
    } else {
      float v[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int k = k0 + e;
        v[e] = 0.f;
        if (a_ok && k < p.K) {
          const int tap = k / p.Cg, c = k - tap * p.Cg;
          const int kh = tap / p.KW, kw = tap - kh * p.KW;
          const int ih = a_ih0 + kh * p.DH, iw = a_iw0 + kw * p.DW;
          if (ih >= 0 && ih < p.H && iw >= 0 && iw < p.W)
            v[e] = x[(static_cast<int64_t>(a_nbase + ih) * p.W + iw) * p.C + gc0 + c];
        }
      }
      ra = make_float4(v[0], v[1], v[2], v[3]);
    }
#pragma unroll
    for (int i = 0; i < kBLoads; ++i) {
      const int idx = tid + i * kThreads;
      if (idx < kBN * 2) {
        const int row = idx >> 1, kq = (idx & 1) * 4;
        rb[i] = *reinterpret_cast<const float4*>(w + static_cast<int64_t>(row) * p.Kpad + kt * kBK +
                                                 kq);
      }
    }
  };
  auto stash = [&](int buf) {
    As[buf][a_kq + 0][a_row] = ra.x;
    As[buf][a_kq + 1][a_row] = ra.y;
    As[buf][a_kq + 2][a_row] = ra.z;
    As[buf][a_kq + 3][a_row] = ra.w;
#pragma unroll
    for (int i = 0; i < kBLoads; ++i) {
      const int idx = tid + i * kThreads;
      if (idx < kBN * 2) {
        const int row = idx >> 1, kq = (idx & 1) * 4;
        Bs[buf][kq + 0][row] = rb[i].x;
        Bs[buf][kq + 1][row] = rb[i].y;
        Bs[buf][kq + 2][row] = rb[i].z;
        Bs[buf][kq + 3][row] = rb[i].w;
      }
    }
  };

  float acc[8][kTN];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < kTN; ++j) acc[i][j] = 0.f;

  const int kt_begin = p.ksplit > 1 ? split * p.kt_per_split : 0;
  const int kt_total = p.Kpad / kBK;
  const int ktiles = p.ksplit > 1 ? min(p.kt_per_split, kt_total - kt_begin) : kt_total;
  fetch(kt_begin);
  stash(0);
  __syncthreads();
  for (int kt = 0; kt < ktiles; ++kt) {
    const int buf = kt & 1;
    if (kt + 1 < ktiles) fetch(kt_begin + kt + 1);
#pragma unroll
    for (int k = 0; k < kBK; ++k) {
      float a[8], b[kTN];
      const float4 a0 = *reinterpret_cast<const float4*>(&As[buf][k][ty * 8]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[buf][k][ty * 8 + 4]);
      a[0] = a0.x, a[1] = a0.y, a[2] = a0.z, a[3] = a0.w;
      a[4] = a1.x, a[5] = a1.y, a[6] = a1.z, a[7] = a1.w;
#pragma unroll
      for (int j = 0; j < kTN; j += 4) {
        const float4 bv = *reinterpret_cast<const float4*>(&Bs[buf][k][tx * kTN + j]);
        b[j] = bv.x, b[j + 1] = bv.y, b[j + 2] = bv.z, b[j + 3] = bv.w;
      }
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < kTN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if (kt + 1 < ktiles) {
      stash(buf ^ 1);
      __syncthreads();
    }
  }

  // Epilogue: each thread owns 8 pixels x kTN consecutive channels.
  const int n = n0 + tx * kTN;
  if (p.ksplit > 1) {  // raw sums for splitk_reduce
    float* part = p.partial + static_cast<int64_t>(split) * p.M * p.OC;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const int m = m0 + ty * 8 + i;
      if (m >= p.M) break;
#pragma unroll
      for (int j = 0; j < kTN; ++j)
        if (n + j < p.OCg) part[static_cast<int64_t>(m) * p.OC + g * p.OCg + n + j] = acc[i][j];
    }
    return;
  }
  if (n < p.OCg) {
    const int oc = g * p.OCg + n;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const int m = m0 + ty * 8 + i;
      if (m >= p.M) break;
#pragma unroll
      for (int j = 0; j < kTN; j += 4)
        if (n + j < p.OCg) {
          const float vv[4] = {acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]};
          store_run(p.ep, p.y, static_cast<int64_t>(m) * p.OC + oc + j, oc + j, vv,
                    min(4, p.OCg - n - j));
        }
    }
  }
}

}  // namespace mpq::cuda
