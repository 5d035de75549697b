// int8 BatchNormalization (densenet's BN after Concat, which no conv absorbs): a per-channel
// multiply-add on the quantized values that requantizes into the output's scale,
//   y = A_c * q + B_c,  A_c = g_c / sqrt(v_c + eps) * s_in / s_out,
//   B_c = (g_c / sqrt(v_c + eps) * (-s_in * z_in - m_c) + b_c) / s_out + z_out,
// rounded half-to-even and saturated (s_out = 1, z_out = 0 for a float output). Keeps densenet's
// dense blocks int8 instead of dequantizing the growing Concat output in every layer.
#include <cmath>
#include <vector>

#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/int8_store.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/requant_rows.h"

namespace mpq::cpu {

namespace {

class BatchNormInt8Kernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    const float eps = s.node->attrs.f("epsilon", 1e-5f);
    const auto g = s.inputs.at(1)->constant->to_floats(), b = s.inputs.at(2)->constant->to_floats();
    const auto m = s.inputs.at(3)->constant->to_floats(), v = s.inputs.at(4)->constant->to_floats();
    const bool qout = is_int8(out_.dtype);
    const float si = qscale(in_), zi = static_cast<float>(qzero(in_));
    const float so = qout ? qscale(out_) : 1.f, zo = qout ? static_cast<float>(qzero(out_)) : 0.f;
    a_.resize(g.size());
    b_.resize(g.size());
    for (size_t c = 0; c < g.size(); ++c) {
      const double k = g[c] / std::sqrt(static_cast<double>(v[c]) + eps);
      a_[c] = static_cast<float>(k * si / so);
      b_[c] = static_cast<float>((k * (-si * zi - m[c]) + b[c]) / so + zo);
    }
    // int8 in and out with channels innermost: requant_channels per row (AVX-512 wide), where
    // the float loop below stays at the baseline ISA's vector width.
    const bool c_inner =
        in_.shape.size() == 2 || (in_.shape.size() == 4 && in_.layout == Layout::kNHWC);
    rows_ = qout && c_inner;
  }

  void run(const KernelArgs& a) const override {
    if (rows_) {
      if (in_.dtype == DType::u8)
        return run_rows<uint8_t>(a);
      else
        return run_rows<int8_t>(a);
    }
    if (in_.dtype == DType::u8)
      dispatch<uint8_t>(a);
    else
      dispatch<int8_t>(a);
  }
  std::string impl_name() const override { return "mpq:batchnorm_int8"; }

 private:
  template <typename Tin>
  void dispatch(const KernelArgs& a) const {
    switch (out_.dtype) {
      case DType::u8:
        return apply<Tin, uint8_t>(a);
      case DType::i8:
        return apply<Tin, int8_t>(a);
      case DType::bf16:
        return apply<Tin, uint16_t>(a);
      default:
        return apply<Tin, float>(a);
    }
  }

  // Channels innermost (NHWC, rank 2) or [N, C, inner] (plain).
  template <typename Tin, typename Tout>
  void apply(const KernelArgs& a) const {
    const Shape is = in_.shape_at(a.batch);
    const int64_t C = is[1];
    const int64_t total = shape_numel(is);
    const bool c_inner = is.size() == 2 || (is.size() == 4 && in_.layout == Layout::kNHWC);
    const auto* x = static_cast<const Tin*>(a.inputs[0]);
    auto* y = static_cast<Tout*>(a.outputs[0]);
    const float* A = a_.data();
    const float* B = b_.data();
    if (c_inner) {
      const int64_t rows = total / C;
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        const Tin* xp = x + r * C;
        Tout* yp = y + r * C;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) yp[c] = store_requant<Tout>(A[c] * xp[c] + B[c]);
      }
      return;
    }
    const int64_t inner = total / (is[0] * C);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < is[0]; ++n)
      for (int64_t c = 0; c < C; ++c) {
        const int64_t o = (n * C + c) * inner;
        for (int64_t i = 0; i < inner; ++i) y[o + i] = store_requant<Tout>(A[c] * x[o + i] + B[c]);
      }
  }

  template <typename Tin>
  void run_rows(const KernelArgs& a) const {
    if (out_.dtype == DType::u8)
      rows<Tin, uint8_t>(a);
    else
      rows<Tin, int8_t>(a);
  }

  template <typename Tin, typename Tout>
  void rows(const KernelArgs& a) const {
    const Shape is = in_.shape_at(a.batch);
    const int64_t C = is[1];
    const int64_t rows = shape_numel(is) / C;
    const auto* x = static_cast<const Tin*>(a.inputs[0]);
    auto* y = static_cast<Tout*>(a.outputs[0]);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r)
      requant_channels(x + r * C, y + r * C, a_.data(), b_.data(), C);
  }

  TensorSpec in_, out_;
  std::vector<float> a_, b_;
  bool rows_ = false;  // int8 -> int8 with channels innermost
};

}  // namespace

void register_batchnorm_int8_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    if (n.outputs.size() > 1) return "training outputs";
    for (size_t i = 1; i < 5; ++i)
      if (!n.has_input(i) || !n.inputs[i]->is_constant()) return "statistics are not constants";
    const Value* x = n.inputs.at(0);
    if (!x || x->shape.size() < 2) return "rank below 2";
    return "";
  };
  add_kernel(
      r, OpKind::BatchNormalization, {Precision::kInt8}, supports,
      [](const Node&) {
        KernelFormats f = any_layout_formats();
        f.any_output_dtype = true;
        return f;
      },
      [] { return std::make_unique<BatchNormInt8Kernel>(); });
}

}  // namespace mpq::cpu
