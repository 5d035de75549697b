// LayerNormalization with oneDNN's layer_normalization (forward inference) in fp32 and bf16.
// oneDNN normalizes over the last dim, so the plain input is viewed as [rows, prod(dims from
// axis)]; scale and bias are expanded to one f32 row at prepare. The Mean/InvStdDev outputs are
// left to the reference kernel.
#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"
#include "ir/ops/tensor_util.h"

namespace mpq::cpu {

namespace {

class LayerNormKernel : public PrimKernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    const int64_t r = static_cast<int64_t>(in_.shape.size());
    axis_ = s.node->attrs.i("axis", -1);
    if (axis_ < 0) axis_ += r;
    eps_ = s.node->attrs.f("epsilon", 1e-5f);
    const Shape inner(in_.shape.begin() + axis_, in_.shape.end());
    cols_ = shape_numel(inner);
    scale_ = row_of(s.inputs.at(1), inner, 1.f);
    shift_ = row_of(s.inputs.size() > 2 ? s.inputs[2] : nullptr, inner, 0.f);
    init(s.max_batch);
  }
  void run(const KernelArgs& a) const override {
    execute(*prim(a.batch), cpu_ctx(a),
            {{DNNL_ARG_SRC, mem(md2(in_, a.batch), a.inputs[0])},
             {DNNL_ARG_DST, mem(md2(out_, a.batch), a.outputs[0])},
             {DNNL_ARG_SCALE, mem(row_md(), scale_.data())},
             {DNNL_ARG_SHIFT, mem(row_md(), shift_.data())}});
  }

 protected:
  Prim create(int64_t batch) const override {
    return guarded("layer normalization", [&] {
      using nf = dnnl::normalization_flags;
      dnnl::layer_normalization_forward::desc d(dnnl::prop_kind::forward_inference, md2(in_, batch),
                                                eps_, nf::use_scale | nf::use_shift);
      dnnl::layer_normalization_forward::primitive_desc pd(d, base_attr(), engine());
      return make_prim<dnnl::layer_normalization_forward::primitive_desc,
                       dnnl::layer_normalization_forward>(pd);
    });
  }

 private:
  // The tensor as [rows, cols] (rows = product of the dims before axis).
  dnnl::memory::desc md2(const TensorSpec& t, int64_t batch) const {
    const int64_t n = shape_numel(t.shape_at(batch));
    return dnnl::memory::desc({n / cols_, cols_}, to_dnnl(t.dtype), dnnl::memory::format_tag::ab);
  }
  dnnl::memory::desc row_md() const {
    return dnnl::memory::desc({cols_}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
  }
  // A constant broadcast over the normalized dims, as one f32 row.
  std::vector<float> row_of(const TensorSpec* t, const Shape& inner, float def) const {
    std::vector<float> v(cols_, def);
    if (!t) return v;
    const Tensor p = t->constant->cast(DType::f32);
    const float* pp = p.data<float>();
    ops::broadcast_for_each<1>(
        inner, {&p.shape()}, [&](int64_t k, const std::array<int64_t, 1>& o) { v[k] = pp[o[0]]; });
    return v;
  }

  TensorSpec in_, out_;
  int64_t axis_ = -1, cols_ = 1;
  float eps_ = 1e-5f;
  std::vector<float> scale_, shift_;
};

}  // namespace

void register_layernorm_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    if (n.outputs.size() > 1) return "the Mean/InvStdDev outputs";
    for (size_t i = 1; i < n.inputs.size(); ++i)
      if (n.inputs[i] && !n.inputs[i]->is_constant()) return "scale or bias is not a constant";
    const Shape& s = n.inputs.at(0)->shape;
    int64_t axis = n.attrs.i("axis", -1);
    if (axis < 0) axis += static_cast<int64_t>(s.size());
    for (size_t d = axis; d < s.size(); ++d)
      if (s[d] < 0) return "the batch is among the normalized dims";
    return "";
  };
  add_kernel(
      r, OpKind::LayerNormalization, {Precision::kFp32, Precision::kBf16}, supports,
      [](const Node&) { return KernelFormats{}; },
      [] { return std::make_unique<LayerNormKernel>(); });
}

}  // namespace mpq::cpu
