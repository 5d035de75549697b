// The depthwise convolution configurations (depthwise.cuh), one per arithmetic.
#include <algorithm>

#include "backends/cuda/conv_entries.cuh"
#include "backends/cuda/depthwise.cuh"

namespace mpq::cuda {

namespace {

template <int Kind>
cudaError_t launch_dw(const ConvParams& p, dim3, int, cudaStream_t s) {
  const int64_t items = static_cast<int64_t>(p.M) * ((p.C + 3) / 4);
  const unsigned blocks =
      static_cast<unsigned>(std::min<int64_t>(ceil_div(items, kDepthwiseThreads), 1 << 20));
  return launch_pdl(depthwise_kernel<Kind>, dim3(blocks), dim3(kDepthwiseThreads), 0, s, p);
}

template <int Kind, int KW, int S>
cudaError_t launch_dw_row(const ConvParams& p, dim3, int, cudaStream_t s) {
  constexpr int kPix = 4;
  const int64_t items = static_cast<int64_t>(p.N) * p.OH * ceil_div(p.OW, kPix) * ((p.C + 3) / 4);
  const unsigned blocks =
      static_cast<unsigned>(std::min<int64_t>(ceil_div(items, kDepthwiseThreads), 1 << 20));
  return launch_pdl(depthwise_row_kernel<Kind, KW, S, kPix>, dim3(blocks), dim3(kDepthwiseThreads),
                    0, s, p);
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

template <int Kind, int KW, int S>
Entry dw_row_entry() {
  Entry e = dw_entry<Kind>();
  e.cfg.dw_kw = KW;
  e.cfg.dw_sw = S;
  e.cfg.name = std::string("depthwise_row_") + kind_name(Kind) + "_k" + std::to_string(KW) + "s" +
               std::to_string(S);
  e.launch = launch_dw_row<Kind, KW, S>;
  return e;
}

// The windows of torchvision's depthwise layers: 3x3 and 5x5 at stride 1 and 2 (MobileNet,
// EfficientNet, MnasNet, ShuffleNet), 7x7 at stride 1 (ConvNeXt).
template <int Kind>
void add_dw(std::vector<Entry>& v) {
  v.push_back(dw_entry<Kind>());
  v.push_back(dw_row_entry<Kind, 3, 1>());
  v.push_back(dw_row_entry<Kind, 3, 2>());
  v.push_back(dw_row_entry<Kind, 5, 1>());
  v.push_back(dw_row_entry<Kind, 5, 2>());
  v.push_back(dw_row_entry<Kind, 7, 1>());
}

}  // namespace

void add_entries_depthwise(std::vector<Entry>& v) {
  add_dw<kConvS8>(v);
  add_dw<kConvU8>(v);
  add_dw<kConvF16>(v);
  add_dw<kConvF32>(v);
}

}  // namespace mpq::cuda
