// Direct int8 convolution for layers with a tiny K = KH*KW*Cg (first layers: 1 or 3 input
// channels, K = 25 or 27), where the tensor-core implicit GEMM spends its time on element gathers
// into a mostly idle 64-wide k-tile (bench/cuda_notes.md, v11).
//
// One thread owns kPix output pixels (m, m + kThreads, ...: a warp's pixels are adjacent). It
// gathers each pixel's input window once into kWords packed 32-bit words (k = (kh, kw, c) as in the
// packed weights, padding and k >= K filled with the input zero point; the weights there are 0),
// then walks the output channels 4 at a time with dp4a against the weights in shared memory
// (every lane reads the same word: a broadcast). The s32 sums are exact, so the epilogue
// (store4_int, or direct_quant4: the same operations, after removing z_x * sum(w) in integers)
// gives the tensor-core kernels' bytes. 8-bit outputs without a residual go through shared
// memory and leave in coalesced stores. groups == 1, no split-K.
#pragma once

#include "backends/cuda/epilogue.cuh"
#include "backends/cuda/pdl.cuh"

namespace mpq::cuda {

constexpr int kDirectThreads = 128;

// Words per pixel row of the staged output tile: OC / 4, made odd so that the lanes' rows (one
// pixel each) fall in distinct banks.
MPQ_HD inline int direct_stage_stride(int oc) {
  return oc / 4 + ((oc / 4) % 2 == 0 ? 1 : 0);
}

// int8 outputs without a residual are staged: a CTA's pixels are one contiguous run of output
// bytes (NHWC), written with coalesced stores instead of 4-byte stores strided by OC (v11: those
// cost one L2 sector write per 4 bytes).
MPQ_HD inline bool direct_staged(const ConvParams& p, int pix) {
  return (p.ep.out_dt == kDtU8 || p.ep.out_dt == kDtS8) && !p.ep.res && p.OC % 4 == 0 &&
         (reinterpret_cast<uintptr_t>(p.y) & 3) == 0 && pix * direct_stage_stride(p.OC) <= 4096;
}

// Dynamic shared memory of the direct kernel for windows of `words` words: weights [oc4][row]
// words (row = words rounded up to 4), the k table [row * 4] int4, alpha/beta/zcomp [oc4] each,
// then the staged output tile if any.
MPQ_HD inline int direct_smem_bytes(const ConvParams& p, int words, int pix) {
  const int oc4 = (p.OC + 3) / 4 * 4, kwords = (words + 3) / 4 * 4;
  return oc4 * (kwords * 4 + 12) + kwords * 4 * 16 +
         (direct_staged(p, pix) ? pix * direct_stage_stride(p.OC) * 4 : 0);
}

// d = c + sum of the 4 byte products; u8 activations x s8 weights or s8 x s8.
template <bool kU8>
__device__ __forceinline__ int32_t dp4a_x_w(uint32_t x, uint32_t w, int32_t c) {
  int32_t d;
  if constexpr (kU8)
    asm("dp4a.u32.s32 %0, %1, %2, %3;\n" : "=r"(d) : "r"(x), "r"(w), "r"(c));
  else
    asm("dp4a.s32.s32 %0, %1, %2, %3;\n" : "=r"(d) : "r"(x), "r"(w), "r"(c));
  return d;
}

// store4_int's fast chain (e.fast, no residual) for 8-bit outputs, with both conversions done by
// exact float adds instead of the quarter-rate I2F/F2I (v11): |acc - zcomp| < 2^22 (K <= 64
// products of at most 255 * 128), so 1.5 * 2^23 + d built in the bit pattern minus 1.5 * 2^23 is
// float(d); the clamped result lies in [-128, 255], where adding 1.5 * 2^23 rounds to the nearest
// even integer exactly as __float2int_rn does and the low byte of the sum's bits is that integer.
__device__ __forceinline__ uint32_t direct_quant4(const Epilogue& e, const int32_t* d,
                                                  const float* a, const float* b) {
  constexpr float kMagic = 12582912.f;  // 1.5 * 2^23, bits 0x4b400000
  const float lo = e.out_dt == kDtS8 ? -128.f : 0.f, hi = e.out_dt == kDtS8 ? 127.f : 255.f;
  const float zy = static_cast<float>(e.out_zp);
  uint32_t u = 0;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float v = __fsub_rn(__int_as_float(0x4b400000 + d[i]), kMagic);
    float t = fminf(fmaxf(__fmul_rn(__fadd_rn(v, b[i]), a[i]), e.lo1), e.hi1);
    t = fminf(fmaxf(t, e.lo2), e.hi2);
    t = fminf(fmaxf(__fadd_rn(t, zy), lo), hi);
    u |= (__float_as_uint(__fadd_rn(t, kMagic)) & 0xffu) << (8 * i);
  }
  return u;
}

// long-function: split into device functions with the other conv kernels, the conv layers ran
// 8-16% slower on the H200 (bench/zoo at batch 32: resnet18 int8 0.69 -> 0.76 ms, vgg11_bn fp16
// 2.23 -> 2.60 ms; register allocation moved), so it stays one function.
template <int kWords, int kPix, bool kU8>
__global__ void __launch_bounds__(kDirectThreads)
    direct_int8_kernel(const __grid_constant__ ConvParams p) {
  // kWords words of window (K <= 4 * kWords: 7 for the zoo's K = 25 and 27), weight rows padded
  // to kRow words for uint4 reads.
  constexpr int kRow = (kWords + 3) / 4 * 4;
  constexpr int kK = kRow * 4;
  extern __shared__ __align__(16) uint8_t smem[];
  const int oc4 = (p.OC + 3) & ~3;
  uint4* ws = reinterpret_cast<uint4*>(smem);  // [oc4][kRow / 4]
  int4* tab = reinterpret_cast<int4*>(smem + oc4 * kRow * 4);
  float* sa = reinterpret_cast<float*>(tab + kK);
  float* sb = sa + oc4;
  int32_t* sz = reinterpret_cast<int32_t*>(sb + oc4);
  uint8_t* so = reinterpret_cast<uint8_t*>(sz + oc4);  // staged output (16-byte aligned)
  constexpr int kPixCta = kDirectThreads * kPix;
  const bool staged = direct_staged(p, kPixCta);
  const bool quick = staged && p.ep.fast && !p.ep.has_res;  // direct_quant4 applies
  const int stride = direct_stage_stride(p.OC);
  const int tid = threadIdx.x;

  // Weights, scales and the k table are constants written at prepare, never by a preceding
  // kernel: they are staged before the PDL wait, overlapping the predecessor's tail.
  const uint32_t* wg = static_cast<const uint32_t*>(p.w);
  uint32_t* wsw = reinterpret_cast<uint32_t*>(ws);
  for (int i = tid; i < oc4 * kRow; i += kDirectThreads) {
    const int o = i / kRow, wd = i - o * kRow;
    wsw[i] = __ldg(wg + o * (p.Kpad / 4) + wd);  // rows < OCpad; zeros past K
  }
  for (int k = tid; k < kK; k += kDirectThreads) {
    int4 t = make_int4(0, 0, 0, 0);  // t.w = 0: k >= K, take the fill
    if (k < p.K) {
      const int tap = k / p.Cg, c = k - tap * p.Cg, kh = tap / p.KW, kw = tap - kh * p.KW;
      t.x = kh * p.DH;
      t.y = kw * p.DW;
      t.z = (t.x * p.W + t.y) * p.C + c;
      t.w = 1;
    }
    tab[k] = t;
  }
  for (int o = tid; o < oc4; o += kDirectThreads) {
    const bool ok = o < p.OC;
    sa[o] = ok ? __ldg(p.ep.alpha + o) : 0.f;
    sb[o] = ok ? __ldg(p.ep.beta + o) : 0.f;
    sz[o] = ok ? __ldg(p.ep.zcomp + o) : 0;
  }
  grid_dep_wait();
  __syncthreads();

  const uint8_t* x = static_cast<const uint8_t*>(p.x);
  const uint32_t fill = static_cast<uint32_t>(p.x_fill) & 0xffu;
  const int m0 = blockIdx.x * kPixCta, m_base = m0 + tid;
  uint32_t xin[kPix][kWords];
#pragma unroll
  for (int j = 0; j < kPix; ++j) {
    const int m = m_base + j * kDirectThreads;
    const int mm = m < p.M ? m : 0;
    const int ow = mm % p.OW, t = mm / p.OW, oh = t % p.OH, n = t / p.OH;
    const int ih0 = oh * p.SH - p.PH, iw0 = ow * p.SW - p.PW;
    const int base = ((n * p.H + ih0) * p.W + iw0) * p.C;  // may lie before x; only offset
#pragma unroll
    for (int wd = 0; wd < kWords; ++wd) {
      uint32_t v = 0;
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int4 tk = tab[wd * 4 + e];
        const int ih = ih0 + tk.x, iw = iw0 + tk.y;
        uint32_t b = fill;
        if (tk.w && static_cast<unsigned>(ih) < static_cast<unsigned>(p.H) &&
            static_cast<unsigned>(iw) < static_cast<unsigned>(p.W))
          b = __ldg(x + base + tk.z);
        v |= b << (8 * e);
      }
      xin[j][wd] = v;
    }
  }

#pragma unroll 1
  for (int oc = 0; oc < p.OC; oc += 4) {
    int32_t acc[kPix][4];
#pragma unroll
    for (int j = 0; j < kPix; ++j)
#pragma unroll
      for (int q = 0; q < 4; ++q) acc[j][q] = 0;
#pragma unroll
    for (int q = 0; q < 4; ++q) {
#pragma unroll
      for (int v4 = 0; v4 < kRow / 4; ++v4) {
        const uint4 wv = ws[(oc + q) * (kRow / 4) + v4];
        const uint32_t wa[4] = {wv.x, wv.y, wv.z, wv.w};
#pragma unroll
        for (int j = 0; j < kPix; ++j)
#pragma unroll
          for (int c = 0; c < 4; ++c)
            if (4 * v4 + c < kWords)
              acc[j][q] = dp4a_x_w<kU8>(xin[j][4 * v4 + c], wa[c], acc[j][q]);
      }
    }
    const int count = min(4, p.OC - oc);
    const float4 a4 = *reinterpret_cast<const float4*>(sa + oc);
    const float4 b4 = *reinterpret_cast<const float4*>(sb + oc);
    const int4 z4 = *reinterpret_cast<const int4*>(sz + oc);
    const float a[4] = {a4.x, a4.y, a4.z, a4.w}, b[4] = {b4.x, b4.y, b4.z, b4.w};
    const int32_t zc[4] = {z4.x, z4.y, z4.z, z4.w};
#pragma unroll
    for (int j = 0; j < kPix; ++j) {
      const int m = m_base + j * kDirectThreads;
      if (m >= p.M) continue;
      if (quick) {
        const int32_t d[4] = {acc[j][0] - zc[0], acc[j][1] - zc[1], acc[j][2] - zc[2],
                              acc[j][3] - zc[3]};
        *reinterpret_cast<uint32_t*>(so + (m - m0) * stride * 4 + oc) =
            direct_quant4(p.ep, d, a, b);
        continue;
      }
      float v[4];
#pragma unroll
      for (int q = 0; q < 4; ++q) v[q] = static_cast<float>(acc[j][q] - zc[q]);
      // Staged: the residual is absent, so the offset only places the bytes in the tile.
      if (staged)
        store4_int(p.ep, so, (m - m0) * stride * 4 + oc, v, a, b, count);
      else
        store4_int(p.ep, p.y, static_cast<int64_t>(m) * p.OC + oc, v, a, b, count);
    }
  }
  if (!staged) return;
  __syncthreads();
  // Word w of the CTA's output run is word col of pixel row; (row, col) advance by a constant
  // step instead of a division per word.
  const int w4 = p.OC / 4, words = min(kPixCta, p.M - m0) * w4;
  const int step_r = kDirectThreads / w4, step_c = kDirectThreads - step_r * w4;
  int row = tid / w4, col = tid - row * w4;
  uint32_t* dst = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(p.y) + int64_t{m0} * p.OC);
  const uint32_t* src = reinterpret_cast<const uint32_t*>(so);
  for (int w = tid; w < words; w += kDirectThreads) {
    dst[w] = src[row * stride + col];
    row += step_r, col += step_c;
    if (col >= w4) col -= w4, ++row;
  }
}

}  // namespace mpq::cuda
