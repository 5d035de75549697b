// Split: strided copies of a plain tensor of any dtype into its parts (int8 keeps its scale).
// Splitting along the batch dim would give parts whose sizes depend on the batch: not handled.
#include <cstring>

#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

class SplitKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    for (const TensorSpec* o : s.outputs) outs_.push_back(*o);
    axis_ = s.node->attrs.i("axis", 0);
    if (axis_ < 0) axis_ += static_cast<int64_t>(in_.shape.size());
  }
  void run(const KernelArgs& a) const override {
    const Shape is = in_.shape_at(a.batch);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < static_cast<int64_t>(is.size()); ++d) {
      if (d < axis_) outer *= is[d];
      if (d > axis_) inner *= is[d];
    }
    const size_t es = dtype_size(in_.dtype);
    const size_t row = static_cast<size_t>(is[axis_] * inner) * es;
    const auto* src = static_cast<const uint8_t*>(a.inputs[0]);
    size_t col = 0;
    for (size_t k = 0; k < outs_.size(); ++k) {
      const size_t chunk = static_cast<size_t>(outs_[k].shape[axis_] * inner) * es;
      auto* dst = static_cast<uint8_t*>(a.outputs[k]);
#pragma omp parallel for schedule(static) if (outer > 64)
      for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + o * chunk, src + o * row + col, chunk);
      col += chunk;
    }
  }
  std::string impl_name() const override {
    return "mpq:split";
  }

 private:
  TensorSpec in_;
  std::vector<TensorSpec> outs_;
  int64_t axis_ = 0;
};

}  // namespace

void register_split_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    if (n.has_input(1) && !n.inputs[1]->is_constant()) return "the split sizes are not constants";
    const Shape& s = n.inputs.at(0)->shape;
    int64_t axis = n.attrs.i("axis", 0);
    if (axis < 0) axis += static_cast<int64_t>(s.size());
    if (axis >= 0 && axis < static_cast<int64_t>(s.size()) && s[axis] < 0)
      return "splitting along the batch dim";
    return "";
  };
  add_kernel(
      r, OpKind::Split, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, supports,
      [](const Node&) { return KernelFormats{}; }, [] { return std::make_unique<SplitKernel>(); });
}

}  // namespace mpq::cpu
