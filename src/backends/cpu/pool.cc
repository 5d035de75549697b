// 2-D pooling (oneDNN pooling_v2): MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool in fp32,
// bf16 and int8 (max and average of quantized values keep the input's scale and zero point).
// ceil_mode is expressed as extra right padding, so the output size is the one the op inferred.
#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

using alg = dnnl::algorithm;

struct PoolOp {
  const char* name;
  bool max;
  bool global;
};
const PoolOp kOps[] = {{"MaxPool", true, false},
                       {"AveragePool", false, false},
                       {"GlobalAveragePool", false, true},
                       {"GlobalMaxPool", true, true}};

class PoolKernel : public PrimKernel {
 public:
  explicit PoolKernel(const PoolOp& op) : op_(op) {}

  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    const Node& n = *s.node;
    const Shape& is = in_.shape;
    const Shape& os = out_.shape;
    if (op_.global) {
      kernel_ = {is[2], is[3]};
      strides_ = {1, 1};
      dil_ = {0, 0};
      pl_ = pr_ = {0, 0};
    } else {
      kernel_ = n.attrs.ints("kernel_shape");
      strides_ = ints_or(n, "strides", 2, 1);
      auto pads = ints_or(n, "pads", 4, 0);
      auto dil = ints_or(n, "dilations", 2, 1);
      dil_ = {dil[0] - 1, dil[1] - 1};
      pl_ = {pads[0], pads[1]};
      pr_ = {pads[2], pads[3]};
      // Right padding that makes oneDNN's floor formula give the inferred (maybe ceil) size.
      for (int d = 0; d < 2; ++d) {
        int64_t dk = (kernel_[d] - 1) * dil[d] + 1;
        int64_t need = (os[2 + d] - 1) * strides_[d] + dk - is[2 + d] - pl_[d];
        if (need != pr_[d] && !op_.max && n.attrs.i("count_include_pad", 0) != 0)
          unsupported("ceil_mode with count_include_pad").node(n.name).raise();
        pr_[d] = need;
      }
    }
    algorithm_ = op_.max ? alg::pooling_max
                 : (op_.global || n.attrs.i("count_include_pad", 0) == 0)
                     ? alg::pooling_avg_exclude_padding
                     : alg::pooling_avg_include_padding;
    init(s.max_batch);
  }

  void run(const KernelArgs& a) const override {
    execute(*prim(a.batch), cpu_ctx(a),
            {{DNNL_ARG_SRC, mem(md_of(in_, a.batch), a.inputs[0])},
             {DNNL_ARG_DST, mem(md_of(out_, a.batch), a.outputs[0])}});
  }

 protected:
  Prim create(int64_t batch) const override {
    return guarded(std::string(op_.name) + " " + in_.str(), [&] {
      dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, algorithm_,
                                       md_of(in_, batch), md_of(out_, batch), strides_, kernel_,
                                       dil_, pl_, pr_);
      dnnl::pooling_v2_forward::primitive_desc pd(d, base_attr(), engine());
      return make_prim<dnnl::pooling_v2_forward::primitive_desc, dnnl::pooling_v2_forward>(pd);
    });
  }

 private:
  PoolOp op_;
  TensorSpec in_, out_;
  alg algorithm_;
  dnnl::memory::dims kernel_, strides_, dil_, pl_, pr_;
};

}  // namespace

void register_pool_kernels(KernelRegistry& r) {
  for (const PoolOp& op : kOps) {
    auto supports = [op](const Node& n, Precision) -> std::string {
      if (n.inputs.at(0)->shape.size() != 4) return "only 2-D pooling";
      if (n.outputs.size() > 1) return "MaxPool indices output";
      if (!op.global) {
        if (n.attrs.has("auto_pad") && n.attrs.s("auto_pad") != "NOTSET")
          return "auto_pad " + n.attrs.s("auto_pad");
        if (n.attrs.i("storage_order", 0) != 0) return "storage_order 1";
      }
      return "";
    };
    add_kernel(
        r, op.name, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, supports,
        [](const Node&) { return any_layout_formats(); },
        [op] { return std::make_unique<PoolKernel>(op); });
  }
}

}  // namespace mpq::cpu
