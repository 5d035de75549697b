// ConvTranspose (ONNX ConvTranspose-1/11): 1-D and 2-D transposed convolution with groups,
// strides, dilations, pads / auto_pad, output_padding, output_shape and an optional bias. The
// forward is the adjoint of Conv: col = W^T X per (image, group) through the blocked GEMM, then
// col2im scatters it into the output. 3-D is rejected.
#include <algorithm>

#include "ir/ops/compute_util.h"
#include "ir/ops/gemm_kernel.h"
#include "ir/ops/op_util.h"
#include "ir/ops/window.h"

namespace mpq::ops {

namespace {

int64_t floor_div2(int64_t a) {
  return a >= 0 ? a / 2 : -((-a + 1) / 2);
}

struct DeconvGeom {
  int64_t N = -1, C = -1, M = -1, G = 1, Cg = -1, Mg = -1;
  // Axes of the equivalent convolution that maps the output (as its input) onto X (as its output).
  std::vector<Axis> axes;
  Shape out_shape;
};

std::vector<int64_t> ints_attr(const Node& n, const char* key, size_t size, int64_t fill,
                               int64_t min_value) {
  if (!n.attrs.has(key)) return std::vector<int64_t>(size, fill);
  std::vector<int64_t> v = n.attrs.ints(key);
  if (v.size() != size)
    invalid_input(str("has ", v.size(), " values, expected ", size)).node(n.name).key(key).raise();
  for (int64_t x : v)
    if (x < min_value)
      invalid_input(str("value ", x, " must be >= ", min_value)).node(n.name).key(key).raise();
  return v;
}

DeconvGeom deconv_geom(const Node& n, const Shape& x, const Shape& w, const Shape* b) {
  DeconvGeom g;
  const ConvKernel ck = conv_kernel(n, x, w);
  const std::vector<int64_t>& kernel = ck.kernel;
  const size_t nsp = kernel.size();
  g.G = ck.group;
  g.N = x[0], g.C = x[1], g.Mg = w[1];
  if (g.C >= 0 && w[0] >= 0 && g.C != w[0])
    invalid_input(
        str("input X has ", g.C, " channels but weights W ", shape_str(w), " expect ", w[0]))
        .node(n.name)
        .raise();
  if (g.C >= 0 && g.C % g.G != 0)
    invalid_input(str("input X has ", g.C, " channels, not divisible by group ", g.G))
        .node(n.name)
        .raise();
  g.Cg = g.C < 0 ? -1 : g.C / g.G;
  g.M = g.Mg < 0 ? -1 : g.Mg * g.G;
  if (b && (b->size() != 1 || ((*b)[0] >= 0 && g.M >= 0 && (*b)[0] != g.M)))
    invalid_input(str("bias B must have shape [", g.M, "], got ", shape_str(*b)))
        .node(n.name)
        .raise();

  const std::string auto_pad = n.attrs.s("auto_pad");
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" &&
      auto_pad != "SAME_LOWER")
    invalid_input(str("unknown value '", auto_pad, "'")).node(n.name).key("auto_pad").raise();
  const auto strides = ints_attr(n, "strides", nsp, 1, 1);
  const auto dil = ints_attr(n, "dilations", nsp, 1, 1);
  const auto pads = ints_attr(n, "pads", 2 * nsp, 0, 0);
  const auto out_pad = ints_attr(n, "output_padding", nsp, 0, 0);
  std::vector<int64_t> out_shape;
  if (n.attrs.has("output_shape")) {
    out_shape = n.attrs.ints("output_shape");
    if (out_shape.size() == nsp + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
    if (out_shape.size() != nsp)
      invalid_input(str("has ", out_shape.size(), " values, expected ", nsp))
          .node(n.name)
          .key("output_shape")
          .raise();
  }
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  g.axes.resize(nsp);
  g.out_shape = {g.N, g.M};
  for (size_t i = 0; i < nsp; ++i) {
    Axis& a = g.axes[i];
    a.out = x[i + 2];  // the equivalent conv's output is X
    a.k = kernel[i], a.stride = strides[i], a.dil = dil[i];
    int64_t out = -1;
    if (a.out >= 0 && a.k >= 0) {
      const int64_t full = a.stride * (a.out - 1) + out_pad[i] + a.extent();
      if (!out_shape.empty() || same) {
        // Padding is derived from the requested size (ONNX: SAME_UPPER puts the odd one last).
        out = !out_shape.empty() ? out_shape[i] : a.out * a.stride;
        const int64_t total = full - out;
        a.pad_begin = auto_pad == "SAME_UPPER" ? floor_div2(total) : total - floor_div2(total);
      } else {
        a.pad_begin = auto_pad == "VALID" ? 0 : pads[i];
        out = full - a.pad_begin - (auto_pad == "VALID" ? 0 : pads[i + nsp]);
      }
      if (out <= 0)
        invalid_input(str("output spatial dim ", i, " would be ", out)).node(n.name).raise();
    }
    a.in = out;
    a.pad_end = 0;  // unused: the output size is fixed above
    g.out_shape.push_back(out);
  }
  return g;
}

std::vector<TypeInfo> infer_deconv(const Node& n) {
  window_input_spatial(n, 0);
  expect_float(n, 1);
  const Value& x = in(n, 0);
  const Value& w = in(n, 1);
  if (w.dtype != x.dtype)
    invalid_input(str("weights W are ", dtype_name(w.dtype), " but X is ", dtype_name(x.dtype)))
        .node(n.name)
        .raise();
  const Value* b = n.input(2);
  DeconvGeom g = deconv_geom(n, x.shape, w.shape, b ? &b->shape : nullptr);
  return {{x.dtype, g.out_shape}};
}

std::vector<Tensor> deconv_forward(const Node& n, const std::vector<Tensor>& in) {
  const Tensor X = as_f32(in[0]), W = as_f32(in[1]);
  const bool has_b = in.size() > 2 && !in[2].empty();
  const Tensor B = has_b ? as_f32(in[2]) : Tensor();
  DeconvGeom g = deconv_geom(n, X.shape(), W.shape(), has_b ? &B.shape() : nullptr);
  Tensor Y(DType::f32, g.out_shape);
  const Plane p = to_plane(g.axes);
  const int64_t HW = p.h.out * p.w.out, OHW = p.h.in * p.w.in, Kc = g.Mg * p.h.k * p.w.k;
  const int64_t rows = im2col_blocking(1, Kc, p).rows, W_ = p.w.out;  // chunks of X's rows
  std::vector<float> col(static_cast<size_t>(Kc * rows * W_));
  const float* x = X.data<float>();
  const float* w = W.data<float>();
  float* y = Y.data<float>();
  for (int64_t b = 0; b < g.N; ++b) {
    for (int64_t grp = 0; grp < g.G; ++grp) {
      const float* xg = x + (b * g.C + grp * g.Cg) * HW;
      for (int64_t h0 = 0; h0 < p.h.out; h0 += rows) {
        // col [Mg*KH*KW, rows*W] = W_g^T * X_g(rows) where W_g is [Cg, Mg*KH*KW].
        const int64_t h1 = std::min(p.h.out, h0 + rows), np = (h1 - h0) * W_;
        sgemm(true, false, Kc, np, g.Cg, 1.f, w + grp * g.Cg * Kc, Kc, xg + h0 * W_, HW, 0.f,
              col.data(), np);
        col2im_add(col.data(), g.Mg, p, y + (b * g.M + grp * g.Mg) * OHW, h0, h1);
      }
    }
    if (has_b) {
      const float* bias = B.data<float>();
      for (int64_t m = 0; m < g.M; ++m) {
        float* row = y + (b * g.M + m) * OHW;
        for (int64_t i = 0; i < OHW; ++i) row[i] += bias[m];
      }
    }
  }
  return {from_f32(Y, in[0].dtype())};
}

// The adjoint of the forward: with col = im2col(dY) over the same plane (the equivalent conv maps
// the output onto X), dX_g = W_g col, dW_g += X_g col^T and dB = sum of dY per channel.
std::vector<Tensor> deconv_backward(const Node& n, const std::vector<Tensor>& in,
                                    const std::vector<Tensor>&, const std::vector<Tensor>& gout) {
  const Tensor X = as_f32(in[0]), W = as_f32(in[1]), GY = as_f32(gout[0]);
  const bool has_b = in.size() > 2 && !in[2].empty();
  const Shape bshape = has_b ? in[2].shape() : Shape{};
  DeconvGeom g = deconv_geom(n, X.shape(), W.shape(), has_b ? &bshape : nullptr);
  if (GY.shape() != g.out_shape)
    internal_error(str("ConvTranspose backward: dY has shape ", shape_str(GY.shape()),
                       ", expected ", shape_str(g.out_shape)))
        .node(n.name)
        .raise();
  const Plane p = to_plane(g.axes);
  const int64_t HW = p.h.out * p.w.out, OHW = p.h.in * p.w.in, Kc = g.Mg * p.h.k * p.w.k;
  const int64_t rows = im2col_blocking(1, Kc, p).rows, W_ = p.w.out;
  std::vector<float> col(static_cast<size_t>(Kc * rows * W_));
  Tensor GX(DType::f32, X.shape()), GW(DType::f32, W.shape());
  const float* x = X.data<float>();
  const float* w = W.data<float>();
  const float* gy = GY.data<float>();
  float* gx = GX.data<float>();
  float* gw = GW.data<float>();
  for (int64_t b = 0; b < g.N; ++b)
    for (int64_t grp = 0; grp < g.G; ++grp) {
      const int64_t xoff = (b * g.C + grp * g.Cg) * HW;
      const float* gyg = gy + (b * g.M + grp * g.Mg) * OHW;
      for (int64_t h0 = 0; h0 < p.h.out; h0 += rows) {
        const int64_t h1 = std::min(p.h.out, h0 + rows), np = (h1 - h0) * W_;
        im2col(gyg, g.Mg, p, col.data(), h0, h1);
        // dX_g(rows) [Cg, np] = W_g [Cg, Kc] * col [Kc, np]
        sgemm(false, false, g.Cg, np, Kc, 1.f, w + grp * g.Cg * Kc, Kc, col.data(), np, 0.f,
              gx + xoff + h0 * W_, HW);
        // dW_g [Cg, Kc] += X_g(rows) [Cg, np] * col^T [np, Kc]
        sgemm(false, true, g.Cg, Kc, np, 1.f, x + xoff + h0 * W_, HW, col.data(), np, 1.f,
              gw + grp * g.Cg * Kc, Kc);
      }
    }
  std::vector<Tensor> grads{from_f32(GX, in[0].dtype()), from_f32(GW, in[1].dtype())};
  if (in.size() > 2)
    grads.push_back(has_b ? channel_bias_grad(gy, g.N, g.M, OHW, bshape, in[2].dtype()) : Tensor());
  return grads;
}

}  // namespace

OpDef def_ConvTranspose() {
  OpDef d;
  d.doc = "1-D/2-D transposed convolution (groups, dilations, strides, pads, output_padding/shape)";
  d.min_inputs = 2, d.max_inputs = 3;
  d.attrs = {attr_string("auto_pad", "NOTSET"),
             attr_ints_opt("dilations"),
             attr_int("group", 1),
             attr_ints_opt("kernel_shape"),
             attr_ints_opt("output_padding"),
             attr_ints_opt("output_shape"),
             attr_ints_opt("pads"),
             attr_ints_opt("strides")};
  d.infer = infer_deconv;
  d.check_attrs = check_window_attrs;
  d.forward = deconv_forward;
  d.backward = deconv_backward;
  d.quant = QuantRule::kFloatOnly;
  d.flops = [](const Node& n) -> int64_t {
    const Value* x = n.input(0);
    const Value* w = n.input(1);
    if (!x || !w || !x->has_type || !w->has_type) return 0;
    // Every input element meets (M / group) * prod(kernel) weights = prod(W.shape[1:]).
    return known_numel(x->shape) * known_numel(Shape(w->shape.begin() + 1, w->shape.end()));
  };
  d.onnx.op_type = "ConvTranspose", d.onnx.min_opset = 1, d.onnx.max_opset = 18;
  d.unsupported_reason = [](const Node& n) -> std::string {
    const int r = window_spatial_rank(n, 0, 1);
    if (r > 2) return str(r, "-D ConvTranspose is not supported (mpq handles 1-D and 2-D)");
    return "";
  };
  return d;
}

}  // namespace mpq::ops
