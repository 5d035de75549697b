// The strided map kernel's index math on the CPU (runs without a GPU): operands described from
// tensor specs (NHWC or plain, broadcasting, windows) and the compaction of the iteration space
// address exactly the same elements as the uncompacted space, walked as map.cu walks it.
#ifdef MPQ_HAVE_CUDA
#include <gtest/gtest.h>

#include <array>
#include <set>

#include "backends/cuda/map_util.h"

namespace mpq::cuda {
namespace {

using Offsets = std::array<int64_t, 1 + kMapMaxIn>;

// Every (output offset, input offsets) of the space, in map_kernel's coordinate order.
std::set<Offsets> walk(const MapParams& p) {
  int64_t total = 1;
  for (int d = 0; d < p.rank; ++d) total *= p.dims[d];
  std::set<Offsets> out;
  for (int64_t i = 0; i < total; ++i) {
    Offsets o{p.out.offset, p.in[0].offset, p.in[1].offset, p.in[2].offset};
    int64_t rem = i;
    for (int d = p.rank - 1; d >= 0; --d) {
      const int64_t c = rem % p.dims[d];
      rem /= p.dims[d];
      o[0] += c * p.out.stride[d];
      for (int k = 0; k < p.nin; ++k) o[1 + k] += c * p.in[k].stride[d];
    }
    out.insert(o);
  }
  return out;
}

TensorSpec spec(Shape s, Layout l) {
  TensorSpec t;
  t.shape = std::move(s);
  t.layout = l;
  return t;
}

MapParams eltwise(const TensorSpec& y, const std::vector<TensorSpec>& xs) {
  MapParams p;
  set_space(p, y.shape);
  p.nin = static_cast<int32_t>(xs.size());
  for (size_t k = 0; k < xs.size(); ++k)
    p.in[k] =
        broadcast_operand(ElemDesc{}, xs[k].shape, logical_strides(xs[k], xs[k].shape), y.shape);
  p.out = broadcast_operand(ElemDesc{}, y.shape, logical_strides(y, y.shape), y.shape);
  return p;
}

TEST(CudaMap, LogicalStridesOfNhwcAndPlain) {
  EXPECT_EQ(logical_strides(spec({2, 3, 4, 5}, Layout::kNHWC), {2, 3, 4, 5}),
            (std::vector<int64_t>{60, 1, 15, 3}));
  EXPECT_EQ(logical_strides(spec({2, 3, 4, 5}, Layout::kPlain), {2, 3, 4, 5}),
            (std::vector<int64_t>{60, 20, 5, 1}));
  EXPECT_EQ(logical_strides(spec({7, 9}, Layout::kPlain), {7, 9}), (std::vector<int64_t>{9, 1}));
}

TEST(CudaMap, CompactedChannelScaleAddressesTheSameElements) {
  // y[N,C,H,W] = x[N,C,H,W] * s[N,C,1,1], NHWC: [N, H*W, C] after compaction.
  const TensorSpec y = spec({2, 5, 3, 4}, Layout::kNHWC), s = spec({2, 5, 1, 1}, Layout::kNHWC);
  MapParams p = eltwise(y, {y, s});
  const std::set<Offsets> want = walk(p);
  EXPECT_EQ(want.size(), 2u * 5 * 3 * 4);
  compact(p);
  EXPECT_EQ(p.rank, 3);
  EXPECT_EQ(walk(p), want);
}

TEST(CudaMap, CompactionKeepsMixedLayoutsAndBroadcasts) {
  const std::vector<std::vector<TensorSpec>> cases = {
      {spec({2, 3, 4, 5}, Layout::kPlain), spec({2, 3, 4, 5}, Layout::kNHWC),
       spec({5}, Layout::kPlain)},
      {spec({2, 3, 4, 5}, Layout::kNHWC), spec({1, 3, 1, 1}, Layout::kPlain),
       spec({2, 3, 4, 5}, Layout::kNHWC)},
      {spec({4, 6, 8}, Layout::kPlain), spec({4, 1, 8}, Layout::kPlain), spec({}, Layout::kPlain)},
  };
  for (const auto& c : cases) {
    MapParams p = eltwise(c[0], {c[1], c[2]});
    const std::set<Offsets> want = walk(p);
    compact(p);
    EXPECT_EQ(walk(p), want);
  }
  // Same-layout element-wise collapses to one dim.
  const TensorSpec t = spec({2, 3, 4, 5}, Layout::kNHWC);
  MapParams p = eltwise(t, {t});
  compact(p);
  EXPECT_EQ(p.rank, 1);
  EXPECT_EQ(p.dims[0], 120);
}

TEST(CudaMap, ConcatWindowAndTransposeCompactExactly) {
  // The second input [2,3,3,4] of a channel concat into [2,7,3,4] NHWC at channel 4.
  const TensorSpec y = spec({2, 7, 3, 4}, Layout::kNHWC), x = spec({2, 3, 3, 4}, Layout::kNHWC);
  const std::vector<int64_t> ost = logical_strides(y, y.shape);
  MapParams p;
  set_space(p, x.shape);
  p.in[0] = broadcast_operand(ElemDesc{}, x.shape, logical_strides(x, x.shape), x.shape);
  p.out = broadcast_operand(ElemDesc{}, x.shape, ost, x.shape);
  p.out.offset = 4 * ost[1];
  std::set<Offsets> want = walk(p);
  compact(p);
  EXPECT_EQ(walk(p), want);
  EXPECT_EQ(p.rank, 2);  // [N*H*W, C]
  // NHWC [N,C,H,W] -> plain [N,H,W,C] (perm 0,2,3,1): the same bytes, one dim.
  const TensorSpec in = spec({2, 3, 4, 5}, Layout::kNHWC), out = spec({2, 4, 5, 3}, Layout::kPlain);
  const std::vector<int64_t> ist = logical_strides(in, in.shape);
  const int perm[4] = {0, 2, 3, 1};
  MapParams t;
  set_space(t, out.shape);
  for (int d = 0; d < 4; ++d) t.in[0].stride[d] = ist[perm[d]];
  t.out = broadcast_operand(ElemDesc{}, out.shape, logical_strides(out, out.shape), out.shape);
  want = walk(t);
  compact(t);
  EXPECT_EQ(walk(t), want);
  EXPECT_EQ(t.rank, 1);
}

}  // namespace
}  // namespace mpq::cuda
#endif  // MPQ_HAVE_CUDA
