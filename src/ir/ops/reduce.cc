// ReduceMean over `axes` (all dims when absent) with keepdims. Canonical form keeps `axes` as an
// attribute (opset 1-17); opset 18's axes input is folded into it at import when constant.
#include <algorithm>
#include <cmath>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {

std::vector<int64_t> reduce_axes(const Node& n, int64_t r) {
  std::vector<int64_t> axes;
  if (n.attrs.has("axes") && !n.attrs.ints("axes").empty()) {
    for (int64_t a : n.attrs.ints("axes")) axes.push_back(normalize_axis(a, r, "axes"));
    expect_unique_axes(axes, "axes");
  } else {
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  }
  return axes;
}

bool reduced(const std::vector<int64_t>& axes, int64_t i) {
  return std::find(axes.begin(), axes.end(), i) != axes.end();
}

Shape reduced_shape(const Shape& s, const std::vector<int64_t>& axes, bool keep) {
  Shape out;
  for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i) {
    if (!reduced(axes, i))
      out.push_back(s[i]);
    else if (keep)
      out.push_back(1);
  }
  return out;
}

// The input's shape with reduced dims set to 1 (same rank: broadcasts against the input).
Shape kept_shape(const Shape& s, const std::vector<int64_t>& axes) {
  return reduced_shape(s, axes, true);
}

}  // namespace

OpDef def_ReduceMean() {
  OpDef d;
  d.doc = "mean over `axes` (all when absent), keeping reduced dims as 1 if keepdims";
  d.attrs = {attr_ints_opt("axes"), attr_int("keepdims", 1)};
  d.infer = [](const Node& n) {
    const Value& x = in(n, 0);
    if (x.dtype == DType::boolean || x.dtype == DType::i8 || x.dtype == DType::u8)
      invalid_input(str("input must be float, int32 or int64, got ", dtype_name(x.dtype))).raise();
    auto axes = reduce_axes(n, static_cast<int64_t>(x.shape.size()));
    return std::vector<TypeInfo>{
        {x.dtype, reduced_shape(x.shape, axes, n.attrs.i("keepdims") != 0)}};
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    const Tensor& t = x[0];
    auto axes = reduce_axes(n, t.rank());
    const Shape ks = kept_shape(t.shape(), axes);
    std::vector<double> sum(static_cast<size_t>(shape_numel(ks)), 0.0);
    int64_t count = 1;
    for (int64_t a : axes) count *= t.dim(static_cast<int>(a));
    const Shape& ts = t.shape();
    if (is_float_dtype(t.dtype())) {
      Tensor t32 = to_f32(t);
      const float* p = t32.data<float>();
      broadcast_for_each<1>(ts, {&ks},
                            [&](int64_t k, const std::array<int64_t, 1>& o) { sum[o[0]] += p[k]; });
    } else {
      broadcast_for_each<1>(ts, {&ks}, [&](int64_t k, const std::array<int64_t, 1>& o) {
        sum[o[0]] += load_as_double(t.raw(), t.dtype(), k);
      });
    }
    Tensor y(t.dtype(), reduced_shape(ts, axes, n.attrs.i("keepdims") != 0));
    for (size_t i = 0; i < sum.size(); ++i) {
      double m = count ? sum[i] / static_cast<double>(count) : std::nan("");
      if (!is_float_dtype(t.dtype())) m = std::trunc(m);  // integer mean truncates, as sum / count
      store_from_double(y.raw(), t.dtype(), i, m);
    }
    return std::vector<Tensor>{y};
  };
  d.backward = [](const Node& n, const std::vector<Tensor>& x, const std::vector<Tensor>&,
                  const std::vector<Tensor>& gy) {
    const Tensor& t = x[0];
    auto axes = reduce_axes(n, t.rank());
    const Shape ks = kept_shape(t.shape(), axes);
    int64_t count = 1;
    for (int64_t a : axes) count *= t.dim(static_cast<int>(a));
    Tensor g = to_f32(gy[0]).reshaped(ks);
    Tensor gx(DType::f32, t.shape());
    const float* pg = g.data<float>();
    float* out = gx.data<float>();
    const float inv = 1.f / static_cast<float>(count);
    broadcast_for_each<1>(t.shape(), {&ks}, [&](int64_t k, const std::array<int64_t, 1>& o) {
      out[k] = pg[o[0]] * inv;
    });
    return std::vector<Tensor>{gx};
  };
  d.flops = [](const Node& n) {
    return n.inputs.empty() || !n.inputs[0] ? 0
                                            : std::max<int64_t>(0, shape_numel(n.inputs[0]->shape));
  };
  d.quant = QuantRule::kRequant;  // a mean leaves the grid: the output has its own scale
  d.onnx = onnx_op("ReduceMean", 1);
  d.onnx.internal_attrs = {"noop_with_empty_axes"};  // opset 18
  d.onnx.import_fixup = [](Graph& g, Node& n, int opset) {
    if (opset < 18) return;
    const bool noop = n.attrs.i("noop_with_empty_axes", 0) != 0;
    n.attrs.erase("noop_with_empty_axes");
    if (n.inputs.size() > 1 && n.inputs[1]) {
      Value* a = n.inputs[1];
      if (!a->constant)
        unsupported("ReduceMean axes computed at run time; mpq needs constant axes")
            .node(n.name)
            .key("axes")
            .raise();
      n.attrs.set("axes", a->constant->to_int64s());
      g.set_input(&n, 1, nullptr);
    }
    n.inputs.resize(1);
    if (noop && (!n.attrs.has("axes") || n.attrs.ints("axes").empty()))
      unsupported(
          "ReduceMean with noop_with_empty_axes=1 and no axes (an identity) is not supported")
          .node(n.name)
          .raise();
  };
  return d;
}

}  // namespace mpq::ops
