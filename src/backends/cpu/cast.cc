// Cast (shape arithmetic in shufflenet/vit, casts to the dtype a value already has): a copy when
// the realized dtypes match, else an element loop with ONNX's rules (float -> integer truncates
// toward zero). Casts to 16-bit floats are left to the reference (ONNX truncates the mantissa).
#include <cmath>
#include <cstring>

#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

class CastKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
  }
  void run(const KernelArgs& a) const override {
    const int64_t n = shape_numel(in_.shape_at(a.batch));
    if (in_.dtype == out_.dtype) {
      if (a.outputs[0] != a.inputs[0])
        std::memcpy(a.outputs[0], a.inputs[0], static_cast<size_t>(n) * dtype_size(in_.dtype));
      return;
    }
    const bool trunc = dtype_info(in_.dtype).is_float && dtype_info(out_.dtype).is_integer;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) {
      double v = load_as_double(a.inputs[0], in_.dtype, static_cast<size_t>(i));
      if (trunc) v = std::trunc(v);
      store_from_double(a.outputs[0], out_.dtype, static_cast<size_t>(i), v);
    }
  }
  std::string impl_name() const override {
    return "mpq:cast";
  }
  std::vector<std::pair<int, int>> inplace() const override {
    return in_.dtype == out_.dtype ? std::vector<std::pair<int, int>>{{0, 0}}
                                   : std::vector<std::pair<int, int>>{};
  }

 private:
  TensorSpec in_, out_;
};

}  // namespace

void register_cast_kernels(KernelRegistry& r) {
  add_kernel(
      r, OpKind::Cast, {Precision::kFp32, Precision::kBf16},
      [](const Node& n, Precision) -> std::string {
        const Value* x = n.inputs.at(0);
        const Value* y = n.outputs.at(0);
        if (!x || !y) return "missing input";
        if ((y->dtype == DType::bf16 || y->dtype == DType::f16) && x->dtype != y->dtype)
          return "cast to a 16-bit float";
        if (x->dtype == DType::f16) return "f16 input";
        if (y->dtype == DType::boolean && x->dtype != y->dtype) return "cast to bool";
        return "";
      },
      [](const Node&) {
        KernelFormats f;
        f.input_layouts = {Layout::kPlain};
        return f;
      },
      [] { return std::make_unique<CastKernel>(); });
}

}  // namespace mpq::cpu
