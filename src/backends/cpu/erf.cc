// Erf in fp32 and bf16 (convnext's and vit's exact GELU): oneDNN 2.6 has erf only inside
// gelu_erf, so this is an OpenMP loop over any layout (element-wise, so the layout does not
// matter). bf16 is computed in fp32 and rounded back.
#include <cmath>

#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

class ErfKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    if (in_.dtype != out_.dtype || (in_.dtype != DType::f32 && in_.dtype != DType::bf16))
      internal_error("erf runs f32 -> f32 or bf16 -> bf16, got " + in_.str())
          .node(s.node->name)
          .raise();
  }
  void run(const KernelArgs& a) const override {
    const int64_t n = shape_numel(in_.shape_at(a.batch));
    if (in_.dtype == DType::f32) {
      const auto* x = static_cast<const float*>(a.inputs[0]);
      auto* y = static_cast<float*>(a.outputs[0]);
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) y[i] = std::erf(x[i]);
      return;
    }
    const auto* x = static_cast<const uint16_t*>(a.inputs[0]);
    auto* y = static_cast<uint16_t*>(a.outputs[0]);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) y[i] = float_to_bf16(std::erf(bf16_to_float(x[i])));
  }
  std::string impl_name() const override {
    return "mpq:erf";
  }
  std::vector<std::pair<int, int>> inplace() const override {
    return {{0, 0}};
  }

 private:
  TensorSpec in_, out_;
};

}  // namespace

void register_erf_kernels(KernelRegistry& r) {
  add_kernel(
      r, OpKind::Erf, {Precision::kFp32, Precision::kBf16},
      [](const Node&, Precision) { return std::string(); },
      [](const Node&) { return any_layout_formats(); },
      [] { return std::make_unique<ErfKernel>(); });
}

}  // namespace mpq::cpu
