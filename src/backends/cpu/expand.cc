// Expand: broadcast copy on plain tensors of any dtype (int8 keeps its scale). The output shape at
// a batch is the plan's (its batch dim, if any, is the run batch), so the canonical form's -1
// target entries need no extra work here. Rows of the innermost dim are copied whole when the
// input has that dim; each output row is independent, so rows run in parallel.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

class ExpandKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    // A constant (vit's class token) is stored f32: converted once to the output's dtype.
    if (in_.is_constant()) src_ = converted(*in_.constant, out_);
    if (!in_.is_constant() && in_.dtype != out_.dtype)
      internal_error("expand changes the dtype").node(s.node->name).raise();
  }
  void run(const KernelArgs& a) const override {
    const Shape os = out_.shape_at(a.batch);
    const Shape is0 = in_.shape_at(a.batch);
    const size_t r = os.size();
    Shape is(r - is0.size(), 1);
    is.insert(is.end(), is0.begin(), is0.end());
    std::vector<int64_t> st(r, 0);
    for (int64_t d = static_cast<int64_t>(r) - 1, acc = 1; d >= 0; --d) {
      st[d] = is[d] == 1 ? 0 : acc;
      acc *= is[d];
    }
    const int64_t inner = r ? os[r - 1] : 1;
    const int64_t rows = inner ? shape_numel(os) / inner : 0;
    const size_t es = dtype_size(out_.dtype);
    const bool whole_row = r && is[r - 1] == os[r - 1];
    const auto* src = static_cast<const uint8_t*>(in_.is_constant() ? src_.raw() : a.inputs[0]);
    auto* dst = static_cast<uint8_t*>(a.outputs[0]);
#pragma omp parallel for schedule(static) if (rows > 64)
    for (int64_t row = 0; row < rows; ++row) {
      int64_t off = 0, rest = row;
      for (int64_t d = static_cast<int64_t>(r) - 2; d >= 0; --d) {
        off += (rest % os[d]) * st[d];
        rest /= os[d];
      }
      uint8_t* o = dst + row * inner * es;
      if (whole_row) {
        std::memcpy(o, src + off * es, inner * es);
      } else {
        for (int64_t k = 0; k < inner; ++k) std::memcpy(o + k * es, src + off * es, es);
      }
    }
  }
  std::string impl_name() const override {
    return "mpq:expand";
  }

 private:
  static Tensor converted(const Tensor& c, const TensorSpec& to) {
    if (!to.quant) return c.cast(to.dtype);
    const QuantParams& q = *to.quant;
    std::vector<float> f = c.to_floats();
    Tensor t(to.dtype, c.shape());
    for (size_t i = 0; i < f.size(); ++i) {
      const float v = std::nearbyint(f[i] / q.scale.at(0)) + static_cast<float>(q.zero_point.at(0));
      const auto qv = static_cast<int32_t>(std::clamp<float>(v, q.qmin(), q.qmax()));
      if (to.dtype == DType::u8)
        t.data<uint8_t>()[i] = static_cast<uint8_t>(qv);
      else
        t.data<int8_t>()[i] = static_cast<int8_t>(qv);
    }
    return t;
  }

  TensorSpec in_, out_;
  Tensor src_;
};

}  // namespace

void register_expand_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    return n.inputs.at(1)->is_constant() ? "" : "the target shape is not a constant";
  };
  add_kernel(
      r, OpKind::Expand, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, supports,
      [](const Node&) { return KernelFormats{}; }, [] { return std::make_unique<ExpandKernel>(); });
}

}  // namespace mpq::cpu
