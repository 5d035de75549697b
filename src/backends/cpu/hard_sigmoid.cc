// HardSigmoid, y = clamp(alpha * x + beta, 0, 1) (mobilenet_v3's hardswish is exported at opset 13
// as x * HardSigmoid(x, alpha=1/6)): oneDNN 2.6 has no eltwise for it, so an OpenMP loop over
// f32 or bf16 elements, any layout.
#include <algorithm>

#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

class HardSigmoidKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    alpha_ = s.node->attrs.f("alpha", 0.2f);
    beta_ = s.node->attrs.f("beta", 0.5f);
  }
  void run(const KernelArgs& a) const override {
    const int64_t n = shape_numel(in_.shape_at(a.batch));
    if (in_.dtype == DType::bf16) {
      const auto* x = static_cast<const uint16_t*>(a.inputs[0]);
      auto* y = static_cast<uint16_t*>(a.outputs[0]);
#pragma omp parallel for simd schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) y[i] = float_to_bf16(f(bf16_to_float(x[i])));
    } else {
      const auto* x = static_cast<const float*>(a.inputs[0]);
      auto* y = static_cast<float*>(a.outputs[0]);
#pragma omp parallel for simd schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
    }
  }
  std::string impl_name() const override {
    return "mpq:hard_sigmoid";
  }
  std::vector<std::pair<int, int>> inplace() const override {
    return {{0, 0}};
  }

 private:
  float f(float x) const {
    return std::min(1.f, std::max(0.f, alpha_ * x + beta_));
  }
  TensorSpec in_;
  float alpha_ = 0.2f, beta_ = 0.5f;
};

}  // namespace

void register_hard_sigmoid_kernels(KernelRegistry& r) {
  add_kernel(
      r, OpKind::HardSigmoid, {Precision::kFp32, Precision::kBf16},
      [](const Node& n, Precision) -> std::string {
        if (n.inputs.empty() || !n.inputs[0] || !dtype_info(n.inputs[0]->dtype).is_float)
          return "non-float input";
        return "";
      },
      [](const Node&) { return any_layout_formats(); },
      [] { return std::make_unique<HardSigmoidKernel>(); });
}

}  // namespace mpq::cpu
