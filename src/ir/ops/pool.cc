// Pooling: MaxPool (ONNX 1..18: pads, auto_pad, strides, dilations, ceil_mode; float and int8 /
// uint8), AveragePool (ONNX 1..18: count_include_pad, ceil_mode, pads, auto_pad) and
// GlobalAveragePool, in 1-D and 2-D (GlobalAveragePool: any rank). 3-D windows and MaxPool's
// Indices output are rejected at import.
#include <algorithm>
#include <limits>

#include "ir/ops/compute_util.h"
#include "ir/ops/op_util.h"
#include "ir/ops/window.h"

namespace mpq::ops {

namespace {

struct PoolGeom {
  int64_t NC = -1;  // N * C planes
  std::vector<Axis> axes;
  Shape out_shape;
};

PoolGeom pool_geom(const Node& n, const Shape& x) {
  check_window_rank(n, x);
  const size_t r = x.size();
  const auto& kernel = n.attrs.ints("kernel_shape");
  if (kernel.size() != r - 2)
    invalid_input(
        str("has ", kernel.size(), " values but X ", shape_str(x), " has ", r - 2, " spatial dims"))
        .node(n.name)
        .key("kernel_shape")
        .raise();
  for (int64_t k : kernel)
    if (k < 1)
      invalid_input(str("kernel size ", k, " must be >= 1"))
          .node(n.name)
          .key("kernel_shape")
          .raise();
  PoolGeom g;
  g.axes = resolve_window(n, {x.begin() + 2, x.end()}, kernel, n.attrs.i("ceil_mode", 0) != 0);
  g.out_shape = window_output_shape(x[0], x[1], g.axes);
  g.NC = x[0] < 0 || x[1] < 0 ? -1 : x[0] * x[1];
  return g;
}

// Attributes added in later opsets (ceil_mode in 10, storage_order in 8, count_include_pad in 7)
// have no schema default: filling one in would make an older-opset graph fail onnx's checker on
// export. The code reads them with their ONNX default.
AttrSpec attr_int_opt(const std::string& name) {
  return {name, AttrType::kInt, std::nullopt, true};
}

std::string pool_unsupported(const Node& n) {
  const int r = window_spatial_rank(n, 0, -1);
  if (r > 2) return str(r, "-D ", n.op_name(), " is not supported (mpq handles 1-D and 2-D)");
  return "";
}

int64_t pool_flops(const Node& n) {
  const Value* y = n.outputs.empty() ? nullptr : n.outputs[0];
  if (!y || !y->has_type || !n.attrs.has("kernel_shape")) return 0;
  return known_numel(y->shape) * known_numel(n.attrs.ints("kernel_shape"));
}

// ---------------------------------------------------------------- MaxPool

std::vector<TypeInfo> infer_maxpool(const Node& n) {
  window_input_spatial(n, 0, /*allow_int8=*/true);
  const Value& x = in(n, 0);
  const Shape out = pool_geom(n, x.shape).out_shape;
  return {{x.dtype, out}, {DType::i64, out}};  // Indices: typed, but rejected at import
}

// Calls f(input index) for each in-range position of output (oh, ow)'s window, in scan order.
template <typename F>
inline void for_window(const Plane& p, int64_t oh, int64_t ow, F&& f) {
  const int64_t hs = oh * p.h.stride - p.h.pad_begin, ws = ow * p.w.stride - p.w.pad_begin;
  for (int64_t kh = 0; kh < p.h.k; ++kh) {
    const int64_t ih = hs + kh * p.h.dil;
    if (ih < 0 || ih >= p.h.in) continue;
    for (int64_t kw = 0; kw < p.w.k; ++kw) {
      const int64_t iw = ws + kw * p.w.dil;
      if (iw >= 0 && iw < p.w.in) f(ih * p.w.in + iw);
    }
  }
}

template <typename T>
void maxpool(const T* x, int64_t planes, const Plane& p, T* y) {
  const T lowest = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                        : std::numeric_limits<T>::lowest();
  const int64_t HW = p.h.in * p.w.in;
  for (int64_t c = 0; c < planes; ++c, x += HW)
    for (int64_t oh = 0; oh < p.h.out; ++oh)
      for (int64_t ow = 0; ow < p.w.out; ++ow, ++y) {
        T m = lowest;
        for_window(p, oh, ow, [&](int64_t i) { m = x[i] > m ? x[i] : m; });
        *y = m;
      }
}

std::vector<Tensor> maxpool_forward(const Node& n, const std::vector<Tensor>& in) {
  if (n.outputs.size() > 1 && n.outputs[1])
    unsupported("MaxPool's Indices output is not supported").node(n.name).raise();
  const DType dt = in[0].dtype();
  PoolGeom g = pool_geom(n, in[0].shape());
  const Plane p = to_plane(g.axes);
  if (dt == DType::i8 || dt == DType::u8) {
    Tensor Y(dt, g.out_shape);
    if (dt == DType::i8)
      maxpool(in[0].data<int8_t>(), g.NC, p, Y.data<int8_t>());
    else
      maxpool(in[0].data<uint8_t>(), g.NC, p, Y.data<uint8_t>());
    return {Y};
  }
  const Tensor X = as_f32(in[0]);
  Tensor Y(DType::f32, g.out_shape);
  maxpool(X.data<float>(), g.NC, p, Y.data<float>());
  return {from_f32(Y, dt)};
}

// dX gets each dY at the first maximum of its window (in scan order).
std::vector<Tensor> maxpool_backward(const Node& n, const std::vector<Tensor>& in,
                                     const std::vector<Tensor>&, const std::vector<Tensor>& gout) {
  const Tensor X = as_f32(in[0]), GY = as_f32(gout[0]);
  PoolGeom g = pool_geom(n, X.shape());
  const Plane p = to_plane(g.axes);
  Tensor GX(DType::f32, X.shape());
  const int64_t HW = p.h.in * p.w.in;
  const float* x = X.data<float>();
  const float* gy = GY.data<float>();
  float* gx = GX.data<float>();
  for (int64_t c = 0; c < g.NC; ++c, x += HW, gx += HW)
    for (int64_t oh = 0; oh < p.h.out; ++oh)
      for (int64_t ow = 0; ow < p.w.out; ++ow, ++gy) {
        int64_t best = -1;
        for_window(p, oh, ow, [&](int64_t i) {
          if (best < 0 || x[i] > x[best]) best = i;
        });
        if (best >= 0) gx[best] += *gy;
      }
  return {from_f32(GX, in[0].dtype())};
}

// ---------------------------------------------------------------- AveragePool

std::vector<TypeInfo> infer_avgpool(const Node& n) {
  window_input_spatial(n, 0);
  const Value& x = in(n, 0);
  return {{x.dtype, pool_geom(n, x.shape).out_shape}};
}

// Window of output o along an axis: in-range input span [lo, hi) and the divisor's share. With
// count_include_pad the window is clipped to the padded extent [-pad_begin, in + pad_end) (a
// ceil_mode overhang past the end padding does not count), else to the input.
struct Span {
  int64_t lo, hi, count;
};
Span avg_span(const Axis& a, int64_t o, bool include_pad) {
  const int64_t s = o * a.stride - a.pad_begin, e = s + a.k;
  Span r{std::max<int64_t>(s, 0), std::min(e, a.in), 0};
  r.hi = std::max(r.hi, r.lo);
  r.count = include_pad ? std::min(e, a.in + a.pad_end) - s : r.hi - r.lo;
  return r;
}

std::vector<Tensor> avgpool_forward(const Node& n, const std::vector<Tensor>& in) {
  const Tensor X = as_f32(in[0]);
  PoolGeom g = pool_geom(n, X.shape());
  const Plane p = to_plane(g.axes);
  const bool inc = n.attrs.i("count_include_pad", 0) != 0;
  Tensor Y(DType::f32, g.out_shape);
  const int64_t W = p.w.in, HW = p.h.in * W;
  const float* x = X.data<float>();
  float* y = Y.data<float>();
  for (int64_t c = 0; c < g.NC; ++c, x += HW)
    for (int64_t oh = 0; oh < p.h.out; ++oh) {
      const Span sh = avg_span(p.h, oh, inc);
      for (int64_t ow = 0; ow < p.w.out; ++ow, ++y) {
        const Span sw = avg_span(p.w, ow, inc);
        float s = 0.f;
        for (int64_t ih = sh.lo; ih < sh.hi; ++ih)
          for (int64_t iw = sw.lo; iw < sw.hi; ++iw) s += x[ih * W + iw];
        const int64_t cnt = sh.count * sw.count;
        *y = cnt > 0 ? s / static_cast<float>(cnt) : 0.f;
      }
    }
  return {from_f32(Y, in[0].dtype())};
}

std::vector<Tensor> avgpool_backward(const Node& n, const std::vector<Tensor>& in,
                                     const std::vector<Tensor>&, const std::vector<Tensor>& gout) {
  const Tensor GY = as_f32(gout[0]);
  PoolGeom g = pool_geom(n, in[0].shape());
  const Plane p = to_plane(g.axes);
  const bool inc = n.attrs.i("count_include_pad", 0) != 0;
  Tensor GX(DType::f32, in[0].shape());
  const int64_t W = p.w.in, HW = p.h.in * W;
  const float* gy = GY.data<float>();
  float* gx = GX.data<float>();
  for (int64_t c = 0; c < g.NC; ++c, gx += HW)
    for (int64_t oh = 0; oh < p.h.out; ++oh) {
      const Span sh = avg_span(p.h, oh, inc);
      for (int64_t ow = 0; ow < p.w.out; ++ow, ++gy) {
        const Span sw = avg_span(p.w, ow, inc);
        const int64_t cnt = sh.count * sw.count;
        if (cnt <= 0) continue;
        const float v = *gy / static_cast<float>(cnt);
        for (int64_t ih = sh.lo; ih < sh.hi; ++ih)
          for (int64_t iw = sw.lo; iw < sw.hi; ++iw) gx[ih * W + iw] += v;
      }
    }
  return {from_f32(GX, in[0].dtype())};
}

// ---------------------------------------------------------------- GlobalAveragePool

std::vector<TypeInfo> infer_gap(const Node& n) {
  expect_float(n, 0);
  const Value& x = in(n, 0);
  if (x.shape.size() < 3)
    invalid_input(str("input X must be N x C x spatial... (rank >= 3), got ", shape_str(x.shape)))
        .node(n.name)
        .raise();
  Shape out = x.shape;
  std::fill(out.begin() + 2, out.end(), 1);
  return {{x.dtype, out}};
}

std::vector<Tensor> gap_forward(const Node& n, const std::vector<Tensor>& in) {
  const Tensor X = as_f32(in[0]);
  if (X.rank() < 3)
    invalid_input(str("input X must have rank >= 3, got ", shape_str(X.shape())))
        .node(n.name)
        .raise();
  Shape out = X.shape();
  std::fill(out.begin() + 2, out.end(), 1);
  Tensor Y(DType::f32, out);
  const int64_t planes = X.dim(0) * X.dim(1), S = X.numel() / std::max<int64_t>(planes, 1);
  const float* x = X.data<float>();
  float* y = Y.data<float>();
  for (int64_t c = 0; c < planes; ++c, x += S) {
    double s = 0;
    for (int64_t i = 0; i < S; ++i) s += x[i];
    y[c] = static_cast<float>(s / static_cast<double>(S));
  }
  return {from_f32(Y, in[0].dtype())};
}

std::vector<Tensor> gap_backward(const Node&, const std::vector<Tensor>& in,
                                 const std::vector<Tensor>&, const std::vector<Tensor>& gout) {
  const Tensor GY = as_f32(gout[0]);
  Tensor GX(DType::f32, in[0].shape());
  const int64_t planes = GX.dim(0) * GX.dim(1), S = GX.numel() / std::max<int64_t>(planes, 1);
  const float* gy = GY.data<float>();
  float* gx = GX.data<float>();
  for (int64_t c = 0; c < planes; ++c, gx += S)
    std::fill(gx, gx + S, gy[c] / static_cast<float>(S));
  return {from_f32(GX, in[0].dtype())};
}

}  // namespace

OpDef def_MaxPool() {
  OpDef d;
  d.doc = "1-D/2-D max pooling (pads, auto_pad, strides, dilations, ceil_mode; f32/int8/uint8)";
  d.max_outputs = 2;  // the Indices output is rejected by unsupported_reason
  d.attrs = {attr_string("auto_pad", "NOTSET"),
             attr_int_opt("ceil_mode"),  // default 0
             attr_ints_opt("dilations"),
             attr_required("kernel_shape", AttrType::kInts),
             attr_ints_opt("pads"),
             attr_int_opt("storage_order"),  // default 0
             attr_ints_opt("strides")};
  d.infer = infer_maxpool;
  d.check_attrs = check_window_attrs;
  d.forward = maxpool_forward;
  d.backward = maxpool_backward;
  d.quant = QuantRule::kPassthrough;
  d.flops = pool_flops;
  d.onnx.op_type = "MaxPool", d.onnx.min_opset = 1, d.onnx.max_opset = 18;
  d.unsupported_reason = [](const Node& n) -> std::string {
    if (n.outputs.size() > 1 && n.outputs[1])
      return "MaxPool's Indices output (and its storage_order) is not supported";
    return pool_unsupported(n);
  };
  return d;
}

OpDef def_AveragePool() {
  OpDef d;
  d.doc = "1-D/2-D average pooling (count_include_pad, ceil_mode, pads, auto_pad, strides)";
  d.attrs = {attr_string("auto_pad", "NOTSET"),
             attr_int_opt("ceil_mode"),          // default 0
             attr_int_opt("count_include_pad"),  // default 0
             attr_required("kernel_shape", AttrType::kInts),
             attr_ints_opt("pads"),
             attr_ints_opt("strides")};
  d.infer = infer_avgpool;
  d.check_attrs = check_window_attrs;
  d.forward = avgpool_forward;
  d.backward = avgpool_backward;
  d.quant = QuantRule::kRequant;  // an average leaves the grid: the output has its own scale
  d.flops = pool_flops;
  d.onnx.op_type = "AveragePool", d.onnx.min_opset = 1,
  d.onnx.max_opset = 18;  // AveragePool-19 adds dilations
  d.unsupported_reason = pool_unsupported;
  return d;
}

OpDef def_GlobalAveragePool() {
  OpDef d;
  d.doc = "mean over all spatial dims (any rank >= 3)";
  d.infer = infer_gap;
  d.forward = gap_forward;
  d.backward = gap_backward;
  d.quant = QuantRule::kRequant;  // an average leaves the grid: the output has its own scale
  d.flops = [](const Node& n) -> int64_t {
    const Value* x = n.input(0);
    return x && x->has_type ? known_numel(x->shape) : 0;
  };
  d.onnx.op_type = "GlobalAveragePool", d.onnx.min_opset = 1, d.onnx.max_opset = 18;
  return d;
}

}  // namespace mpq::ops
