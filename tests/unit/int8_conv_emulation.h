// The int8 convolution/GEMM cases shared by the CUDA kernel tests (cuda_kernels_test.cc) and
// the CPU engine's arithmetic test (cpu_int8_arith_test.cc): one FusedConv/FusedGemm node with
// random weights, random u8/s8 inputs and residuals, and two emulations of the result: the
// real-valued one and, bit for bit, oneDNN 2.x's fp32 operation order that both engines follow
// (so that the GPU and CPU int8 engines agree on every byte).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/quant_math.h"
#include "ir/graph.h"
#include "ir/op_def.h"
#include "ir/post_op.h"

namespace mpq::int8emu {

inline std::mt19937& rng() {
  static std::mt19937 r(1234);
  return r;
}

inline Tensor random_floats(const Shape& s, float lo, float hi) {
  Tensor t(DType::f32, s);
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng());
  return t;
}

inline QuantParams qp(float scale, int zp, bool is_signed) {
  QuantParams q;
  q.scale = {scale};
  q.zero_point = {zp};
  q.is_signed = is_signed;
  return q;
}

inline TensorSpec spec(const std::string& name, DType dt, Shape shape, Layout l,
                       std::optional<QuantParams> q = std::nullopt) {
  TensorSpec s;
  s.name = name;
  s.dtype = dt;
  s.shape = std::move(shape);
  s.layout = l;
  s.batched = true;
  s.quant = std::move(q);
  return s;
}

inline TensorSpec const_spec(const Value* v) {
  TensorSpec s;
  s.name = v->name;
  s.dtype = v->dtype;
  s.shape = v->shape;
  s.constant = *v->constant;
  return s;
}

struct ConvCase {
  int n, c, h, w, oc, k, stride, pad, dil, groups;
  bool bias;
  std::vector<std::string> ops;  // post-ops; "Add" uses a residual input
  bool gemm = false;
  bool trans_b = true;
};

// Graph with one FusedConv/FusedGemm node for `cc`; the weights are random constants.
inline std::unique_ptr<Graph> conv_graph(const ConvCase& cc) {
  auto g = std::make_unique<Graph>();
  Value* x = cc.gemm ? g->add_input("x", DType::f32, {cc.n, cc.c})
                     : g->add_input("x", DType::f32, {cc.n, cc.c, cc.h, cc.w});
  const Shape ws = cc.gemm ? (cc.trans_b ? Shape{cc.oc, cc.c} : Shape{cc.c, cc.oc})
                           : Shape{cc.oc, cc.c / cc.groups, cc.k, cc.k};
  Value* w = g->add_constant("w", random_floats(ws, -0.5f, 0.5f));
  Value* b = cc.bias ? g->add_constant("b", random_floats({cc.oc}, -1.f, 1.f)) : nullptr;
  Attributes at;
  if (!cc.gemm) {
    at.set("kernel_shape", std::vector<int64_t>{cc.k, cc.k});
    at.set("strides", std::vector<int64_t>{cc.stride, cc.stride});
    at.set("pads", std::vector<int64_t>{cc.pad, cc.pad, cc.pad, cc.pad});
    at.set("dilations", std::vector<int64_t>{cc.dil, cc.dil});
    at.set("group", static_cast<int64_t>(cc.groups));
  } else {
    at.set("transB", static_cast<int64_t>(cc.trans_b ? 1 : 0));
  }
  std::vector<Value*> ins{x, w, b};
  std::vector<PostOp> post;
  for (const auto& o : cc.ops)
    post.push_back({find_op_def(o)->kind, o == "LeakyRelu" ? 0.1f : 0.f, o == "Clip" ? 6.f : 0.f});
  const int oh = (cc.h + 2 * cc.pad - cc.dil * (cc.k - 1) - 1) / cc.stride + 1;
  const int ow = (cc.w + 2 * cc.pad - cc.dil * (cc.k - 1) - 1) / cc.stride + 1;
  for (const auto& o : cc.ops)
    if (o == "Add")
      ins.push_back(cc.gemm ? g->add_input("r", DType::f32, {cc.n, cc.oc})
                            : g->add_input("r", DType::f32, {cc.n, cc.oc, oh, ow}));
  Node* node =
      g->add_node(find_op_def(cc.gemm ? "FusedGemm" : "FusedConv")->kind, "conv", ins, 1, at);
  set_post_ops(*node, post);
  apply_attr_schema(*node);
  g->add_output(node->outputs[0]);
  infer_shapes(*g);
  return g;
}

// NCHW logical index -> NHWC offset.
inline int64_t nhwc(const Shape& s, int64_t n, int64_t c, int64_t h, int64_t w) {
  return ((n * s[2] + h) * s[3] + w) * s[1] + c;
}

// What the int8 kernels compute, on the CPU (output in NHWC / plain order): the real-valued
// result (returned), and in `exact` the bytes/values of oneDNN 2.x's fp32 operation order that the
// CPU engine uses (Epilogue::int_acc): (acc + bias / (s_x s_w)) * (s_x s_w / s_y), the sum
// post-op fma((r - z_r), s_r / s_y, v) into int8 outputs (v + s_r (r - z_r) into float ones),
// activations in output units, round_half_even(saturate(v + z_y)). `yq` is null for float outputs.
inline std::vector<float> emulate_int8(const ConvCase& cc, const Graph& g,
                                       const std::vector<uint8_t>& xq, const QuantParams& xqp,
                                       const std::vector<float>& resid, const QuantParams* yq,
                                       DType out_dt, const QuantParams& rq,
                                       const std::vector<uint8_t>& rbytes,
                                       std::vector<float>* exact) {
  const Node& n = *g.nodes()[0];
  const Tensor& wt = *n.inputs[1]->constant;
  const Shape xs = n.inputs[0]->shape, ys = n.outputs[0]->shape;
  const int64_t OC = cc.oc, G = cc.groups, Cg = cc.c / G, OCg = OC / G;
  const int64_t K = cc.gemm ? cc.c : Cg * cc.k * cc.k;
  const int64_t OH = cc.gemm ? 1 : ys[2], OW = cc.gemm ? 1 : ys[3];
  std::vector<int32_t> wq(OC * K);
  std::vector<float> ws(OC);
  const quant::QRange r = quant::quant_range(8, quant::QuantDtype::kInt);
  for (int64_t o = 0; o < OC; ++o) {
    std::vector<float> row(K);
    for (int64_t k = 0; k < K; ++k)
      row[k] = cc.gemm ? (cc.trans_b ? wt.data<float>()[o * K + k] : wt.data<float>()[k * OC + o])
                       : wt.data<float>()[o * K + k];
    float amax = 0;
    for (float v : row) amax = std::max(amax, std::fabs(v));
    ws[o] = quant::compute_scale_zero_point(-amax, amax, 8, quant::QuantDtype::kInt, true).scale;
    for (int64_t k = 0; k < K; ++k)
      wq[o * K + k] = static_cast<int32_t>(quant::quantize_value(row[k], ws[o], 0, r));
  }
  const bool s8 = xqp.is_signed;
  const int zx = xqp.zero_point[0];
  auto xval = [&](int64_t off) {
    return s8 ? static_cast<int32_t>(static_cast<int8_t>(xq[off])) : static_cast<int32_t>(xq[off]);
  };
  std::vector<float> bias(OC, 0.f);
  if (cc.bias) bias = n.inputs[2]->constant->to_floats();
  std::vector<float> out(cc.n * OH * OW * OC);
  for (int64_t b = 0; b < cc.n; ++b)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t o = 0; o < OC; ++o) {
          const int64_t gi = o / OCg;
          int64_t acc = 0;
          if (cc.gemm) {
            for (int64_t c = 0; c < cc.c; ++c)
              acc += static_cast<int64_t>(xval(b * cc.c + c) - zx) * wq[o * K + c];
          } else {
            for (int64_t c = 0; c < Cg; ++c)
              for (int64_t kh = 0; kh < cc.k; ++kh)
                for (int64_t kw = 0; kw < cc.k; ++kw) {
                  const int64_t ih = oh * cc.stride - cc.pad + kh * cc.dil,
                                iw = ow * cc.stride - cc.pad + kw * cc.dil;
                  if (ih < 0 || ih >= xs[2] || iw < 0 || iw >= xs[3]) continue;
                  acc += static_cast<int64_t>(xval(nhwc(xs, b, gi * Cg + c, ih, iw)) - zx) *
                         wq[o * K + (c * cc.k + kh) * cc.k + kw];
                }
          }
          const int64_t m = (b * OH + oh) * OW + ow;
          float v = xqp.scale[0] * ws[o] * static_cast<float>(acc) + bias[o];
          for (const auto& op : cc.ops) {
            if (op == "Relu") v = std::max(v, 0.f);
            if (op == "Clip") v = std::min(std::max(v, 0.f), 6.f);
            if (op == "LeakyRelu") v = v >= 0 ? v : 0.1f * v;
            if (op == "Add") v += resid[m * OC + o];
          }
          out[m * OC + o] = v;
          // oneDNN's order, one rounding per step (x86-64 without -mfma: no contraction).
          const float s_y = yq ? yq->scale[0] : 1.f;
          const float sxw = xqp.scale[0] * ws[o];
          const float oscale = sxw / s_y, bacc = bias[o] / sxw;
          float t = static_cast<float>(acc) + bacc;
          t = t * oscale;
          for (const auto& op : cc.ops) {
            if (op == "Relu") t = std::max(t, 0.f);
            if (op == "Clip") t = std::min(std::max(t, 0.f / s_y), 6.f / s_y);
            if (op == "LeakyRelu") t = t > 0.f ? t : t * 0.1f;
            if (op == "Add") {
              const float rv =
                  static_cast<float>(rbytes[m * OC + o]) - static_cast<float>(rq.zero_point[0]);
              if (yq) {
                t = std::fma(rv, rq.scale[0] / s_y, t);
              } else {
                const float deq = rv * rq.scale[0];
                t = t + deq;
              }
            }
          }
          if (yq) {
            const bool s8o = out_dt == DType::i8;
            t = t + static_cast<float>(yq->zero_point[0]);
            t = std::min(std::max(t, s8o ? -128.f : 0.f), s8o ? 127.f : 255.f);
            t = std::nearbyint(t);
          } else if (out_dt == DType::f16) {
            t = Tensor::from<float>({1}, {t}).cast(DType::f16).cast(DType::f32).data<float>()[0];
          }
          (*exact)[m * OC + o] = t;
        }
  return out;
}

// One int8 case ready to run: specs, host inputs (x, weights, bias, residual), expected values.
struct Int8ConvSetup {
  std::unique_ptr<Graph> g;
  std::vector<TensorSpec> ins, outs;
  std::vector<Tensor> host;
  std::vector<float> want, exact;
  QuantParams yq;
  DType out_dt = DType::f32;
  bool q_out = false;
};

// u8 inputs have zero point x_zp (s8 inputs 0).
inline Int8ConvSetup make_int8_setup(const ConvCase& cc, bool x_signed, DType out_dt,
                                     int x_zp = 17) {
  Int8ConvSetup s;
  s.g = conv_graph(cc);
  const Node& n = *s.g->nodes()[0];
  const Shape xs = n.inputs[0]->shape, ys = n.outputs[0]->shape;
  const Layout lay = cc.gemm ? Layout::kPlain : Layout::kNHWC;
  const QuantParams xq = x_signed ? qp(0.05f, 0, true) : qp(0.03f, x_zp, false);
  s.yq = out_dt == DType::i8 ? qp(0.2f, -3, true) : qp(0.15f, 40, false);
  const QuantParams rq = qp(0.1f, 9, false);
  s.ins = {spec("x", x_signed ? DType::i8 : DType::u8, xs, lay, xq), const_spec(n.inputs[1]),
           cc.bias ? const_spec(n.inputs[2]) : TensorSpec{}};
  s.host = {Tensor(s.ins[0].dtype, xs), Tensor(), Tensor()};
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> xb(shape_numel(xs));
  for (auto& v : xb) v = static_cast<uint8_t>(byte(rng()));
  std::memcpy(s.host[0].raw(), xb.data(), xb.size());
  std::vector<float> resid;
  std::vector<uint8_t> rbytes;
  const bool has_res = std::find(cc.ops.begin(), cc.ops.end(), "Add") != cc.ops.end();
  if (has_res) {
    s.ins.push_back(spec("r", DType::u8, ys, lay, rq));
    Tensor rt(DType::u8, ys);
    resid.resize(shape_numel(ys));
    rbytes.resize(shape_numel(ys));
    for (int64_t i = 0; i < rt.numel(); ++i) {
      rt.data<uint8_t>()[i] = rbytes[i] = static_cast<uint8_t>(byte(rng()));
      resid[i] = rq.scale[0] * (rt.data<uint8_t>()[i] - rq.zero_point[0]);
    }
    s.host.push_back(rt);
  }
  s.out_dt = out_dt;
  s.q_out = out_dt == DType::u8 || out_dt == DType::i8;
  s.outs = {spec("y", out_dt, ys, lay, s.q_out ? std::optional<QuantParams>(s.yq) : std::nullopt)};
  s.exact.resize(shape_numel(ys));
  s.want = emulate_int8(cc, *s.g, xb, xq, resid, s.q_out ? &s.yq : nullptr, out_dt, rq, rbytes,
                        &s.exact);
  return s;
}

// Compares a kernel's output (the first rows of the case, any batch) with the emulations:
// exactly with oneDNN's arithmetic when `bit_exact` (float outputs: within `float_rel` of the
// largest magnitude, for an implementation whose float epilogue runs in another order), and
// within 1 LSB (float: 1e-5 relative) of the real-valued result. Returns the number of failures
// reported (at most 5).
inline int compare_int8(const Int8ConvSetup& s, const Tensor& got, bool bit_exact,
                        float float_rel = 0.f) {
  const int64_t count = got.numel();
  int bad = 0;
  float maxabs = 1e-6f;
  for (int64_t i = 0; i < count; ++i) maxabs = std::max(maxabs, std::fabs(s.want[i]));
  const Tensor got_f16 = s.out_dt == DType::f16 ? got.cast(DType::f32) : Tensor();
  for (int64_t i = 0; i < count && bad < 5; ++i) {
    const float got_v = s.q_out ? static_cast<float>(s.out_dt == DType::i8 ? got.data<int8_t>()[i]
                                                                           : got.data<uint8_t>()[i])
                        : s.out_dt == DType::f32 ? got.data<float>()[i]
                                                 : got_f16.data<float>()[i];
    const float slack = s.q_out ? 0.f : float_rel * maxabs;
    if (bit_exact && !(got_v == s.exact[i] || std::fabs(got_v - s.exact[i]) <= slack)) {
      ADD_FAILURE() << "element " << i << ": got " << got_v << ", oneDNN's arithmetic gives "
                    << s.exact[i];
      ++bad;
    }
    if (s.q_out) {
      const quant::QRange r = quant::quant_range(
          8, s.out_dt == DType::i8 ? quant::QuantDtype::kInt : quant::QuantDtype::kUint);
      const int64_t wq = quant::quantize_value(s.want[i], s.yq.scale[0], s.yq.zero_point[0], r);
      const int64_t gq = static_cast<int64_t>(got_v);
      if (std::llabs(wq - gq) > 1)
        ADD_FAILURE() << "element " << i << ": got " << gq << ", want " << wq, ++bad;
    } else {
      const float tol = (s.out_dt == DType::f32 ? 1e-5f : 2e-3f) * maxabs;
      if (!(std::fabs(got_v - s.want[i]) <= tol))
        ADD_FAILURE() << "element " << i << ": got " << got_v << ", want " << s.want[i], ++bad;
    }
  }
  return bad;
}

}  // namespace mpq::int8emu
