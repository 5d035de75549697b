// Developer knobs (kernel comparisons, profiles), all in one environment variable:
//   MPQ_DEBUG=cuda-tile=NAME,cuda-splitk=N,cuda-no-splitk,cuda-no-direct,cuda-no-depthwise,
//             cuda-no-depthwise-row,cuda-no-wgmma,cuda-no-pdl,cuda-profile,cuda-warmup-ms=MS
// They change how kernels are chosen or timed, never what an engine computes. Read when asked
// (kernels read them when they are prepared or timed, not per step), so a test can change the
// variable between builds.
#pragma once

#include <string>

namespace mpq {

struct DebugOptions {
  std::string cuda_tile;               // time only this tile configuration, where it applies
  int cuda_splitk = 0;                 // keep only this split-K where one is possible (0: timed)
  bool cuda_no_splitk = false;         // never split K
  bool cuda_no_direct = false;         // int8 first layers: implicit GEMM only
  bool cuda_no_depthwise = false;      // depthwise layers: implicit GEMM only
  bool cuda_no_depthwise_row = false;  // depthwise layers: leave out the kernels for one window
  bool cuda_no_wgmma = false;          // int8 convolutions: no Hopper TMA + wgmma kernels
  bool cuda_no_pdl = false;            // no programmatic dependent launch (sm_90)
  bool cuda_profile = false;           // kernel timing also prints a per-step profile
  double cuda_warmup_ms = 1000.0;      // GPU busy time before kernel timing (clocks leave idle)
};

// Parses `spec` (the variable's syntax); unknown or malformed entries go to `*rejected`
// (comma-separated) when it is given.
DebugOptions parse_debug_options(const std::string& spec, std::string* rejected = nullptr);

// MPQ_DEBUG as it is now; entries it cannot parse are reported once on stderr.
DebugOptions debug_options();

}  // namespace mpq
