// Concat (oneDNN concat) in fp32, bf16 and int8. int8 is a passthrough: every input must carry
// the output's quantization (the plan builder gives the inputs of a Concat the Concat output's
// range, so their producers write in that scale directly).
#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

class ConcatKernel : public PrimKernel {
 public:
  void prepare(const KernelSetup& s) override {
    for (const TensorSpec* t : s.inputs) ins_.push_back(*t);
    out_ = *s.outputs.at(0);
    const int64_t rank = static_cast<int64_t>(out_.shape.size());
    axis_ = static_cast<int>(s.node->attrs.i("axis"));
    if (axis_ < 0) axis_ += static_cast<int>(rank);
    for (const TensorSpec& t : ins_) {
      if (t.dtype != out_.dtype)
        unsupported("concat of different dtypes").node(s.node->name).raise();
      if (is_int8(t.dtype) && (qscale(t) != qscale(out_) || qzero(t) != qzero(out_)))
        unsupported("int8 concat of inputs with different scales").node(s.node->name).raise();
      if (t.is_constant()) unsupported("concat of a constant").node(s.node->name).raise();
    }
    init(s.max_batch);
  }
  void run(const KernelArgs& a) const override {
    std::unordered_map<int, dnnl::memory> args;
    for (size_t i = 0; i < ins_.size(); ++i)
      args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)] = mem(md_of(ins_[i], a.batch), a.inputs[i]);
    args[DNNL_ARG_DST] = mem(md_of(out_, a.batch), a.outputs[0]);
    execute(*prim(a.batch), cpu_ctx(a), std::move(args));
  }

 protected:
  Prim create(int64_t batch) const override {
    return guarded("Concat " + out_.str(), [&] {
      std::vector<dnnl::memory::desc> mds;
      for (const TensorSpec& t : ins_) mds.push_back(md_of(t, batch));
      dnnl::concat::primitive_desc pd(md_of(out_, batch), axis_, mds, engine(), base_attr());
      return make_prim<dnnl::concat::primitive_desc, dnnl::concat>(pd);
    });
  }

 private:
  std::vector<TensorSpec> ins_;
  TensorSpec out_;
  int axis_ = 1;
};

}  // namespace

void register_concat_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    for (const Value* v : n.inputs) {
      if (!v) return "omitted input";
      if (v->is_constant()) return "constant input";
      if (!dtype_info(v->dtype).is_float) return "non-float input";
    }
    const int64_t rank = static_cast<int64_t>(n.outputs.at(0)->shape.size());
    int64_t axis = n.attrs.i("axis");
    if (axis < 0) axis += rank;
    if (axis == 0) return "concat along the batch dimension";
    return "";
  };
  add_kernel(
      r, OpKind::Concat, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, supports,
      [](const Node&) {
        KernelFormats f;
        f.input_layouts = {Layout::kNHWC, Layout::kPlain};
        f.output_layout = Layout::kNHWC;
        f.output_follows_input = true;
        return f;
      },
      [] { return std::make_unique<ConcatKernel>(); });
}

}  // namespace mpq::cpu
