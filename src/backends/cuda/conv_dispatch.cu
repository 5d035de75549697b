// The table of compiled convolution kernels (tile shapes x arithmetic x gather mode) and their
// launch. The backend picks among the candidates per layer by timing them at prepare.
#include <algorithm>
#include <mutex>

#include "backends/cuda/conv_entries.cuh"

namespace mpq::cuda {

namespace {

const std::vector<Entry>& entries() {
  static const std::vector<Entry> v = [] {
    std::vector<Entry> r;
    add_entries_s8(r);
    add_entries_u8(r);
    add_entries_f16(r);
    add_entries_f32(r);
    add_entries_depthwise(r);
    add_entries_wgmma(r);
    return r;
  }();
  return v;
}

}  // namespace

const std::vector<ConvConfig>& conv_configs() {
  static const std::vector<ConvConfig> v = [] {
    std::vector<ConvConfig> r;
    for (const Entry& e : entries()) r.push_back(e.cfg);
    return r;
  }();
  return v;
}

int conv_load_mode(int kind, int64_t cg) {
  const int64_t bytes = cg * (kind == kConvF32 ? 4 : kind == kConvF16 ? 2 : 1);
  if (bytes % 16 == 0) return kLoadVec16;
  if (kind != kConvF32 && bytes % 4 == 0) return kLoadVec4;
  return kLoadGather;
}

bool wgmma_fits(const ConvParams& p, int bm) {
  if (p.groups != 1 || p.C % 64 != 0 || p.SH != 1 || p.SW != 1 || p.x_fill != 0) return false;
  const int64_t hw = static_cast<int64_t>(p.OH) * p.OW;
  if (p.OW > 256 || bm % p.OW != 0 || (hw % bm != 0 && bm % hw != 0)) return false;
  return hw >= bm ? bm / p.OW <= 256 : p.OH <= 256 && bm / hw <= 256;
}

std::vector<int> conv_candidates(int kind, int vec, int64_t k, int64_t groups, int64_t oc,
                                 const DepthwiseWindow* dw, const ConvParams* geom) {
  std::vector<int> r;
  const auto& e = entries();
  for (size_t i = 0; i < e.size(); ++i) {
    const ConvConfig& c = e[i].cfg;
    if (c.kind != kind) continue;
    if (c.wgmma) {
      if (geom && wgmma_available() && wgmma_fits(*geom, c.bm)) r.push_back(static_cast<int>(i));
      continue;
    }
    if (c.depthwise) {
      const bool window_fits =
          !c.dw_kw || (dw && dw->kw == c.dw_kw && dw->sw == c.dw_sw && dw->dw == 1);
      if (dw && window_fits) r.push_back(static_cast<int>(i));
      continue;
    }
    // A direct kernel only for the K range it was built for: the 64-wide one would waste most
    // of its dp4a work on a K the 28-wide one takes.
    const int kmin = c.direct_k > kDirectSmallK ? kDirectSmallK + 1 : 1;
    const bool direct_fits =
        k >= kmin && k <= c.direct_k && groups == 1 && oc > 0 && oc <= kDirectMaxOc;
    if (c.direct_k ? direct_fits : c.vec == vec) r.push_back(static_cast<int>(i));
  }
  return r;
}

int conv_k_multiple(int kind) {
  return kind == kConvF32 ? 8 : kind == kConvF16 ? 32 : 64;
}

cudaError_t conv_prepare(int cfg) {
  const Entry& e = entries().at(cfg);
  return e.attr(e.cfg.smem);  // the opt-in for any size (a no-op below the 48 KB default)
}

// Sums the split-K partials of 4 channels of one pixel per thread and applies the epilogue.
__global__ void splitk_reduce_kernel(const __grid_constant__ ConvParams p) {
  grid_dep_wait();
  // 32-bit index math (the host checks M * OC < 2^31; a 64-bit division costs ~70 instructions)
  // and one 16-byte load per split for 4 channels when OC % 4 == 0 (v10: the scalar loads left
  // these kernels at ~1/3 of the L2 bandwidth).
  const int per_row = (p.OC + 3) / 4;
  const int total = p.M * per_row;
  const int64_t plane = static_cast<int64_t>(p.M) * p.OC;
  const bool vec = (p.OC & 3) == 0;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const int m = i / per_row, oc = (i - m * per_row) * 4;
    const int count = min(4, p.OC - oc);
    const int64_t off = static_cast<int64_t>(m) * p.OC + oc;
    float v[4] = {0.f, 0.f, 0.f, 0.f};
    if (p.ep.int_acc) {  // s32 partials: exact sums, then the zero point in integers
      const int32_t* part = reinterpret_cast<const int32_t*>(p.partial) + off;
      int32_t iv[4] = {0, 0, 0, 0};
      for (int s = 0; s < p.ksplit; ++s) {
        if (vec) {
          const int4 q = *reinterpret_cast<const int4*>(part + s * plane);
          iv[0] += q.x, iv[1] += q.y, iv[2] += q.z, iv[3] += q.w;
        } else {
#pragma unroll
          for (int j = 0; j < 4; ++j)
            if (j < count) iv[j] += part[s * plane + j];
        }
      }
#pragma unroll
      for (int j = 0; j < 4; ++j)
        v[j] = j < count ? static_cast<float>(iv[j] - __ldg(p.ep.zcomp + oc + j)) : 0.f;
    } else {  // float partials, added in split order
      const float* part = p.partial + off;
      for (int s = 0; s < p.ksplit; ++s) {
        if (vec) {
          const float4 q = *reinterpret_cast<const float4*>(part + s * plane);
          v[0] += q.x, v[1] += q.y, v[2] += q.z, v[3] += q.w;
        } else {
#pragma unroll
          for (int j = 0; j < 4; ++j)
            if (j < count) v[j] += part[s * plane + j];
        }
      }
    }
    store_run(p.ep, p.y, off, oc, v, count);
  }
}

cudaError_t conv_launch(int cfg, const ConvParams& p, cudaStream_t stream) {
  const Entry& e = entries().at(cfg);
  if (e.cfg.depthwise) return e.launch(p, dim3(), 0, stream);  // sizes its own grid; never split
  if (e.cfg.direct_k)  // bm pixels per CTA, all channels; never split
    return e.launch(p, dim3(static_cast<unsigned>(ceil_div(p.M, e.cfg.bm))),
                    direct_smem_bytes(p, e.cfg.direct_k / 4, e.cfg.bm), stream);
  const dim3 grid(static_cast<unsigned>(ceil_div(p.M, e.cfg.bm)),
                  static_cast<unsigned>(ceil_div(p.OCg, e.cfg.bn)),
                  static_cast<unsigned>(p.groups * p.ksplit));
  if (const cudaError_t err = e.launch(p, grid, e.cfg.smem, stream); err != cudaSuccess) return err;
  if (p.ksplit > 1) {
    const int64_t items = static_cast<int64_t>(p.M) * ((p.OC + 3) / 4);
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(ceil_div(items, 256), 1 << 20));
    (void)launch_pdl(splitk_reduce_kernel, dim3(blocks), dim3(256), 0, stream, p);
  }
  return cudaGetLastError();
}

}  // namespace mpq::cuda
