// MatMul of two activations (a MatMul by a constant matrix is a FusedGemm after fusion): batched
// products of rank-3/4 tensors (attention scores and context),
// as oneDNN matmul in fp32 and bf16. Lower-rank operands get leading 1 dims, which oneDNN
// broadcasts over the batch dims; a constant operand is converted to the activation dtype once.
#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

Shape padded(const Shape& s, size_t rank) {
  Shape o(rank - s.size(), 1);
  o.insert(o.end(), s.begin(), s.end());
  return o;
}

class BatchedMatMulKernel : public PrimKernel {
 public:
  void prepare(const KernelSetup& s) override {
    a_ = *s.inputs.at(0);
    b_ = *s.inputs.at(1);
    out_ = *s.outputs.at(0);
    dt_ = out_.dtype;
    for (TensorSpec* t : {&a_, &b_}) {
      if (!t->is_constant()) continue;
      t->dtype = dt_;
      const Tensor& c = *t->constant;
      Tensor conv = dt_ == DType::bf16 ? c.cast(DType::bf16) : c.cast(DType::f32);
      (t == &a_ ? const_a_ : const_b_) = conv;
    }
    init(s.max_batch);
  }
  void run(const KernelArgs& a) const override {
    const void* pa = a_.is_constant() ? const_a_.raw() : a.inputs[0];
    const void* pb = b_.is_constant() ? const_b_.raw() : a.inputs[1];
    execute(*prim(a.batch), cpu_ctx(a),
            {{DNNL_ARG_SRC, mem(md(a_, a.batch), pa)},
             {DNNL_ARG_WEIGHTS, mem(md(b_, a.batch), pb)},
             {DNNL_ARG_DST, mem(md(out_, a.batch), a.outputs[0])}});
  }

 protected:
  dnnl::memory::desc md(const TensorSpec& t, int64_t batch) const {
    const Shape sh = padded(t.shape_at(batch), out_.shape.size());
    return dnnl::memory::desc(dims_of(sh), to_dnnl(dt_), plain_tag(sh.size()));
  }
  Prim create(int64_t batch) const override {
    return guarded("MatMul " + out_.str(), [&] {
      dnnl::matmul::desc d(md(a_, batch), md(b_, batch), md(out_, batch));
      dnnl::matmul::primitive_desc pd(d, base_attr(), engine());
      return make_prim<dnnl::matmul::primitive_desc, dnnl::matmul>(pd);
    });
  }

 private:
  TensorSpec a_, b_, out_;
  DType dt_ = DType::f32;
  Tensor const_a_, const_b_;
};

}  // namespace

void register_batched_matmul_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    if (n.inputs.size() != 2 || !n.inputs[0] || !n.inputs[1]) return "missing inputs";
    const Shape& o = n.outputs.at(0)->shape;
    const Value* a = n.inputs[0];
    const Value* b = n.inputs[1];
    if (a->shape.size() < 2 || b->shape.size() < 2) return "1-D operand";
    if (o.size() > 6) return "rank above 6";
    if (a->is_constant() && b->is_constant()) return "constant inputs";
    // A batched operand of lower rank than the output would put its batch in the wrong dim.
    for (const Value* v : {a, b})
      if (v->batch_axis() >= 0 && v->shape.size() != o.size())
        return "batched operand of lower rank";
    return "";
  };
  add_kernel(
      r, OpKind::MatMul, {Precision::kFp32, Precision::kBf16}, supports,
      [](const Node&) { return KernelFormats{}; },
      [] { return std::make_unique<BatchedMatMulKernel>(); });
}

}  // namespace mpq::cpu
