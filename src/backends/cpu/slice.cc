// Slice with constant starts/ends/axes/steps: a strided copy (negative steps walk backwards).
// Any layout and dtype; int8 keeps its quantization. The batch dim (wherever it is) is never
// sliced.
#include <algorithm>

#include "backends/cpu/kernels.h"
#include "backends/cpu/strided_copy.h"

namespace mpq::cpu {

namespace {

class SliceKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    const int64_t r = static_cast<int64_t>(in_.shape.size());
    const std::vector<int64_t> starts = const_ints(s.inputs.at(1));
    std::vector<int64_t> axes =
        s.inputs.size() > 3 ? const_ints(s.inputs[3]) : std::vector<int64_t>{};
    std::vector<int64_t> steps =
        s.inputs.size() > 4 ? const_ints(s.inputs[4]) : std::vector<int64_t>{};
    if (axes.empty())
      for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    steps.resize(starts.size(), 1);
    start_.assign(r, 0);
    step_.assign(r, 1);
    for (size_t i = 0; i < starts.size(); ++i) {
      const int64_t ax = axes[i] < 0 ? axes[i] + r : axes[i];
      const int64_t dim = in_.shape[ax];
      int64_t b = starts[i] < 0 ? starts[i] + dim : starts[i];
      b = steps[i] > 0 ? std::clamp<int64_t>(b, 0, dim) : std::clamp<int64_t>(b, 0, dim - 1);
      start_[ax] = b;
      step_[ax] = steps[i];
    }
  }

  void run(const KernelArgs& a) const override {
    const Shape is = in_.shape_at(a.batch), os = out_.shape_at(a.batch);
    std::vector<int64_t> ss = elem_strides(in_, is);
    const std::vector<int64_t> ds = elem_strides(out_, os);
    int64_t off = 0;
    for (size_t d = 0; d < is.size(); ++d) {
      off += start_[d] * ss[d];
      ss[d] *= step_[d];
    }
    const size_t es = dtype_size(out_.dtype);
    strided_copy(static_cast<const uint8_t*>(a.inputs[0]) + off * static_cast<int64_t>(es), ss,
                 a.outputs[0], ds, os, es);
  }

  std::string impl_name() const override { return "mpq:strided_copy"; }

 private:
  TensorSpec in_, out_;
  std::vector<int64_t> start_, step_;
};

}  // namespace

void register_slice_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    for (size_t i = 1; i < n.inputs.size(); ++i)
      if (n.inputs[i] && !n.inputs[i]->is_constant()) return "slice bounds are not constants";
    const Value* x = n.inputs.at(0);
    if (!x || x->shape.empty()) return "Slice of a scalar";
    if (const int b = x->batch_axis(); b >= 0) {
      const int64_t r = static_cast<int64_t>(x->shape.size());
      std::vector<int64_t> axes =
          n.has_input(3) ? n.inputs[3]->constant->to_int64s() : std::vector<int64_t>{};
      if (!n.has_input(3))
        for (int64_t i = 0; i < n.inputs[1]->constant->numel(); ++i) axes.push_back(i);
      for (int64_t a : axes)
        if (a == b || a == b - r) return "Slice of the batch dimension";
    }
    return "";
  };
  add_kernel(
      r, OpKind::Slice, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, supports,
      [](const Node&) { return any_layout_formats(); },
      [] { return std::make_unique<SliceKernel>(); });
}

}  // namespace mpq::cpu
