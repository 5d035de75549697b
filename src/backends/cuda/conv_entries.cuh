// The compiled convolution configurations: the Entry of one (tile shape, arithmetic, gather mode)
// and the templates that instantiate it. Each conv_entries_<kind>.cu instantiates one family, so
// that nvcc compiles them in parallel (conv_dispatch.cu holds the table).
#pragma once

#include <string>
#include <vector>

#include "backends/cuda/direct_int8.cuh"
#include "backends/cuda/igemm_f32.cuh"
#include "backends/cuda/igemm_tc.cuh"
#include "backends/cuda/launch.h"
#include "backends/cuda/pdl.cuh"

namespace mpq::cuda {

using LaunchFn = cudaError_t (*)(const ConvParams&, dim3, int, cudaStream_t);
using AttrFn = cudaError_t (*)(int);

struct Entry {
  ConvConfig cfg;
  LaunchFn launch;
  AttrFn attr;
};

template <int BM, int BN, int WMs, int WNs, int S, int Kind, int Vec>
cudaError_t launch_tc(const ConvParams& p, dim3 grid, int smem, cudaStream_t s) {
  return launch_pdl(igemm_tc_kernel<BM, BN, WMs, WNs, S, Kind, Vec>, dim3(grid),
                    dim3(WMs * WNs * 32), smem, s, p);
}
template <int BM, int BN, int WMs, int WNs, int S, int Kind, int Vec>
cudaError_t attr_tc(int smem) {
  return cudaFuncSetAttribute(igemm_tc_kernel<BM, BN, WMs, WNs, S, Kind, Vec>,
                              cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
}
template <int BM, int BN, int Vec>
cudaError_t launch_f32(const ConvParams& p, dim3 grid, int, cudaStream_t s) {
  return launch_pdl(igemm_f32_kernel<BM, BN, Vec>, dim3(grid), dim3(BM * 2), 0, s, p);
}
inline cudaError_t attr_none(int) {
  return cudaSuccess;
}

inline const char* kind_name(int k) {
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
               (Vec == kLoadVec16  ? ""
                : Vec == kLoadVec4 ? "_vec4"
                                   : "_gather");
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
  // Small batches (serving at batch 1): layers of 4-16 pixels fill a 16-row tile, not a 64-row.
  v.push_back(tc_entry<16, 64, 1, 2, 4, Kind, kLoadVec16>());
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

template <int kWords, int kPix, bool kU8>
cudaError_t launch_direct(const ConvParams& p, dim3 grid, int smem, cudaStream_t s) {
  return launch_pdl(direct_int8_kernel<kWords, kPix, kU8>, grid, dim3(kDirectThreads), smem, s, p);
}

// The direct int8 kernel for K <= 4 * kWords, kPix pixels per thread (direct_int8.cuh).
template <int kWords, int kPix, int Kind>
Entry direct_entry() {
  Entry e;
  e.cfg.kind = Kind;
  e.cfg.vec = -1;
  e.cfg.bm = kDirectThreads * kPix;
  e.cfg.bn = kDirectMaxOc;
  e.cfg.threads = kDirectThreads;
  e.cfg.smem = 0;  // set per launch (direct_smem_bytes: at most ~36 KB, under the default)
  e.cfg.direct_k = kWords * 4;
  e.cfg.name = std::string("direct_") + kind_name(Kind) + "_k" + std::to_string(kWords * 4) + "_p" +
               std::to_string(kPix);
  e.launch = launch_direct<kWords, kPix, Kind == kConvU8>;
  e.attr = attr_none;
  return e;
}

// K <= 28 (the zoo's 5x5x1 and 3x3x3 first layers: 7 words, no dp4a on zero padding) and
// 28 < K <= 64; one pixel per thread (two per thread measured 30-50% slower: fewer warps).
template <int Kind>
void add_direct(std::vector<Entry>& v) {
  v.push_back(direct_entry<7, 1, Kind>());
  v.push_back(direct_entry<16, 1, Kind>());
}

// One family each (conv_entries_*.cu), appended in this order to the table.
void add_entries_s8(std::vector<Entry>& v);
void add_entries_u8(std::vector<Entry>& v);
void add_entries_f16(std::vector<Entry>& v);
void add_entries_f32(std::vector<Entry>& v);
void add_entries_depthwise(std::vector<Entry>& v);
void add_entries_wgmma(std::vector<Entry>& v);

}  // namespace mpq::cuda
