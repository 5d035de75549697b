// Conv (ONNX Conv-1/11): 1-D and 2-D NCHW convolution with groups (incl. depthwise), strides,
// dilations, pads / auto_pad and an optional bias. The reference forward is im2col + the blocked
// GEMM per (image, group); depthwise convolutions (one input and one output channel per group)
// use a direct loop instead, where im2col would cost more than the products. 3-D is rejected.
#include <algorithm>

#include "core/limits.h"
#include "ir/ops/compute_util.h"
#include "ir/ops/gemm_kernel.h"
#include "ir/ops/op_util.h"
#include "ir/ops/window.h"

namespace mpq::ops {

namespace {

struct ConvGeom {
  int64_t N = -1, C = -1, M = -1, G = 1, Cg = -1, Mg = -1;
  std::vector<Axis> axes;
  Shape out_shape;
};

// Validates X / W / B shapes (dims may be -1 = unknown) against the attributes.
ConvGeom conv_geom(const Node& n, const Shape& x, const Shape& w, const Shape* b) {
  ConvGeom g;
  const ConvKernel ck = conv_kernel(n, x, w);
  const std::vector<int64_t>& kernel = ck.kernel;
  g.G = ck.group;
  g.N = x[0], g.C = x[1], g.M = w[0], g.Cg = w[1];
  // Checked: dims and group may come from an engine file, where any int64 is representable.
  int64_t expect_c = 0;
  if (g.C >= 0 && g.Cg >= 0 && (!checked_mul(g.Cg, g.G, &expect_c) || g.C != expect_c))
    invalid_input(str("input X has ", g.C, " channels but weights W ", shape_str(w), " with group ",
                      g.G, " expect ", g.Cg, " x ", g.G))
        .node(n.name)
        .raise();
  if (g.M >= 0 && g.M % g.G != 0)
    invalid_input(str("weights W have ", g.M, " output channels, not divisible by group ", g.G))
        .node(n.name)
        .raise();
  g.Mg = g.M < 0 ? -1 : g.M / g.G;
  if (b && (b->size() != 1 || ((*b)[0] >= 0 && g.M >= 0 && (*b)[0] != g.M)))
    invalid_input(str("bias B must have shape [", g.M, "], got ", shape_str(*b)))
        .node(n.name)
        .raise();
  g.axes = resolve_window(n, {x.begin() + 2, x.end()}, kernel, false);
  g.out_shape = window_output_shape(g.N, g.M, g.axes);
  return g;
}

std::vector<TypeInfo> infer_conv(const Node& n) {
  window_input_spatial(n, 0);
  expect_float(n, 1);
  const Value& x = in(n, 0);
  const Value& w = in(n, 1);
  if (w.dtype != x.dtype)
    invalid_input(str("weights W are ", dtype_name(w.dtype), " but X is ", dtype_name(x.dtype)))
        .node(n.name)
        .raise();
  const Value* b = n.input(2);
  if (b && b->dtype != x.dtype)
    invalid_input(str("bias B is ", dtype_name(b->dtype), " but X is ", dtype_name(x.dtype)))
        .node(n.name)
        .raise();
  ConvGeom g = conv_geom(n, x.shape, w.shape, b ? &b->shape : nullptr);
  return {{x.dtype, g.out_shape}};
}

// Depthwise plane: y[OH, OW] = sum over taps of w[kh, kw] * x[ih, iw] (padding reads as zero).
void depthwise_plane(const float* x, const float* w, const Plane& p, float* y) {
  const int64_t W = p.w.in, OW = p.w.out;
  std::fill(y, y + p.h.out * OW, 0.f);
  for (int64_t kh = 0; kh < p.h.k; ++kh) {
    int64_t hlo, hhi;
    valid_range(p.h, kh, &hlo, &hhi);
    for (int64_t kw = 0; kw < p.w.k; ++kw) {
      int64_t wlo, whi;
      valid_range(p.w, kw, &wlo, &whi);
      const float wv = w[kh * p.w.k + kw];
      for (int64_t oh = hlo; oh < hhi; ++oh) {
        const int64_t ih = oh * p.h.stride - p.h.pad_begin + kh * p.h.dil;
        const float* src = x + ih * W + (wlo * p.w.stride - p.w.pad_begin + kw * p.w.dil);
        float* dst = y + oh * OW;
        if (p.w.stride == 1)
          for (int64_t ow = wlo; ow < whi; ++ow) dst[ow] += wv * src[ow - wlo];
        else
          for (int64_t ow = wlo; ow < whi; ++ow) dst[ow] += wv * src[(ow - wlo) * p.w.stride];
      }
    }
  }
}

// True when im2col would be the identity (1x1 kernel, stride 1, no padding).
bool is_pointwise(const Plane& p) {
  auto id = [](const Axis& a) {
    return a.k == 1 && a.stride == 1 && a.pad_begin == 0 && a.pad_end == 0;
  };
  return id(p.h) && id(p.w);
}

std::vector<Tensor> conv_forward(const Node& n, const std::vector<Tensor>& in) {
  const Tensor X = as_f32(in[0]), W = as_f32(in[1]);
  const bool has_b = in.size() > 2 && !in[2].empty();
  const Tensor B = has_b ? as_f32(in[2]) : Tensor();
  ConvGeom g = conv_geom(n, X.shape(), W.shape(), has_b ? &B.shape() : nullptr);
  Tensor Y(DType::f32, g.out_shape);
  const Plane p = to_plane(g.axes);
  const int64_t HW = p.h.in * p.w.in, P = p.h.out * p.w.out, Kc = g.Cg * p.h.k * p.w.k;
  const int64_t OW = p.w.out;
  const bool depthwise = g.Cg == 1 && g.Mg == 1;
  const bool pointwise = is_pointwise(p);
  const ColBlocking bl = im2col_blocking(g.N, Kc, p);
  std::vector<float> col, ytmp;
  if (!depthwise && !(pointwise && bl.imgs == 1)) col.resize(Kc * bl.imgs * bl.rows * OW);
  if (!depthwise && bl.imgs > 1) ytmp.resize(g.Mg * bl.imgs * P);
  const float* x = X.data<float>();
  const float* w = W.data<float>();
  float* y = Y.data<float>();
  for (int64_t n0 = 0; n0 < g.N; n0 += bl.imgs) {
    const int64_t nb = std::min(bl.imgs, g.N - n0);
    for (int64_t grp = 0; grp < g.G; ++grp) {
      const float* wg = w + grp * g.Mg * Kc;
      auto xg = [&](int64_t i) { return x + ((n0 + i) * g.C + grp * g.Cg) * HW; };
      auto yg = [&](int64_t i) { return y + ((n0 + i) * g.M + grp * g.Mg) * P; };
      if (depthwise) {
        for (int64_t i = 0; i < nb; ++i) depthwise_plane(xg(i), wg, p, yg(i));
        continue;
      }
      for (int64_t oh0 = 0; oh0 < p.h.out; oh0 += bl.rows) {
        const int64_t oh1 = std::min(p.h.out, oh0 + bl.rows), np = (oh1 - oh0) * OW, ld = nb * np;
        if (nb == 1) {                           // Y(rows) = W_g * col(rows), written in place
          const float* cols = xg(0) + oh0 * OW;  // pointwise: col is X itself
          int64_t ldc = P;
          if (!pointwise) im2col(xg(0), g.Cg, p, col.data(), oh0, oh1), cols = col.data(), ldc = np;
          sgemm(false, false, g.Mg, np, Kc, 1.f, wg, Kc, cols, ldc, 0.f, yg(0) + oh0 * OW, P);
          continue;
        }
        // nb whole images side by side: [Mg, nb * P] = W_g * [col_0 | col_1 | ...], then scattered.
        for (int64_t i = 0; i < nb; ++i) im2col(xg(i), g.Cg, p, col.data() + i * np, oh0, oh1, ld);
        sgemm(false, false, g.Mg, ld, Kc, 1.f, wg, Kc, col.data(), ld, 0.f, ytmp.data(), ld);
        for (int64_t m = 0; m < g.Mg; ++m)
          for (int64_t i = 0; i < nb; ++i)
            std::copy_n(ytmp.data() + m * ld + i * np, np, yg(i) + m * P + oh0 * OW);
      }
    }
  }
  if (has_b) {
    const float* bias = B.data<float>();
    for (int64_t b = 0; b < g.N; ++b)
      for (int64_t m = 0; m < g.M; ++m) {
        float* row = y + (b * g.M + m) * P;
        for (int64_t i = 0; i < P; ++i) row[i] += bias[m];
      }
  }
  return {from_f32(Y, in[0].dtype())};
}

// dX = col2im(W^T dY), dW = dY col^T (summed over the batch), dB = sum of dY per channel.
std::vector<Tensor> conv_backward(const Node& n, const std::vector<Tensor>& in,
                                  const std::vector<Tensor>&, const std::vector<Tensor>& gout) {
  const Tensor X = as_f32(in[0]), W = as_f32(in[1]), GY = as_f32(gout[0]);
  const bool has_b = in.size() > 2 && !in[2].empty();
  const Shape bshape = has_b ? in[2].shape() : Shape{};
  ConvGeom g = conv_geom(n, X.shape(), W.shape(), has_b ? &bshape : nullptr);
  if (GY.shape() != g.out_shape)
    internal_error(str("Conv backward: dY has shape ", shape_str(GY.shape()), ", expected ",
                       shape_str(g.out_shape)))
        .node(n.name)
        .raise();
  const Plane p = to_plane(g.axes);
  const int64_t HW = p.h.in * p.w.in, P = p.h.out * p.w.out, Kc = g.Cg * p.h.k * p.w.k;
  const int64_t OW = p.w.out;
  const bool pointwise = is_pointwise(p);
  const ColBlocking bl = im2col_blocking(g.N, Kc, p);
  Tensor GX(DType::f32, X.shape()), GW(DType::f32, W.shape());
  std::vector<float> col, gcol, gtmp;
  if (!(pointwise && bl.imgs == 1)) {
    col.resize(Kc * bl.imgs * bl.rows * OW);
    gcol.resize(col.size());
  }
  if (bl.imgs > 1) gtmp.resize(g.Mg * bl.imgs * P);
  const float* x = X.data<float>();
  const float* w = W.data<float>();
  const float* gy = GY.data<float>();
  float* gx = GX.data<float>();
  float* gw = GW.data<float>();
  for (int64_t n0 = 0; n0 < g.N; n0 += bl.imgs) {
    const int64_t nb = std::min(bl.imgs, g.N - n0);
    for (int64_t grp = 0; grp < g.G; ++grp) {
      const float* wg = w + grp * g.Mg * Kc;
      float* gwg = gw + grp * g.Mg * Kc;
      auto xg = [&](int64_t i) { return x + ((n0 + i) * g.C + grp * g.Cg) * HW; };
      auto gxg = [&](int64_t i) { return gx + ((n0 + i) * g.C + grp * g.Cg) * HW; };
      auto gyg = [&](int64_t i) { return gy + ((n0 + i) * g.M + grp * g.Mg) * P; };
      for (int64_t oh0 = 0; oh0 < p.h.out; oh0 += bl.rows) {
        const int64_t oh1 = std::min(p.h.out, oh0 + bl.rows), np = (oh1 - oh0) * OW, ld = nb * np;
        if (pointwise && nb == 1) {  // col is X itself
          sgemm(false, true, g.Mg, Kc, np, 1.f, gyg(0) + oh0 * OW, P, xg(0) + oh0 * OW, P, 1.f, gwg,
                Kc);
          sgemm(true, false, Kc, np, g.Mg, 1.f, wg, Kc, gyg(0) + oh0 * OW, P, 0.f,
                gxg(0) + oh0 * OW, P);
          continue;
        }
        for (int64_t i = 0; i < nb; ++i) im2col(xg(i), g.Cg, p, col.data() + i * np, oh0, oh1, ld);
        // dY of these columns as one [Mg, ld] matrix (gathered when several images).
        const float* gyb = gyg(0) + oh0 * OW;
        int64_t ldg = P;
        if (nb > 1) {
          for (int64_t m = 0; m < g.Mg; ++m)
            for (int64_t i = 0; i < nb; ++i)
              std::copy_n(gyg(i) + m * P + oh0 * OW, np, gtmp.data() + m * ld + i * np);
          gyb = gtmp.data(), ldg = ld;
        }
        // dW_g [Mg, Kc] += dY [Mg, ld] * col^T [ld, Kc]
        sgemm(false, true, g.Mg, Kc, ld, 1.f, gyb, ldg, col.data(), ld, 1.f, gwg, Kc);
        // dcol [Kc, ld] = W_g^T [Kc, Mg] * dY [Mg, ld], scattered back into dX
        sgemm(true, false, Kc, ld, g.Mg, 1.f, wg, Kc, gyb, ldg, 0.f, gcol.data(), ld);
        for (int64_t i = 0; i < nb; ++i)
          col2im_add(gcol.data() + i * np, g.Cg, p, gxg(i), oh0, oh1, ld);
      }
    }
  }
  std::vector<Tensor> grads{from_f32(GX, in[0].dtype()), from_f32(GW, in[1].dtype())};
  if (in.size() > 2)
    grads.push_back(has_b ? channel_bias_grad(gy, g.N, g.M, P, in[2].shape(), in[2].dtype())
                          : Tensor());
  return grads;
}

}  // namespace

OpDef def_Conv() {
  OpDef d;
  d.doc = "1-D/2-D convolution (groups, depthwise, dilations, strides, pads, auto_pad, bias)";
  d.min_inputs = 2, d.max_inputs = 3;
  d.attrs = {
      attr_string("auto_pad", "NOTSET"), attr_ints_opt("dilations"), attr_int("group", 1),
      attr_ints_opt("kernel_shape"),     attr_ints_opt("pads"),      attr_ints_opt("strides")};
  d.infer = infer_conv;
  d.check_attrs = check_window_attrs;
  d.forward = conv_forward;
  d.backward = conv_backward;
  d.quant = QuantRule::kRequant;
  d.weighted = true;
  d.weight_channel_axis = [](const Node&) { return 0; };
  d.flops = [](const Node& n) -> int64_t {
    const Value* w = n.input(1);
    const Value* y = n.outputs.empty() ? nullptr : n.outputs[0];
    if (!w || !y || !w->has_type || !y->has_type) return 0;
    // Each output element takes (C / group) * prod(kernel) multiply-accumulates =
    // prod(W.shape[1:]).
    return known_numel(y->shape) * known_numel(Shape(w->shape.begin() + 1, w->shape.end()));
  };
  d.onnx.op_type = "Conv", d.onnx.min_opset = 1, d.onnx.max_opset = 18;
  d.unsupported_reason = [](const Node& n) -> std::string {
    const int r = window_spatial_rank(n, 0, 1);
    if (r > 2) return str(r, "-D Conv is not supported (mpq handles 1-D and 2-D convolutions)");
    return "";
  };
  return d;
}

}  // namespace mpq::ops
