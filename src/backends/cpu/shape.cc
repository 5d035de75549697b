// Flatten / Reshape / Squeeze / Unsqueeze / Identity / Dropout (inference): the logical
// (NCHW-order) elements reinterpreted in a new shape. A plain input is copied as is; an NHWC input
// is reordered to plain on the way (so the element order is the one the float model defines). Any
// dtype; int8 keeps its quantization.
#include <cstring>

#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

class ReshapeKernel : public PrimKernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    if (in_.dtype != out_.dtype)
      internal_error("reshape changes the dtype").node(s.node->name).raise();
    reorder_ = in_.layout == Layout::kNHWC && in_.shape.size() == 4;
    if (reorder_) {
      init(s.max_batch);
    } else {
      impl_ = "mpq:copy";
    }
  }
  void run(const KernelArgs& a) const override {
    if (!reorder_) {
      if (a.outputs[0] != a.inputs[0])
        std::memcpy(a.outputs[0], a.inputs[0], out_.bytes_at(a.batch));
      return;
    }
    TensorSpec plain = in_;
    plain.layout = Layout::kPlain;
    execute(*prim(a.batch), cpu_ctx(a),
            {{DNNL_ARG_SRC, mem(md_of(in_, a.batch), a.inputs[0])},
             {DNNL_ARG_DST, mem(md_of(plain, a.batch), a.outputs[0])}});
  }
  std::vector<std::pair<int, int>> inplace() const override {
    if (reorder_) return {};
    return {{0, 0}};
  }

 protected:
  Prim create(int64_t batch) const override {
    TensorSpec plain = in_;
    plain.layout = Layout::kPlain;
    return guarded("reorder to plain for reshape", [&] {
      dnnl::reorder::primitive_desc pd(engine(), md_of(in_, batch), engine(), md_of(plain, batch),
                                       base_attr());
      return make_prim<dnnl::reorder::primitive_desc, dnnl::reorder>(pd);
    });
  }

 private:
  TensorSpec in_, out_;
  bool reorder_ = false;
};

}  // namespace

void register_shape_kernels(KernelRegistry& r) {
  for (OpKind op : {OpKind::Flatten, OpKind::Reshape, OpKind::Squeeze, OpKind::Unsqueeze,
                    OpKind::Identity, OpKind::Dropout}) {
    auto supports = [](const Node& n, Precision) -> std::string {
      if (n.outputs.size() > 1 && n.outputs[1]) return "Dropout's mask output";
      for (size_t i = 1; i < n.inputs.size(); ++i)
        if (n.inputs[i] && !n.inputs[i]->is_constant()) return "the target shape is not a constant";
      // A dense copy whatever dim holds the batch; both sides must have one, or neither.
      if ((n.inputs[0]->batch_axis() < 0) != (n.outputs[0]->batch_axis() < 0))
        return "reshape adds or removes the batch dimension";
      return "";
    };
    add_kernel(
        r, op, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, supports,
        [](const Node&) {
          KernelFormats f;
          f.input_layouts = {Layout::kNHWC, Layout::kPlain};
          f.output_layout = Layout::kPlain;
          return f;
        },
        [] { return std::make_unique<ReshapeKernel>(); });
  }
}

}  // namespace mpq::cpu
