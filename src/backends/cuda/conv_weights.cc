#include "backends/cuda/conv_weights.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"
#include "core/quant_math.h"

namespace mpq::cuda {

namespace {

std::vector<int64_t> ints_or(const Node& n, const char* name, size_t count, int64_t def) {
  if (n.attrs.has(name)) {
    const auto& v = n.attrs.ints(name);
    if (!v.empty()) return v;
  }
  return std::vector<int64_t>(count, def);
}

}  // namespace

bool is_conv_op(const Node& n) {
  return n.op == OpKind::Conv || n.op == OpKind::FusedConv;
}

ConvGeometry conv_geometry(const Node& n, const TensorSpec& x, const TensorSpec& w,
                           const TensorSpec& y) {
  ConvGeometry g;
  if (is_conv_op(n)) {
    g.C = x.shape[1], g.H = x.shape[2], g.W = x.shape[3];
    g.OC = y.shape[1], g.OH = y.shape[2], g.OW = y.shape[3];
    g.KH = w.shape[2], g.KW = w.shape[3];
    auto s = ints_or(n, "strides", 2, 1), d = ints_or(n, "dilations", 2, 1),
         p = ints_or(n, "pads", 4, 0);
    g.SH = s[0], g.SW = s[1], g.DH = d[0], g.DW = d[1], g.PH = p[0], g.PW = p[1];
    g.groups = n.attrs.i("group", 1);
    return g;
  }
  // A dense layer is a 1x1 conv over its rows: A [rows, K] row-major is NHWC [N, K, rows/N, 1]
  // (A of rank > 2, Linear on [N, L, C], is its [rows, K] matrix). N is the run's batch when A
  // scales with it (in whichever dim: attention's [seq * batch, C] too), else 1.
  g.conv = false;
  g.C = x.shape.back();
  g.OC = y.shape.back();
  const int64_t rows = shape_numel(x.batched ? x.shape_at(1) : x.shape) / g.C;
  g.H = g.OH = rows;
  if (n.op == OpKind::MatMul) return g;
  g.trans_b = n.attrs.i("transB", 0) != 0;
  g.gemm_alpha = n.attrs.f("alpha", 1.f);
  g.gemm_beta = n.attrs.f("beta", 1.f);
  return g;
}

void set_conv_shapes(ConvParams& p, const ConvGeometry& g, int64_t n, int kind) {
  p.N = static_cast<int32_t>(n);
  p.C = static_cast<int32_t>(g.C), p.H = static_cast<int32_t>(g.H), p.W = static_cast<int32_t>(g.W);
  p.OC = static_cast<int32_t>(g.OC), p.OH = static_cast<int32_t>(g.OH),
  p.OW = static_cast<int32_t>(g.OW);
  p.KH = static_cast<int32_t>(g.KH), p.KW = static_cast<int32_t>(g.KW);
  p.SH = static_cast<int32_t>(g.SH), p.SW = static_cast<int32_t>(g.SW);
  p.PH = static_cast<int32_t>(g.PH), p.PW = static_cast<int32_t>(g.PW);
  p.DH = static_cast<int32_t>(g.DH), p.DW = static_cast<int32_t>(g.DW);
  p.groups = static_cast<int32_t>(g.groups);
  if (g.groups < 1 || g.C % g.groups || g.OC % g.groups)
    invalid_input(str("group ", g.groups, " does not divide the channels")).raise();
  p.Cg = p.C / p.groups, p.OCg = p.OC / p.groups;
  p.K = p.KH * p.KW * p.Cg;
  const int64_t big = int64_t{1} << 31;
  if (static_cast<int64_t>(p.N) * p.H * p.W * p.C >= big ||
      static_cast<int64_t>(p.N) * p.OH * p.OW * p.OC >= big)
    unsupported("tensor too large for 32-bit indexing in the CUDA conv kernels").raise();
  p.Kpad = static_cast<int32_t>(round_up(p.K, conv_k_multiple(kind)));
  p.OCpad = static_cast<int32_t>(round_up(p.OCg, kOcMultiple));
}

std::vector<float> weight_rows(const TensorSpec& w, const ConvParams& p, const ConvGeometry& g) {
  const Tensor wf = w.constant->dtype() == DType::f32 ? *w.constant : w.constant->cast(DType::f32);
  const float* wd = wf.data<float>();
  std::vector<float> wk(static_cast<size_t>(p.OC) * p.K);
  for (int64_t oc = 0; oc < p.OC; ++oc)
    for (int64_t kh = 0; kh < p.KH; ++kh)
      for (int64_t kw = 0; kw < p.KW; ++kw)
        for (int64_t c = 0; c < p.Cg; ++c) {
          float v;
          if (g.conv)
            v = wd[((oc * p.Cg + c) * p.KH + kh) * p.KW + kw];
          else if (g.trans_b)
            v = wd[oc * p.Cg + c];
          else
            v = wd[c * p.OC + oc];
          wk[oc * p.K + (kh * p.KW + kw) * p.Cg + c] = v * g.gemm_alpha;
        }
  return wk;
}

std::vector<float> conv_bias(const KernelSetup& s, const ConvParams& p, const ConvGeometry& g) {
  std::vector<float> bias(p.OC, 0.f);
  if (s.inputs.size() > 2 && s.inputs[2]) {
    const std::vector<float> b = s.inputs[2]->constant->to_floats();
    if (b.size() == 1)
      std::fill(bias.begin(), bias.end(), b[0]);
    else if (static_cast<int64_t>(b.size()) == p.OC)
      bias = b;
    else
      unsupported(str("bias of ", b.size(), " values for ", p.OC, " channels")).raise();
    for (float& v : bias) v *= g.conv ? 1.f : g.gemm_beta;
  }
  return bias;
}

QuantizedWeights quantize_weights(const std::vector<float>& rows, const TensorSpec& w,
                                  const ConvParams& p, const ConvGeometry& g) {
  QuantizedWeights qw;
  qw.packed.assign(static_cast<size_t>(p.groups) * p.OCpad * p.Kpad, 0);
  qw.scale.resize(p.OC);
  qw.sum.resize(p.OC);
  const quant::QRange r =
      w.quant ? quant::QRange{-128, 127} : quant::quant_range(8, quant::QuantDtype::kInt);
  for (int64_t oc = 0; oc < p.OC; ++oc) {
    const float* row = &rows[oc * p.K];
    float amax = 0.f;
    for (int64_t k = 0; k < p.K; ++k) amax = std::max(amax, std::fabs(row[k]));
    quant::ScaleZeroPoint sz =
        quant::compute_scale_zero_point(-amax, amax, 8, quant::QuantDtype::kInt, true);
    if (w.quant) sz.scale = g.gemm_alpha * w.quant->scale[w.quant->scale.size() == 1 ? 0 : oc];
    const int64_t gi = oc / p.OCg, o = oc % p.OCg;
    int8_t* dst = &qw.packed[(gi * p.OCpad + o) * p.Kpad];
    int64_t wsum = 0;
    for (int64_t k = 0; k < p.K; ++k) {
      dst[k] = static_cast<int8_t>(quant::quantize_value(row[k], sz.scale, 0, r));
      wsum += dst[k];
    }
    qw.scale[oc] = sz.scale;
    qw.sum[oc] = wsum;
  }
  return qw;
}

Int8Epilogue int8_epilogue(const QuantizedWeights& qw, const std::vector<float>& bias,
                           const ElemDesc& x, float s_y) {
  const size_t oc_count = qw.scale.size();
  Int8Epilogue e;
  e.alpha.resize(oc_count);
  e.beta.resize(oc_count);
  e.zcomp.assign(oc_count, 0);
  for (size_t oc = 0; oc < oc_count; ++oc) {
    // The CPU engine's expressions (backends/cpu/fused_common.cc), evaluated the same way.
    e.alpha[oc] = x.scale * qw.scale[oc] / s_y;
    e.beta[oc] = bias[oc] / (x.scale * qw.scale[oc]);
    const int64_t zc = static_cast<int64_t>(x.zp) * qw.sum[oc];
    if (zc != static_cast<int32_t>(zc))
      unsupported("input zero point times the weight sum exceeds 32 bits").raise();
    e.zcomp[oc] = static_cast<int32_t>(zc);
  }
  return e;
}

std::vector<float> pack_weights(const std::vector<float>& rows, const ConvParams& p) {
  std::vector<float> packed(static_cast<size_t>(p.groups) * p.OCpad * p.Kpad, 0.f);
  for (int64_t oc = 0; oc < p.OC; ++oc) {
    const int64_t gi = oc / p.OCg, o = oc % p.OCg;
    std::copy(&rows[oc * p.K], &rows[oc * p.K] + p.K, &packed[(gi * p.OCpad + o) * p.Kpad]);
  }
  return packed;
}

bool depthwise_layer(const ConvParams& p) {
  return p.Cg == 1 && p.OCg == 1 && p.groups > 1;
}

std::vector<int32_t> gather_table(const ConvParams& p) {
  std::vector<int32_t> tab(static_cast<size_t>(p.Kpad) * 4, 0);
  for (int64_t k = 0; k < p.K; ++k) {
    const int64_t tap = k / p.Cg, c = k % p.Cg;
    tab[4 * k] = static_cast<int32_t>((tap / p.KW) * p.DH);
    tab[4 * k + 1] = static_cast<int32_t>((tap % p.KW) * p.DW);
    tab[4 * k + 2] = static_cast<int32_t>(c);
    tab[4 * k + 3] = 1;
  }
  return tab;
}

}  // namespace mpq::cuda
