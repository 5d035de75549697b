// Standalone BatchNormalization (one that could not be folded into a convolution, e.g.
// densenet's BN after Concat): oneDNN batch_normalization, inference with the model's global
// statistics, scale and shift. fp32 and bf16, any layout.
#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

using flags = dnnl::normalization_flags;

class BatchNormKernel : public PrimKernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    eps_ = s.node->attrs.f("epsilon", 1e-5f);
    for (size_t i = 1; i < 5; ++i) params_[i - 1] = s.inputs.at(i)->constant->to_floats();
    init(s.max_batch);
  }
  void run(const KernelArgs& a) const override {
    const dnnl::memory::desc c({static_cast<int64_t>(params_[0].size())},
                               dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
    execute(*prim(a.batch), cpu_ctx(a),
            {{DNNL_ARG_SRC, mem(md_of(in_, a.batch), a.inputs[0])},
             {DNNL_ARG_DST, mem(md_of(out_, a.batch), a.outputs[0])},
             {DNNL_ARG_SCALE, mem(c, params_[0].data())},
             {DNNL_ARG_SHIFT, mem(c, params_[1].data())},
             {DNNL_ARG_MEAN, mem(c, params_[2].data())},
             {DNNL_ARG_VARIANCE, mem(c, params_[3].data())}});
  }
  std::vector<std::pair<int, int>> inplace() const override { return {{0, 0}}; }

 protected:
  Prim create(int64_t batch) const override {
    return guarded("BatchNormalization " + in_.str(), [&] {
      dnnl::batch_normalization_forward::desc d(
          dnnl::prop_kind::forward_inference, md_of(in_, batch), eps_,
          flags::use_global_stats | flags::use_scale | flags::use_shift);
      dnnl::batch_normalization_forward::primitive_desc pd(d, base_attr(), engine());
      return make_prim<dnnl::batch_normalization_forward::primitive_desc,
                       dnnl::batch_normalization_forward>(pd);
    });
  }

 private:
  TensorSpec in_, out_;
  float eps_ = 1e-5f;
  std::vector<float> params_[4];  // scale, shift, mean, variance
};

}  // namespace

void register_batchnorm_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    if (n.outputs.size() > 1) return "training outputs";
    for (size_t i = 1; i < 5; ++i)
      if (!n.has_input(i) || !n.inputs[i]->is_constant()) return "statistics are not constants";
    const Value* x = n.inputs.at(0);
    if (!x || x->shape.size() < 2 || x->shape.size() > 5) return "rank below 2 or above 5";
    return "";
  };
  add_kernel(
      r, OpKind::BatchNormalization, {Precision::kFp32, Precision::kBf16}, supports,
      [](const Node&) { return any_layout_formats(); },
      [] { return std::make_unique<BatchNormKernel>(); });
}

}  // namespace mpq::cpu
