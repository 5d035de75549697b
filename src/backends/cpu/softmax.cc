// Softmax and LogSoftmax over one axis (oneDNN softmax_v2 / logsoftmax), fp32 and bf16, plain
// layout.
#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

class SoftmaxKernel : public PrimKernel {
 public:
  explicit SoftmaxKernel(bool log) : log_(log) {}
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    int64_t rank = static_cast<int64_t>(in_.shape.size());
    axis_ = static_cast<int>(s.node->attrs.i("axis", -1));
    if (axis_ < 0) axis_ += static_cast<int>(rank);
    init(s.max_batch);
  }
  void run(const KernelArgs& a) const override {
    execute(*prim(a.batch), cpu_ctx(a),
            {{DNNL_ARG_SRC, mem(md_of(in_, a.batch), a.inputs[0])},
             {DNNL_ARG_DST, mem(md_of(out_, a.batch), a.outputs[0])}});
  }

 protected:
  Prim create(int64_t batch) const override {
    return guarded(std::string(log_ ? "LogSoftmax " : "Softmax ") + in_.str(), [&] {
      dnnl::softmax_v2_forward::desc d(
          dnnl::prop_kind::forward_inference,
          log_ ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate,
          md_of(in_, batch), md_of(out_, batch), axis_);
      dnnl::softmax_v2_forward::primitive_desc pd(d, base_attr(), engine());
      return make_prim<dnnl::softmax_v2_forward::primitive_desc, dnnl::softmax_v2_forward>(pd);
    });
  }

 private:
  bool log_;
  int axis_ = -1;
  TensorSpec in_, out_;
};

}  // namespace

void register_softmax_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    if (n.inputs.at(0)->shape.empty()) return "scalar input";
    return "";
  };
  auto formats = [](const Node&) { return KernelFormats{}; };  // plain in, plain out
  add_kernel(r, OpKind::Softmax, {Precision::kFp32, Precision::kBf16}, supports, formats,
             [] { return std::make_unique<SoftmaxKernel>(false); });
  add_kernel(r, OpKind::LogSoftmax, {Precision::kFp32, Precision::kBf16}, supports, formats,
             [] { return std::make_unique<SoftmaxKernel>(true); });
}

}  // namespace mpq::cpu
