// Programmatic dependent launch (sm_90): a kernel may be launched while the previous kernel on the
// stream is still finishing, and waits for it with griddepcontrol.wait as its first instruction.
// This overlaps each launch's latency with the tail of its predecessor, inside CUDA graphs too.
// Every kernel launched with launch_pdl must call grid_dep_wait() before touching global memory.
// MPQ_DEBUG=cuda-no-pdl launches plainly (the wait is then a no-op).
#pragma once

#include <cuda_runtime.h>

#include <cstdlib>
#include <utility>

#include "core/debug_options.h"

namespace mpq::cuda {

__device__ __forceinline__ void grid_dep_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

inline bool pdl_enabled() {
  static const bool on = [] {
    if (debug_options().cuda_no_pdl) return false;
    int dev = 0, major = 0;
    if (cudaGetDevice(&dev) != cudaSuccess) return false;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess)
      return false;
    return major >= 9;
  }();
  return on;
}

template <typename... KArgs, typename... Args>
cudaError_t launch_pdl(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem,
                       cudaStream_t stream, Args&&... args) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl_enabled() ? 1 : 0;
  return cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...);
}

}  // namespace mpq::cuda
