// Host-to-device copies of the model's inputs from pageable memory (the caller's tensors): the
// bytes go through a pinned staging buffer, which is what makes the device copy asynchronous.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

namespace mpq::cuda {

// Copies `bytes` from `src` to `dev` through `pinned` (at least `bytes` long), enqueued on `s`.
// The staging runs in waves of chunks, each wave filled by up to `threads` host threads (<= 0:
// OpenMP's default) and its device copies enqueued before the next wave is filled, so the copy
// engine overlaps the host copy. Returns when every chunk is staged and enqueued; the device
// copies complete in stream order.
void staged_host_to_device(void* dev, void* pinned, const void* src, size_t bytes, int threads,
                           cudaStream_t s);

}  // namespace mpq::cuda
