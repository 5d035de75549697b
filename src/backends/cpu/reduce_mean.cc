// ReduceMean in fp32/bf16 (LayerNorm statistics in convnext/vit, mnasnet's spatial mean): oneDNN
// reduction_mean; the destination is described with the reduced dims kept as 1, which has the
// same memory as the squeezed output. int8 spatial means are in mean_int8.cc.
#include <algorithm>

#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

std::vector<int64_t> axes_of(const Node& n, int64_t r) {
  std::vector<int64_t> axes;
  if (n.attrs.has("axes")) axes = n.attrs.ints("axes");
  if (axes.empty())
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  for (int64_t& a : axes)
    if (a < 0) a += r;
  return axes;
}

class ReduceMeanKernel : public PrimKernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    axes_ = axes_of(*s.node, static_cast<int64_t>(in_.shape.size()));
    init(s.max_batch);
  }
  void run(const KernelArgs& a) const override {
    execute(*prim(a.batch), cpu_ctx(a),
            {{DNNL_ARG_SRC, mem(md_of(in_, a.batch), a.inputs[0])},
             {DNNL_ARG_DST, mem(dst_md(a.batch), a.outputs[0])}});
  }

 protected:
  dnnl::memory::desc dst_md(int64_t batch) const {
    Shape kept = in_.shape_at(batch);
    for (int64_t a : axes_) kept[a] = 1;
    const bool nhwc = kept.size() == 4 && out_.shape.size() == 4 && out_.layout == Layout::kNHWC;
    return dnnl::memory::desc(dims_of(kept), to_dnnl(out_.dtype),
                              nhwc ? dnnl::memory::format_tag::nhwc : plain_tag(kept.size()));
  }
  Prim create(int64_t batch) const override {
    return guarded("ReduceMean " + in_.str(), [&] {
      const dnnl::memory::desc src = md_of(in_, batch), dst = dst_md(batch);
      if (src.dims() == dst.dims()) {
        // Only size-1 dims reduced: a copy, which oneDNN's reduction refuses to describe.
        dnnl::reorder::primitive_desc pd(engine(), src, engine(), dst, base_attr());
        return make_prim<dnnl::reorder::primitive_desc, dnnl::reorder>(pd);
      }
      dnnl::reduction::desc d(dnnl::algorithm::reduction_mean, src, dst, 0.f, 0.f);
      dnnl::reduction::primitive_desc pd(d, base_attr(), engine());
      return make_prim<dnnl::reduction::primitive_desc, dnnl::reduction>(pd);
    });
  }

 private:
  TensorSpec in_, out_;
  std::vector<int64_t> axes_;
};

}  // namespace

void register_reduce_mean_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    const Value* x = n.inputs.at(0);
    if (!x || !dtype_info(x->dtype).is_float) return "non-float input";
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    if (rank < 1 || rank > 6) return "rank 0 or above 6";
    auto axes = axes_of(n, rank);
    if (std::find(axes.begin(), axes.end(), x->batch_axis()) != axes.end())
      return "ReduceMean over the batch dimension";
    return "";
  };
  add_kernel(
      r, OpKind::ReduceMean, {Precision::kFp32, Precision::kBf16}, supports,
      [](const Node&) { return any_layout_formats(); },
      [] { return std::make_unique<ReduceMeanKernel>(); });
}

}  // namespace mpq::cpu
