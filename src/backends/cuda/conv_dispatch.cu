// The table of compiled convolution kernels (tile shapes x arithmetic x gather mode) and their
// launch. The backend picks among the candidates per layer by timing them at prepare.
#include <algorithm>
#include <mutex>

#include "backends/cuda/igemm_f32.cuh"
#include "backends/cuda/igemm_tc.cuh"
#include "backends/cuda/launch.h"

namespace mpq::cuda {

namespace {

using LaunchFn = void (*)(const ConvParams&, dim3, int, cudaStream_t);
using AttrFn = cudaError_t (*)(int);

struct Entry {
  ConvConfig cfg;
  LaunchFn launch;
  AttrFn attr;
};

template <int BM, int BN, int WMs, int WNs, int S, int Kind, int Vec>
void launch_tc(const ConvParams& p, dim3 grid, int smem, cudaStream_t s) {
  igemm_tc_kernel<BM, BN, WMs, WNs, S, Kind, Vec><<<grid, WMs * WNs * 32, smem, s>>>(p);
}
template <int BM, int BN, int WMs, int WNs, int S, int Kind, int Vec>
cudaError_t attr_tc(int smem) {
  return cudaFuncSetAttribute(igemm_tc_kernel<BM, BN, WMs, WNs, S, Kind, Vec>,
                              cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
}
template <int BM, int BN, int Vec>
void launch_f32(const ConvParams& p, dim3 grid, int, cudaStream_t s) {
  igemm_f32_kernel<BM, BN, Vec><<<grid, BM * 2, 0, s>>>(p);
}
cudaError_t attr_none(int) { return cudaSuccess; }

const char* kind_name(int k) {
  return k == kConvS8 ? "s8" : k == kConvU8 ? "u8" : k == kConvF16 ? "f16" : "f32";
}

template <int BM, int BN, int WMs, int WNs, int S, int Kind, int Vec>
Entry tc_entry() {
  Entry e;
  e.cfg.kind = Kind;
  e.cfg.vec = Vec;
  e.cfg.bm = BM;
  e.cfg.bn = BN;
  e.cfg.threads = WMs * WNs * 32;
  e.cfg.smem = tc_smem_bytes(BM, BN, S);
  e.cfg.name = std::string("tc_") + kind_name(Kind) + "_" + std::to_string(BM) + "x" +
               std::to_string(BN) + "x" + std::to_string(64 / (Kind == kMmaF16 ? 2 : 1)) + "_w" +
               std::to_string(WMs) + "x" + std::to_string(WNs) + "_s" + std::to_string(S) +
               (Vec == kLoadVec16 ? "" : Vec == kLoadVec4 ? "_vec4" : "_gather");
  e.launch = launch_tc<BM, BN, WMs, WNs, S, Kind, Vec>;
  e.attr = attr_tc<BM, BN, WMs, WNs, S, Kind, Vec>;
  return e;
}

template <int Kind>
void add_tc(std::vector<Entry>& v) {
  v.push_back(tc_entry<128, 128, 2, 2, 4, Kind, kLoadVec16>());
  v.push_back(tc_entry<128, 64, 2, 2, 4, Kind, kLoadVec16>());
  v.push_back(tc_entry<64, 64, 2, 2, 4, Kind, kLoadVec16>());
  v.push_back(tc_entry<64, 32, 2, 1, 4, Kind, kLoadVec16>());
  v.push_back(tc_entry<64, 64, 2, 2, 4, Kind, kLoadVec4>());
  v.push_back(tc_entry<64, 32, 2, 1, 4, Kind, kLoadVec4>());
  v.push_back(tc_entry<128, 64, 2, 2, 3, Kind, kLoadGather>());
  v.push_back(tc_entry<64, 32, 2, 1, 3, Kind, kLoadGather>());
}

template <int BM, int BN, int Vec>
Entry f32_entry() {
  Entry e;
  e.cfg.kind = kConvF32;
  e.cfg.vec = Vec;
  e.cfg.bm = BM;
  e.cfg.bn = BN;
  e.cfg.threads = BM * 2;
  e.cfg.smem = 0;
  e.cfg.name = std::string("simt_f32_") + std::to_string(BM) + "x" + std::to_string(BN) + "x8" +
               (Vec ? "" : "_gather");
  e.launch = launch_f32<BM, BN, Vec>;
  e.attr = attr_none;
  return e;
}

const std::vector<Entry>& entries() {
  static const std::vector<Entry> v = [] {
    std::vector<Entry> r;
    add_tc<kMmaS8>(r);
    add_tc<kMmaU8>(r);
    add_tc<kMmaF16>(r);
    r.push_back(f32_entry<128, 128, kLoadVec16>());
    r.push_back(f32_entry<128, 64, kLoadVec16>());
    r.push_back(f32_entry<64, 64, kLoadVec16>());
    r.push_back(f32_entry<32, 64, kLoadVec16>());
    r.push_back(f32_entry<32, 128, kLoadVec16>());
    r.push_back(f32_entry<128, 64, kLoadGather>());
    r.push_back(f32_entry<64, 64, kLoadGather>());
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

std::vector<int> conv_candidates(int kind, int vec) {
  std::vector<int> r;
  const auto& e = entries();
  for (size_t i = 0; i < e.size(); ++i)
    if (e[i].cfg.kind == kind && e[i].cfg.vec == vec) r.push_back(static_cast<int>(i));
  return r;
}

int conv_k_multiple(int kind) { return kind == kConvF32 ? 8 : kind == kConvF16 ? 32 : 64; }

cudaError_t conv_prepare(int cfg) {
  const Entry& e = entries().at(cfg);
  return e.cfg.smem > 48 * 1024 ? e.attr(e.cfg.smem) : cudaSuccess;
}

// Sums the split-K partials of 4 channels of one pixel per thread and applies the epilogue.
__global__ void splitk_reduce_kernel(const __grid_constant__ ConvParams p) {
  const int per_row = (p.OC + 3) / 4;
  const int64_t total = static_cast<int64_t>(p.M) * per_row;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int m = static_cast<int>(i / per_row), oc = static_cast<int>(i - static_cast<int64_t>(m) * per_row) * 4;
    const int count = min(4, p.OC - oc);
    const int64_t off = static_cast<int64_t>(m) * p.OC + oc, plane = static_cast<int64_t>(p.M) * p.OC;
    float v[4] = {0.f, 0.f, 0.f, 0.f};
    for (int s = 0; s < p.ksplit; ++s)
      for (int j = 0; j < count; ++j) v[j] += p.partial[s * plane + off + j];
    store_run(p.ep, p.y, off, oc, v, count);
  }
}

cudaError_t conv_launch(int cfg, const ConvParams& p, cudaStream_t stream) {
  const Entry& e = entries().at(cfg);
  const dim3 grid(static_cast<unsigned>(ceil_div(p.M, e.cfg.bm)),
                  static_cast<unsigned>(ceil_div(p.OCg, e.cfg.bn)),
                  static_cast<unsigned>(p.groups * p.ksplit));
  e.launch(p, grid, e.cfg.smem, stream);
  if (p.ksplit > 1) {
    const int64_t items = static_cast<int64_t>(p.M) * ((p.OC + 3) / 4);
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(ceil_div(items, 256), 1 << 20));
    splitk_reduce_kernel<<<blocks, 256, 0, stream>>>(p);
  }
  return cudaGetLastError();
}

}  // namespace mpq::cuda
