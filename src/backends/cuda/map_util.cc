#include "backends/cuda/map_util.h"

#include <algorithm>
#include <numeric>

namespace mpq::cuda {

std::vector<int64_t> logical_strides(const TensorSpec& t, const Shape& shape) {
  std::vector<int64_t> st(shape.size(), 1);
  if (shape.size() == 4 && t.layout == Layout::kNHWC) {
    const int64_t C = shape[1], H = shape[2], W = shape[3];
    st = {H * W * C, 1, W * C, C};
    return st;
  }
  for (int d = static_cast<int>(shape.size()) - 2; d >= 0; --d) st[d] = st[d + 1] * shape[d + 1];
  return st;
}

MapOperand broadcast_operand(const ElemDesc& e, const Shape& shape, const std::vector<int64_t>& st,
                             const Shape& dims) {
  MapOperand o;
  o.e = e;
  const size_t r = dims.size(), s = shape.size();
  if (s > r) internal_error("operand of higher rank than its iteration space").raise();
  for (size_t i = 0; i < s; ++i) {
    const size_t d = r - s + i;
    o.stride[d] = shape[i] == 1 && dims[d] != 1 ? 0 : st[i];
  }
  return o;
}

void set_space(MapParams& p, const Shape& dims) {
  if (dims.size() > static_cast<size_t>(kMapMaxRank))
    unsupported(str("rank ", dims.size(), " (the CUDA kernels take up to ", kMapMaxRank, ")"))
        .raise();
  p.rank = static_cast<int32_t>(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] >= (int64_t{1} << 31)) unsupported("a dimension of 2^31 or more").raise();
    p.dims[d] = static_cast<int32_t>(dims[d]);
  }
}

void compact(MapParams& p) {
  if (p.padded) return;
  std::vector<int> keep;
  for (int d = 0; d < p.rank; ++d)
    if (p.dims[d] != 1) keep.push_back(d);
  // Outermost first by the output's strides (stable: ties keep the logical order).
  std::stable_sort(keep.begin(), keep.end(),
                   [&](int a, int b) { return p.out.stride[a] > p.out.stride[b]; });
  MapParams q = p;
  q.rank = 0;
  for (int d : keep) {
    const int r = q.rank;
    bool merge = r > 0;
    auto fits = [&](const MapOperand& o, const MapOperand& src) {
      return o.stride[r - 1] == src.stride[d] * p.dims[d];
    };
    if (merge) {
      merge = fits(q.out, p.out);
      for (int k = 0; k < p.nin && merge; ++k) merge = fits(q.in[k], p.in[k]);
    }
    if (merge) {
      q.dims[r - 1] *= p.dims[d];
      q.out.stride[r - 1] = p.out.stride[d];
      for (int k = 0; k < p.nin; ++k) q.in[k].stride[r - 1] = p.in[k].stride[d];
      continue;
    }
    q.dims[r] = p.dims[d];
    q.out.stride[r] = p.out.stride[d];
    for (int k = 0; k < p.nin; ++k) q.in[k].stride[r] = p.in[k].stride[d];
    ++q.rank;
  }
  if (q.rank == 0) q.rank = 1, q.dims[0] = 1, q.out.stride[0] = 0;
  p = q;
}

ReduceParams reduce_mean_params(const TensorSpec& in, const TensorSpec& out,
                                const std::vector<bool>& reduced, bool keepdims, int64_t batch) {
  const Shape id = in.shape_at(batch), od = out.shape_at(batch);
  const std::vector<int64_t> ist = logical_strides(in, id), ost = logical_strides(out, od);
  Shape space = id;
  ReduceParams p;
  p.map.in[0].e = elem_desc(in);
  p.map.out.e = elem_desc(out);
  std::vector<int64_t> out_st(id.size(), 0);
  for (size_t d = 0, o = 0; d < id.size(); ++d) {
    if (reduced[d]) {
      space[d] = 1;
      p.rdims[p.rrank] = static_cast<int32_t>(id[d]);
      p.rstride[p.rrank++] = ist[d];
      if (keepdims) ++o;
      continue;
    }
    out_st[d] = ost[o++];
  }
  set_space(p.map, space);
  for (size_t d = 0; d < id.size(); ++d) {
    p.map.in[0].stride[d] = reduced[d] ? 0 : ist[d];
    p.map.out.stride[d] = out_st[d];
  }
  compact(p.map);
  return p;
}

void DeviceConstant::upload(const Tensor& t) {
  const std::vector<float> f = t.to_floats();
  shape = t.shape();
  buf = DeviceBuffer(f.data(), std::max<size_t>(f.size(), 1) * sizeof(float));
}

void run_launches(const std::vector<MapLaunch>& l, const KernelArgs& a) {
  auto operand = [&](const MapLaunch& m, int k) {
    return m.input[k] >= 0 ? a.inputs[m.input[k]] : m.constant[k];
  };
  // Several one-operand launches (a Concat's inputs, a Gather's indices) write disjoint parts of
  // the output: they go kMapBatch at a time.
  const bool batch = l.size() > 1 && std::all_of(l.begin(), l.end(),
                                                 [](const MapLaunch& m) { return m.p.nin == 1; });
  if (batch) {
    for (size_t i = 0; i < l.size(); i += kMapBatch) {
      const int n = static_cast<int>(std::min<size_t>(kMapBatch, l.size() - i));
      const void* x[kMapBatch];
      MapParams p[kMapBatch];
      for (int j = 0; j < n; ++j) x[j] = operand(l[i + j], 0), p[j] = l[i + j].p;
      MPQ_CUDA_CHECK(strided_map_batch(x, a.outputs[0], p, n, stream_of(a)));
    }
    return;
  }
  for (const MapLaunch& m : l)
    MPQ_CUDA_CHECK(
        strided_map(operand(m, 0), operand(m, 1), operand(m, 2), a.outputs[0], m.p, stream_of(a)));
}

ElemDesc f32_desc() {
  ElemDesc e;
  e.dt = kDtF32;
  return e;
}

}  // namespace mpq::cuda
