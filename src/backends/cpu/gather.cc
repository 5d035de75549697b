// Gather along an axis other than the batch (vit's class token, indexing of shape vectors): a
// block copy per index. Plain layout, any dtype; int8 keeps its quantization. Indices may be
// computed at run time (int32/int64); an out-of-range index is an error.
#include <cstring>

#include "backends/cpu/kernels.h"
#include "backends/cpu/strided_copy.h"

namespace mpq::cpu {

namespace {

class GatherKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    idx_ = *s.inputs.at(1);
    out_ = *s.outputs.at(0);
    const int64_t r = static_cast<int64_t>(in_.shape.size());
    axis_ = s.node->attrs.i("axis", 0);
    if (axis_ < 0) axis_ += r;
    node_ = s.node->name;
  }

  void run(const KernelArgs& a) const override {
    const Shape is = in_.shape_at(a.batch);
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis_; ++i) outer *= is[i];
    for (size_t i = axis_ + 1; i < is.size(); ++i) inner *= is[i];
    const int64_t n_axis = is[axis_];
    const int64_t count = shape_numel(idx_.shape);
    const void* ip = idx_.is_constant() ? idx_.constant->raw() : a.inputs[1];
    std::vector<int64_t> idx(count);
    for (int64_t j = 0; j < count; ++j) {
      int64_t k = idx_.dtype == DType::i32 ? static_cast<const int32_t*>(ip)[j]
                                           : static_cast<const int64_t*>(ip)[j];
      if (k < 0) k += n_axis;
      if (k < 0 || k >= n_axis)
        invalid_input(str("Gather index ", k, " is out of range for an axis of size ", n_axis))
            .node(node_)
            .raise();
      idx[j] = k;
    }
    const size_t block = static_cast<size_t>(inner) * dtype_size(in_.dtype);
    const auto* src = static_cast<const uint8_t*>(a.inputs[0]);
    auto* dst = static_cast<uint8_t*>(a.outputs[0]);
#pragma omp parallel for collapse(2) schedule(static) if (outer * count * inner > 16384)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < count; ++j)
        std::memcpy(dst + (o * count + j) * block, src + (o * n_axis + idx[j]) * block, block);
  }

  std::string impl_name() const override {
    return "mpq:gather_blocks";
  }

 private:
  TensorSpec in_, idx_, out_;
  int64_t axis_ = 0;
  std::string node_;
};

}  // namespace

void register_gather_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    const Value* x = n.inputs.at(0);
    const Value* i = n.inputs.at(1);
    if (!x || !i || x->shape.empty()) return "Gather of a scalar";
    if (i->dtype != DType::i64 && i->dtype != DType::i32) return "indices are not int32/int64";
    if (i->batch_axis() >= 0) return "batched indices";
    const int64_t r = static_cast<int64_t>(x->shape.size());
    int64_t axis = n.attrs.i("axis", 0);
    if (axis < 0) axis += r;
    if (axis == x->batch_axis()) return "Gather along the batch dimension";
    return "";
  };
  add_kernel(
      r, OpKind::Gather, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, supports,
      [](const Node&) { return KernelFormats{}; }, [] { return std::make_unique<GatherKernel>(); });
}

}  // namespace mpq::cpu
