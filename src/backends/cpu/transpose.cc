// Transpose as a oneDNN reorder: the source described in the output's dim order with permuted
// strides, the destination plain. Any input layout (an NHWC input is read through its strides);
// int8 keeps its quantization. The batch dim may move (torch's attention
// works on [seq, batch, dim]): tensors are dense at the run's batch, wherever its dim is.
#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/strided_copy.h"

namespace mpq::cpu {

namespace {

std::vector<int64_t> perm_of(const Node& n, size_t rank) {
  std::vector<int64_t> p;
  if (n.attrs.has("perm")) p = n.attrs.ints("perm");
  if (p.empty())
    for (size_t i = rank; i-- > 0;) p.push_back(static_cast<int64_t>(i));
  return p;
}

class TransposeKernel : public PrimKernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    perm_ = perm_of(*s.node, in_.shape.size());
    init(s.max_batch);
  }
  void run(const KernelArgs& a) const override {
    execute(*prim(a.batch), cpu_ctx(a),
            {{DNNL_ARG_SRC, mem(src_md(a.batch), a.inputs[0])},
             {DNNL_ARG_DST, mem(md_of(out_, a.batch), a.outputs[0])}});
  }

 protected:
  dnnl::memory::desc src_md(int64_t batch) const {
    const Shape is = in_.shape_at(batch);
    const std::vector<int64_t> st = elem_strides(in_, is);
    dnnl::memory::dims dims, strides;
    for (int64_t p : perm_) dims.push_back(is[p]), strides.push_back(st[p]);
    return dnnl::memory::desc(dims, to_dnnl(in_.dtype), strides);
  }
  Prim create(int64_t batch) const override {
    return guarded("Transpose " + in_.str(), [&] {
      dnnl::reorder::primitive_desc pd(engine(), src_md(batch), engine(), md_of(out_, batch),
                                       base_attr());
      return make_prim<dnnl::reorder::primitive_desc, dnnl::reorder>(pd);
    });
  }

 private:
  TensorSpec in_, out_;
  std::vector<int64_t> perm_;
};

}  // namespace

void register_transpose_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    const Value* x = n.inputs.at(0);
    if (!x || x->shape.empty() || x->shape.size() > 6) return "rank 0 or above 6";
    if (x->dtype != DType::f32 && x->dtype != DType::bf16) return "non-float input";
    return "";
  };
  add_kernel(
      r, OpKind::Transpose, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, supports,
      [](const Node&) {
        KernelFormats f;
        f.input_layouts = {Layout::kNHWC, Layout::kPlain};
        f.output_layout = Layout::kPlain;
        return f;
      },
      [] { return std::make_unique<TransposeKernel>(); });
}

}  // namespace mpq::cpu
