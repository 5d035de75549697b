// Slice with starts/ends/axes/steps inputs (opset 10+, the canonical form; opset 1-9 attributes
// become constant inputs at import). Out-of-range starts/ends are clamped as ONNX specifies,
// negative steps walk backwards. Any dtype.
#include <algorithm>
#include <cstring>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {

struct DimSlice {
  int64_t start = 0, step = 1, len = 0;
};

// Resolves starts/ends/axes/steps against `shape` into one DimSlice per dim. Dims that are
// unknown (-1) get len -1.
std::vector<DimSlice> resolve(const Shape& shape, const std::vector<int64_t>& starts,
                              const std::vector<int64_t>& ends,
                              const std::optional<std::vector<int64_t>>& axes_in,
                              const std::optional<std::vector<int64_t>>& steps_in) {
  const int64_t r = static_cast<int64_t>(shape.size());
  if (starts.size() != ends.size())
    invalid_input(str("starts has ", starts.size(), " values, ends has ", ends.size())).raise();
  std::vector<int64_t> axes;
  if (axes_in) {
    if (axes_in->size() != starts.size())
      invalid_input(str("axes has ", axes_in->size(), " values, starts has ", starts.size()))
          .raise();
    for (int64_t a : *axes_in) axes.push_back(normalize_axis(a, r, "axes"));
    expect_unique_axes(axes, "axes");
  } else {
    if (static_cast<int64_t>(starts.size()) > r)
      invalid_input(str(starts.size(), " starts for rank ", r)).raise();
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps_in && steps_in->size() != starts.size())
    invalid_input(str("steps has ", steps_in->size(), " values, starts has ", starts.size()))
        .raise();
  std::vector<DimSlice> out(r);
  for (int64_t i = 0; i < r; ++i) out[i].len = shape[i];
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t dim = shape[axes[i]];
    const int64_t step = steps_in ? (*steps_in)[i] : 1;
    if (step == 0) invalid_input("steps must not be 0").raise();
    DimSlice& s = out[axes[i]];
    s.step = step;
    if (dim < 0) {
      s.len = -1;
      continue;
    }
    int64_t b = starts[i], e = ends[i];
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    if (step > 0) {
      b = std::clamp<int64_t>(b, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      s.len = e > b ? (e - b + step - 1) / step : 0;
    } else {
      b = std::clamp<int64_t>(b, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      s.len = b > e ? (b - e + (-step) - 1) / (-step) : 0;
    }
    s.start = b;
  }
  return out;
}

std::optional<std::vector<int64_t>> opt_ints(const std::vector<Tensor>& x, size_t i) {
  if (i >= x.size() || x[i].empty()) return std::nullopt;
  return x[i].to_int64s();
}

}  // namespace

OpDef def_Slice() {
  OpDef d;
  d.doc = "take data[start:end:step] along the given axes";
  d.min_inputs = 3;
  d.quant = QuantRule::kPassthrough;
  d.max_inputs = 5;
  d.infer = [](const Node& n) {
    const Value& x = in(n, 0);
    for (size_t i = 1; i < 5; ++i)
      if (n.has_input(i)) expect_index_dtype(n, i);
    const int64_t r = static_cast<int64_t>(x.shape.size());
    auto starts = constant_ints(n, 1), ends = constant_ints(n, 2);
    std::optional<std::vector<int64_t>> axes, steps;
    bool known = starts && ends;
    if (n.has_input(3)) known &= (axes = constant_ints(n, 3)).has_value();
    if (n.has_input(4)) known &= (steps = constant_ints(n, 4)).has_value();
    Shape out(r, -1);
    if (known) {
      auto sl = resolve(x.shape, *starts, *ends, axes, steps);
      for (int64_t i = 0; i < r; ++i) out[i] = sl[i].len;
    } else if (axes || !n.has_input(3)) {
      // Only the sliced axes are unknown; without axes the first len(starts) dims are sliced.
      out = x.shape;
      std::vector<int64_t> ax;
      if (axes) {
        for (int64_t a : *axes) ax.push_back(normalize_axis(a, r, "axes"));
      } else {
        const Shape& ss = in(n, 1).shape;
        int64_t k = ss.size() == 1 && ss[0] >= 0 ? ss[0] : r;
        for (int64_t i = 0; i < std::min(k, r); ++i) ax.push_back(i);
      }
      for (int64_t a : ax) out[a] = -1;
    }
    return std::vector<TypeInfo>{{x.dtype, out}};
  };
  d.forward = [](const Node&, const std::vector<Tensor>& x) {
    const Tensor& t = x[0];
    auto sl =
        resolve(t.shape(), x[1].to_int64s(), x[2].to_int64s(), opt_ints(x, 3), opt_ints(x, 4));
    const int r = t.rank();
    Shape os(r);
    for (int i = 0; i < r; ++i) os[i] = sl[i].len;
    Tensor y(t.dtype(), os);
    const size_t es = dtype_size(t.dtype());
    const auto st = strides_of(t.shape());
    const auto* src = static_cast<const uint8_t*>(t.raw());
    auto* dst = static_cast<uint8_t*>(y.raw());
    std::vector<int64_t> idx(r, 0);
    int64_t off = 0;
    for (int i = 0; i < r; ++i) off += sl[i].start * st[i];
    for (int64_t k = 0, total = y.numel(); k < total; ++k) {
      std::memcpy(dst + k * es, src + off * es, es);
      for (int dd = r - 1; dd >= 0; --dd) {
        off += sl[dd].step * st[dd];
        if (++idx[dd] < os[dd]) break;
        off -= sl[dd].step * st[dd] * os[dd];
        idx[dd] = 0;
      }
    }
    return std::vector<Tensor>{y};
  };
  d.onnx = onnx_op("Slice", 1);
  d.onnx.internal_attrs = {"starts", "ends", "axes"};  // opset 1-9
  d.onnx.import_fixup = [](Graph& g, Node& n, int opset) {
    if (opset >= 10) return;
    if (!n.attrs.has("starts") || !n.attrs.has("ends"))
      invalid_input("Slice before opset 10 requires the 'starts' and 'ends' attributes")
          .node(n.name)
          .raise();
    auto as_input = [&](const char* key, size_t i) {
      if (!n.attrs.has(key)) return;
      std::vector<int64_t> v = n.attrs.ints(key);
      n.attrs.erase(key);
      g.set_input(&n, i,
                  g.add_constant(g.unique_value_name(n.name + "_" + key),
                                 Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v)));
    };
    n.inputs.resize(n.attrs.has("axes") ? 4 : 3, nullptr);
    as_input("starts", 1);
    as_input("ends", 2);
    as_input("axes", 3);
  };
  return d;
}

}  // namespace mpq::ops
