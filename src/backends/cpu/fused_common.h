// What convolution and inner product share: per-output-channel weight quantization, the int8
// epilogue (output scales, bias in accumulator units, zero points), fused post-ops, and the
// residual of a fused sum.
//
// oneDNN 2.x int8 semantics: dst = oscale[oc] * (acc + bias[oc]) (+ sum_scale * (dst_prev - zp))
// then post-ops, + dst zero point, round half to even, saturate. With x = s_x (q_x - z_x),
// w = s_w[oc] q_w, y = s_y (q_y - z_y):
//   oscale[oc] = s_x s_w[oc] / s_y  (s_y = 1 for a float dst)
//   bias[oc]   = b[oc] / (s_x s_w[oc])
#pragma once

#include <optional>
#include <vector>

#include "backends/cpu/dnnl_util.h"

namespace mpq::cpu {

// Symmetric per-output-channel int8 weights: s[oc] = max|w[oc,:]| / 127 (1 for an all-zero
// channel), q = saturate(round_half_even(w / s)) in [-127, 127]. With `fixed` scales (one per
// output channel: a QDQ model's), s = fixed and q saturates to [-128, 127], as ONNX's
// QuantizeLinear does, so the int8 weights are the model's.
void quantize_weights_per_oc(const float* w, int64_t oc, int64_t per_oc, int8_t* q, float* scales,
                             const std::vector<float>& fixed = {});
// The weight scales the model fixed (the weight's TensorSpec::quant), one per output channel and
// multiplied by `mult` (Gemm's alpha); empty when the weight has none (mpq chooses them).
std::vector<float> fixed_weight_scales(const TensorSpec& w, int64_t oc, float mult = 1.f);

struct Epilogue {
  dnnl::primitive_attr attr;
  std::vector<float> bias;  // per output channel, in accumulator units for int8
  int32_t src_zp = 0, dst_zp = 0;
};

// Builds the attributes (scales, zero points, post-ops incl. the residual sum) for a conv/gemm
// node executing at `p`. `w_scales` are the int8 weight scales (empty for float), `bias` the f32
// bias (empty: none), `residual` the fused residual's spec or nullptr.
Epilogue make_epilogue(const Node& n, Precision p, const TensorSpec& x, const TensorSpec& out,
                       const TensorSpec* residual, const std::vector<float>& w_scales,
                       const std::vector<float>& bias, int64_t oc);

// Puts the residual into the output buffer before a primitive with a sum post-op runs: nothing
// when the planner made them share memory, a memcpy when the dtypes have the same size (the sum
// post-op then reads it as the residual's dtype), else a oneDNN reorder into the dst dtype.
class ResidualLoader {
 public:
  void prepare(const TensorSpec& residual, const TensorSpec& out);
  void load(const KernelArgs& a, const void* residual, void* out) const;
  // Whether the sum reads dst as the residual's dtype with its scale (true), or as dst (false).
  bool reads_residual_dtype() const { return same_size_; }

 private:
  TensorSpec res_, out_;
  bool same_size_ = true;
  PerBatchCache<Prim> cache_;
};

// Reorders f32/s8 weights from a user layout into the layout a primitive chose.
dnnl::memory pack_weights(const dnnl::memory::desc& user_md, const void* data,
                          const dnnl::memory::desc& packed_md);

}  // namespace mpq::cpu
