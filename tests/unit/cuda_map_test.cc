// The strided map kernel's index math on the CPU (runs without a GPU): operands described from
// tensor specs (NHWC or plain, broadcasting, windows) and the compaction of the iteration space
// address exactly the same elements as the uncompacted space, walked as map.cu walks it; and the
// launches of the CUDA Transpose/Slice/Pad/Gather/Concat and broadcasting kernels, emulated on
// host memory, give the reference forward's values.
#ifdef MPQ_HAVE_CUDA
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <random>
#include <set>

#include "backends/cuda/map_util.h"
#include "ir/op_def.h"

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

// map_kernel on host float buffers (f32 operands only; the functions the cases below use).
void emulate(const std::vector<MapLaunch>& ls, const std::vector<const float*>& in, float* y) {
  for (const MapLaunch& l : ls) {
    const MapParams& p = l.p;
    int64_t total = 1;
    for (int d = 0; d < p.rank; ++d) total *= p.dims[d];
    for (int64_t i = 0; i < total; ++i) {
      int64_t off[kMapMaxIn] = {p.in[0].offset, p.in[1].offset, p.in[2].offset};
      int64_t yo = p.out.offset, rem = i;
      bool inside = true;
      for (int d = p.rank - 1; d >= 0; --d) {
        const int64_t c = rem % p.dims[d];
        rem /= p.dims[d];
        yo += c * p.out.stride[d];
        for (int k = 0; k < p.nin; ++k) off[k] += c * p.in[k].stride[d];
        if (p.padded) inside = inside && c >= p.lo[d] && c - p.lo[d] < p.in_dims[d];
      }
      float v[kMapMaxIn] = {0.f, 0.f, 0.f};
      for (int k = 0; k < p.nin; ++k) {
        if (k == 0 && !inside) {
          v[k] = p.pad_value;
          continue;
        }
        EXPECT_GE(l.input[k], 0) << "the emulation reads step inputs only";
        v[k] = in.at(l.input[k])[off[k]];
      }
      float r = v[0];
      if (p.op == kMapAdd) r = v[0] + v[1];
      if (p.op == kMapMul) r = v[0] * v[1];
      if (p.op == kMapDiv) r = v[0] / v[1];
      y[yo] = r;
    }
  }
}

Tensor rnd(const Shape& s, unsigned seed) {
  std::mt19937 r(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  Tensor t(DType::f32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(r);
  return t;
}

// Logical NCHW <-> NHWC bytes of a rank-4 f32 tensor.
std::vector<float> to_layout(const Tensor& t, Layout l) {
  std::vector<float> f = t.to_floats();
  if (t.rank() != 4 || l != Layout::kNHWC) return f;
  const int64_t N = t.dim(0), C = t.dim(1), H = t.dim(2), W = t.dim(3);
  std::vector<float> o(f.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          o[((n * H + h) * W + w) * C + c] = f[((n * C + c) * H + h) * W + w];
  return o;
}
std::vector<float> from_layout(const std::vector<float>& f, const Shape& s, Layout l) {
  if (s.size() != 4 || l != Layout::kNHWC) return f;
  const int64_t N = s[0], C = s[1], H = s[2], W = s[3];
  std::vector<float> o(f.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          o[((n * C + c) * H + h) * W + w] = f[((n * H + h) * W + w) * C + c];
  return o;
}

// One node of `op` over activations `x` (given layouts) and constants; its CUDA kernel's launches
// emulated against the node's reference forward.
void check_node(const char* op, const std::vector<Tensor>& x, const std::vector<Layout>& layouts,
                const std::vector<Tensor>& consts, Attributes attrs, Layout out_layout) {
  Graph g;
  std::vector<Value*> in;
  for (size_t i = 0; i < x.size(); ++i)
    in.push_back(g.add_input(str("x", i), DType::f32, x[i].shape()));
  for (size_t i = 0; i < consts.size(); ++i) in.push_back(g.add_constant(str("c", i), consts[i]));
  Node* n = g.add_node(find_op_def(op)->kind, "n", in, 1, std::move(attrs));
  apply_attr_schema(*n);
  g.add_output(n->outputs[0]);
  infer_shapes(g);
  std::vector<Tensor> all = x;
  all.insert(all.end(), consts.begin(), consts.end());
  const Tensor want = op_def(n->op).forward(*n, all)[0];

  std::vector<TensorSpec> specs;
  for (size_t i = 0; i < in.size(); ++i) {
    TensorSpec t;
    t.shape = in[i]->shape;
    if (i < x.size())
      t.layout = layouts[i], t.batched = true;
    else
      t.constant = consts[i - x.size()];
    specs.push_back(t);
  }
  TensorSpec out;
  out.shape = n->outputs[0]->shape;
  out.layout = out_layout;
  out.batched = true;
  const int64_t batch = x[0].dim(0);
  KernelSetup s;
  s.node = n;
  s.precision = Precision::kFp32;
  s.max_batch = batch;
  for (const auto& t : specs) s.inputs.push_back(&t);
  s.outputs.push_back(&out);
  std::string why;
  const KernelInfo* ki = KernelRegistry::instance().find("cuda", *n, Precision::kFp32, &why);
  ASSERT_NE(ki, nullptr) << why;
  auto k = ki->make();
  k->prepare(s);
  const auto* ml = dynamic_cast<const MapLauncher*>(k.get());
  ASSERT_NE(ml, nullptr);
  std::vector<std::vector<float>> bufs;
  std::vector<const float*> ptrs;
  for (size_t i = 0; i < x.size(); ++i) bufs.push_back(to_layout(x[i], layouts[i]));
  for (const auto& b : bufs) ptrs.push_back(b.data());
  std::vector<float> y(static_cast<size_t>(want.numel()), NAN);
  emulate(ml->launches(batch), ptrs, y.data());
  const std::vector<float> got = from_layout(y, out.shape, out_layout), w = want.to_floats();
  ASSERT_EQ(got.size(), w.size());
  for (size_t i = 0; i < w.size(); ++i) ASSERT_FLOAT_EQ(got[i], w[i]) << op << " element " << i;
}

Tensor ints(const std::vector<int64_t>& v) {
  return Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v);
}

TEST(CudaMap, EmulatedMovesMatchReference) {
  const Layout P = Layout::kPlain, H = Layout::kNHWC;
  const Tensor x4 = rnd({2, 3, 4, 5}, 1), y4 = rnd({2, 2, 4, 5}, 2), x3 = rnd({2, 5, 6}, 3);
  Attributes t1, t2, t5;
  t1.set("perm", std::vector<int64_t>{0, 2, 3, 1});
  t2.set("perm", std::vector<int64_t>{0, 3, 1, 2});
  t5.set("perm", std::vector<int64_t>{0, 2, 1, 3, 4});
  check_node("Transpose", {x4}, {H}, {}, t1, P);
  check_node("Transpose", {x4}, {P}, {}, t2, H);
  check_node("Transpose", {rnd({2, 2, 3, 2, 4}, 4)}, {P}, {}, t5, P);
  check_node("Slice", {x4}, {H}, {ints({1}), ints({3}), ints({1})}, {}, H);
  check_node("Slice", {x4}, {P}, {ints({-1, 0}), ints({-100, 4}), ints({3, 2}), ints({-2, 3})}, {},
             P);
  check_node("Pad", {x4}, {H}, {ints({0, 0, 1, 2, 0, 0, 2, 1}), Tensor::scalar(0.5f)}, {}, H);
  Attributes g1, c1, c3;
  g1.set("axis", int64_t{1});
  check_node("Gather", {x3}, {P}, {Tensor::from<int64_t>({}, {0})}, g1, P);
  check_node("Gather", {x3}, {P}, {ints({2, -1, 0})}, g1, P);
  c1.set("axis", int64_t{1});
  c3.set("axis", int64_t{3});
  check_node("Concat", {x4, y4}, {H, P}, {}, c1, H);
  check_node("Concat", {x4, rnd({2, 3, 4, 2}, 5)}, {P, H}, {}, c3, P);
}

TEST(CudaMap, EmulatedBroadcastingMatchesReference) {
  const Layout P = Layout::kPlain, H = Layout::kNHWC;
  const Tensor x = rnd({2, 3, 4, 5}, 1), s = rnd({2, 3, 1, 1}, 2), r = rnd({4, 1}, 3);
  for (const char* op : {"Add", "Mul", "Div"}) {
    check_node(op, {x, s}, {H, P}, {}, {}, H);
    check_node(op, {s, x}, {H, H}, {}, {}, P);
    check_node(op, {x, r}, {P, P}, {}, {}, H);
  }
}

// reduce_mean_kernel on the host: one output per space coordinate, the mean over the reduced dims.
std::vector<float> emulate_reduce(const ReduceParams& p, const std::vector<float>& x, size_t n) {
  std::vector<float> y(n, NAN);
  int64_t total = 1, rtotal = 1;
  for (int d = 0; d < p.map.rank; ++d) total *= p.map.dims[d];
  for (int d = 0; d < p.rrank; ++d) rtotal *= p.rdims[d];
  for (int64_t i = 0; i < total; ++i) {
    int64_t xo = p.map.in[0].offset, yo = p.map.out.offset, rem = i;
    for (int d = p.map.rank - 1; d >= 0; --d) {
      const int64_t c = rem % p.map.dims[d];
      rem /= p.map.dims[d];
      xo += c * p.map.in[0].stride[d];
      yo += c * p.map.out.stride[d];
    }
    double s = 0;
    for (int64_t r = 0; r < rtotal; ++r) {
      int64_t o = xo, rr = r;
      for (int d = p.rrank - 1; d >= 0; --d) {
        o += (rr % p.rdims[d]) * p.rstride[d];
        rr /= p.rdims[d];
      }
      s += x.at(o);
    }
    y.at(yo) = static_cast<float>(s / rtotal);
  }
  return y;
}

TEST(CudaMap, EmulatedReduceMeanMatchesReference) {
  struct Case {
    Shape shape;
    Layout in, out;
    std::vector<int64_t> axes;
    bool keepdims;
  };
  const std::vector<Case> cases = {
      {{2, 3, 4, 5}, Layout::kNHWC, Layout::kPlain, {2, 3}, false},
      {{2, 3, 4, 5}, Layout::kNHWC, Layout::kNHWC, {2, 3}, true},
      {{2, 3, 4, 5}, Layout::kPlain, Layout::kNHWC, {1}, true},
      {{2, 7, 9}, Layout::kPlain, Layout::kPlain, {-1}, true},
      {{2, 7, 9}, Layout::kPlain, Layout::kPlain, {1, 2}, false},
  };
  for (const Case& c : cases) {
    Graph g;
    Attributes a;
    a.set("axes", c.axes);
    a.set("keepdims", int64_t{c.keepdims ? 1 : 0});
    Node* n = g.add_node(find_op_def("ReduceMean")->kind, "r",
                         {g.add_input("x", DType::f32, c.shape)}, 1, a);
    apply_attr_schema(*n);
    g.add_output(n->outputs[0]);
    infer_shapes(g);
    const Tensor x = rnd(c.shape, 7);
    const Tensor want = op_def(n->op).forward(*n, {x})[0];
    TensorSpec in = spec(c.shape, c.in), out = spec(n->outputs[0]->shape, c.out);
    in.batched = out.batched = true;
    std::vector<bool> reduced(c.shape.size(), false);
    for (int64_t ax : c.axes)
      reduced[ax < 0 ? ax + static_cast<int64_t>(c.shape.size()) : ax] = true;
    const ReduceParams p = reduce_mean_params(in, out, reduced, c.keepdims, c.shape[0]);
    const std::vector<float> y = from_layout(
        emulate_reduce(p, to_layout(x, c.in), static_cast<size_t>(want.numel())), out.shape, c.out);
    const std::vector<float> w = want.to_floats();
    for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(y[i], w[i], 1e-6f) << i;
  }
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
