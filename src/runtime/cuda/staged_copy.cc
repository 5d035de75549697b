#include "runtime/cuda/staged_copy.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "backends/cuda/cuda_util.h"

namespace mpq::cuda {

namespace {

// Small enough that the first device copy starts early, large enough that a chunk's copy call
// (~2 us) is small beside its transfer (~5 us at PCIe 5).
constexpr size_t kChunk = size_t{256} << 10;
// A host memcpy saturates memory bandwidth with a few threads.
constexpr int kMaxThreads = 8;

}  // namespace

void staged_host_to_device(void* dev, void* pinned, const void* src, size_t bytes, int threads,
                           cudaStream_t s) {
  const size_t chunks = (bytes + kChunk - 1) / kChunk;
  const int t = std::max(1, std::min({threads > 0 ? threads : omp_get_max_threads(), kMaxThreads,
                                      static_cast<int>(std::min<size_t>(chunks, kMaxThreads))}));
  auto* d = static_cast<char*>(dev);
  auto* p = static_cast<char*>(pinned);
  const auto* h = static_cast<const char*>(src);
  for (size_t w0 = 0; w0 < chunks; w0 += static_cast<size_t>(t)) {
    const size_t w1 = std::min(chunks, w0 + static_cast<size_t>(t));
    const size_t b = w0 * kChunk, e = std::min(bytes, w1 * kChunk);
    // Only the host copy runs on the pool's threads: they may have another current device.
#pragma omp parallel for num_threads(t) schedule(static, 1) if (w1 - w0 > 1)
    for (size_t c = w0; c < w1; ++c) {
      const size_t cb = c * kChunk, ce = std::min(bytes, cb + kChunk);
      std::memcpy(p + cb, h + cb, ce - cb);
    }
    MPQ_CUDA_CHECK(cudaMemcpyAsync(d + b, p + b, e - b, cudaMemcpyHostToDevice, s));
  }
}

}  // namespace mpq::cuda
