// Element-wise loops (training kernels, optimizers, observers) run on the OpenMP pool that oneDNN
// uses too.
#pragma once

#include <cstdint>

namespace mpq {

// Calls f(begin, end) on disjoint chunks of [0, n) in parallel (serially for small n).
template <typename F>
void parallel_for(int64_t n, F&& f, int64_t grain = 1 << 15) {
  if (n <= grain) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  const int64_t chunks = (n + grain - 1) / grain;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = c * grain;
    const int64_t e = b + grain < n ? b + grain : n;
    f(b, e);
  }
}

}  // namespace mpq
