// The depthwise convolution configurations (depthwise.cuh), one per arithmetic.
#include <algorithm>

#include "backends/cuda/conv_entries.cuh"
#include "backends/cuda/depthwise.cuh"

namespace mpq::cuda {

namespace {

template <int Kind>
void launch_dw(const ConvParams& p, dim3, int, cudaStream_t s) {
  const int64_t items = static_cast<int64_t>(p.M) * ((p.C + 3) / 4);
  const unsigned blocks =
      static_cast<unsigned>(std::min<int64_t>(ceil_div(items, kDepthwiseThreads), 1 << 20));
  (void)launch_pdl(depthwise_kernel<Kind>, dim3(blocks), dim3(kDepthwiseThreads), 0, s, p);
}

template <int Kind>
Entry dw_entry() {
  Entry e;
  e.cfg.kind = Kind;
  e.cfg.vec = -1;
  e.cfg.bm = kDepthwiseThreads;
  e.cfg.bn = 4;
  e.cfg.threads = kDepthwiseThreads;
  e.cfg.depthwise = 1;
  e.cfg.name = std::string("depthwise_") + kind_name(Kind);
  e.launch = launch_dw<Kind>;
  e.attr = attr_none;
  return e;
}

}  // namespace

void add_entries_depthwise(std::vector<Entry>& v) {
  v.push_back(dw_entry<kConvS8>());
  v.push_back(dw_entry<kConvU8>());
  v.push_back(dw_entry<kConvF16>());
  v.push_back(dw_entry<kConvF32>());
}

}  // namespace mpq::cuda
