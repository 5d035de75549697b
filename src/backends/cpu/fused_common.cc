#include "backends/cpu/fused_common.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/limits.h"
#include "core/quant_math.h"

namespace mpq::cpu {

std::vector<float> fixed_weight_scales(const TensorSpec& w, int64_t oc, float mult) {
  if (!w.quant) return {};
  const std::vector<float>& s = w.quant->scale;
  if (s.size() != 1 && static_cast<int64_t>(s.size()) != oc)
    internal_error(
        str("weight '", w.name, "' has ", s.size(), " fixed scales for ", oc, " output channels"))
        .raise();
  std::vector<float> out(oc);
  for (int64_t o = 0; o < oc; ++o) out[o] = mult * s[s.size() == 1 ? 0 : o];
  return out;
}

namespace {

void quantize_weights_fixed(const float* w, int64_t oc, int64_t per_oc, int8_t* q, float* scales,
                            const std::vector<float>& fixed) {
  const quant::QRange full{-128, 127};
  for (int64_t o = 0; o < oc; ++o) {
    scales[o] = fixed.at(o);
    for (int64_t i = 0; i < per_oc; ++i)
      q[o * per_oc + i] =
          static_cast<int8_t>(quant::quantize_value(w[o * per_oc + i], scales[o], 0, full));
  }
}

}  // namespace

void quantize_weights_per_oc(const float* w, int64_t oc, int64_t per_oc, int8_t* q, float* scales,
                             const std::vector<float>& fixed) {
  if (!fixed.empty()) return quantize_weights_fixed(w, oc, per_oc, q, scales, fixed);
  const quant::QRange r = quant::quant_range(8, quant::QuantDtype::kInt);
  std::vector<float> amax(oc, 0.f);
  std::vector<char> nan(oc, 0);
  const bool par = oc * per_oc > 65536;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t o = 0; o < oc; ++o) {
    const float* row = w + o * per_oc;
    float m = 0.f;
    bool bad = false;
    for (int64_t i = 0; i < per_oc; ++i) {
      m = std::max(m, std::fabs(row[i]));
      bad |= row[i] != row[i];
    }
    amax[o] = m;
    nan[o] = bad;
  }
  // mpq's one scale rule (quant_math): int8 narrow symmetric, scale = amax / 127. Outside the
  // parallel region: it throws for a non-finite range.
  for (int64_t o = 0; o < oc; ++o)
    scales[o] =
        quant::compute_scale_zero_point(-amax[o], amax[o], 8, quant::QuantDtype::kInt, true).scale;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t o = 0; o < oc; ++o) {
    const float* row = w + o * per_oc;
    const float sc = scales[o];
    int8_t* qrow = q + o * per_oc;
    // Same result as quant::quantize_value, without its libm call per weight: when the row is
    // finite, |w / scale| <= 127 (scale = amax / 127), and for |v| < 2^22,
    // (v + 1.5*2^23) - 1.5*2^23 rounds half to even in the default FP mode. The loop has no call
    // and no branch, so it vectorizes. Rows holding NaN take the exact path.
    if (nan[o] || !std::isfinite(amax[o]) || !(sc > 0.f)) {
      for (int64_t i = 0; i < per_oc; ++i)
        qrow[i] = static_cast<int8_t>(quant::quantize_value(row[i], sc, 0, r));
      continue;
    }
    constexpr float kRound = 12582912.f;
    const float lo = static_cast<float>(r.qmin), hi = static_cast<float>(r.qmax);
#pragma omp simd
    for (int64_t i = 0; i < per_oc; ++i) {
      const float t = (row[i] / sc + kRound) - kRound;
      qrow[i] = static_cast<int8_t>(static_cast<int32_t>(std::min(std::max(t, lo), hi)));
    }
  }
}

Epilogue make_epilogue(const Node& n, Precision p, const TensorSpec& x, const TensorSpec& out,
                       const TensorSpec* residual, const std::vector<float>& w_scales,
                       const std::vector<float>& bias, int64_t oc) {
  Epilogue e;
  e.attr = base_attr();
  const bool q = p == Precision::kInt8;
  const bool q_out = is_int8(out.dtype);
  const float s_y = q_out ? qscale(out) : 1.f;
  PostOpContext pc;
  pc.out_scale = s_y;
  if (q) {
    const float s_x = qscale(x);
    std::vector<float> os(oc);
    for (int64_t o = 0; o < oc; ++o) os[o] = s_x * w_scales[o] / s_y;
    e.attr.set_output_scales(1 << 1, os);
    e.src_zp = qzero(x);
    if (e.src_zp != 0) e.attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    if (!bias.empty()) {
      e.bias.resize(oc);
      for (int64_t o = 0; o < oc; ++o) e.bias[o] = bias[o] / (s_x * w_scales[o]);
    }
  } else {
    e.bias = bias;
  }
  if (q_out) {
    e.dst_zp = qzero(out);
    if (e.dst_zp != 0) e.attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
  }
  if (residual) {
    const bool same_size = dtype_size(residual->dtype) == dtype_size(out.dtype);
    if (same_size && is_int8(residual->dtype)) {
      pc.sum_scale = qscale(*residual) / s_y;
      pc.sum_zp = qzero(*residual);
      pc.sum_dt = to_dnnl(residual->dtype);
    } else {
      // The residual is converted into dst's dtype and quantization first.
      pc.sum_scale = 1.f;
      pc.sum_zp = q_out ? e.dst_zp : 0;
    }
  }
  e.attr.set_post_ops(make_post_ops(n, pc));
  return e;
}

void ResidualLoader::prepare(const TensorSpec& residual, const TensorSpec& out) {
  res_ = residual;
  out_ = out;
  same_size_ = dtype_size(res_.dtype) == dtype_size(out_.dtype);
  // An int8 dst cannot hold an arbitrary residual in its own quantization (a u8 dst after a
  // fused ReLU has no negative values): the residual must come as int8 with its own scale.
  if (is_int8(out_.dtype) && !is_int8(res_.dtype))
    unsupported(str("int8 output with a ", dtype_name(res_.dtype), " residual")).raise();
  if (residual.shape != out.shape || residual.layout != out.layout)
    internal_error(str("fused residual ", residual.str(), " does not match output ", out.str()))
        .raise();
}

void ResidualLoader::load(const KernelArgs& a, const void* residual, void* out) const {
  if (same_size_) {
    if (residual != out) std::memcpy(out, residual, res_.bytes_at(a.batch));
    return;
  }
  auto p = cache_.get(a.batch, [&](int64_t b) {
    return guarded("residual reorder", [&] {
      dnnl::primitive_attr attr = base_attr();
      float scale =
          (is_int8(res_.dtype) ? qscale(res_) : 1.f) / (is_int8(out_.dtype) ? qscale(out_) : 1.f);
      if (scale != 1.f) attr.set_output_scales(0, {scale});
      if (is_int8(res_.dtype) && qzero(res_) != 0)
        attr.set_zero_points(DNNL_ARG_SRC, 0, {qzero(res_)});
      if (is_int8(out_.dtype) && qzero(out_) != 0)
        attr.set_zero_points(DNNL_ARG_DST, 0, {qzero(out_)});
      dnnl::reorder::primitive_desc pd(engine(), md_of(res_, b), engine(), md_of(out_, b), attr);
      return std::make_shared<const Prim>(
          make_prim<dnnl::reorder::primitive_desc, dnnl::reorder>(pd));
    });
  });
  execute(*p, cpu_ctx(a),
          {{DNNL_ARG_SRC, mem(md_of(res_, a.batch), residual)},
           {DNNL_ARG_DST, mem(md_of(out_, a.batch), out)}});
}

dnnl::memory pack_weights(const dnnl::memory::desc& user_md, const void* data,
                          const dnnl::memory::desc& packed_md) {
  dnnl::reorder::primitive_desc pd(engine(), user_md, engine(), packed_md);
  // Blocked layouts pad channels per group: a small weight with many groups can need hundreds of
  // times its size once packed. The cap on one tensor bounds that too.
  const size_t need = packed_md.get_size() + pd.scratchpad_desc().get_size();
  if (need > static_cast<size_t>(max_tensor_elements()) * sizeof(float))
    invalid_input(str("the weights would take ", need, " bytes once packed for oneDNN (a ",
                      user_md.get_size(), "-byte tensor); more than the per-tensor cap of ",
                      max_tensor_elements(),
                      " elements (raise MPQ_MAX_TENSOR_ELEMENTS if it is "
                      "really meant)"))
        .raise();
  dnnl::memory packed(packed_md, engine());
  dnnl::memory user(user_md, engine(), const_cast<void*>(data));
  dnnl::stream s(engine());
  dnnl::reorder(pd).execute(s, user, packed);
  s.wait();
  return packed;
}

}  // namespace mpq::cpu
