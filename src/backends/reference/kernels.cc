// The reference backend as kernels: every op's reference forward (OpDef::forward), in fp32 on
// plain tensors. It is what a plan falls back to when no optimized kernel handles a node, and the
// oracle optimized kernels are tested against.
#include <cstring>

#include "backends/backend.h"
#include "backends/reference/convert.h"
#include "backends/reference/train_kernels.h"
#include "ir/op_def.h"

namespace mpq {

namespace {

Tensor input_tensor(const TensorSpec* spec, const void* data, int64_t batch) {
  if (!spec) return Tensor();
  if (spec->constant) return *spec->constant;
  return Tensor::view(spec->dtype, spec->shape_at(batch), const_cast<void*>(data));
}

class ForwardKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    node_ = s.node;
    inputs_ = s.inputs;
    outputs_ = s.outputs;
    for (const TensorSpec* t : inputs_)
      if (t && !t->constant && t->layout != Layout::kPlain && t->shape.size() == 4)
        internal_error("reference kernels take plain tensors: " + t->str())
            .node(node_->name)
            .raise();
  }
  void run(const KernelArgs& a) const override {
    std::vector<Tensor> in;
    in.reserve(inputs_.size());
    for (size_t i = 0; i < inputs_.size(); ++i)
      in.push_back(input_tensor(inputs_[i], a.inputs[i], a.batch));
    std::vector<Tensor> out = node_->def().forward(*node_, in);
    for (size_t i = 0; i < outputs_.size(); ++i) {
      const TensorSpec& o = *outputs_[i];
      Tensor t = out.at(i).dtype() == o.dtype ? out[i] : out[i].cast(o.dtype);
      if (static_cast<size_t>(t.numel()) * dtype_size(t.dtype()) != o.bytes_at(a.batch))
        internal_error(str("reference ", node_->op_name(), " produced ", shape_str(t.shape()),
                           ", the plan expects ", shape_str(o.shape_at(a.batch))))
            .node(node_->name)
            .raise();
      std::memcpy(a.outputs[i], t.raw(), o.bytes_at(a.batch));
    }
  }
  std::string impl_name() const override { return "reference"; }

 private:
  const Node* node_ = nullptr;
  std::vector<const TensorSpec*> inputs_, outputs_;
};

// Reorder: any dtype/layout/quantization to any other, element by element.
class ConvertKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    from_ = *s.inputs.at(0);
    to_ = *s.outputs.at(0);
  }
  void run(const KernelArgs& a) const override {
    convert_tensor(from_, a.inputs[0], to_, a.outputs[0], a.batch);
  }
  std::string impl_name() const override { return "reference:convert"; }

 private:
  TensorSpec from_, to_;
};

class ReferenceBackend : public Backend {
 public:
  std::string name() const override { return "reference"; }
  std::unique_ptr<BackendContext> make_context(int) const override {
    return std::make_unique<BackendContext>();
  }
};

}  // namespace

const Backend& reference_backend() {
  static const ReferenceBackend b;
  return b;
}

void register_reference_kernels(KernelRegistry& r) {
  for (const OpDef* d : all_op_defs()) {
    if (!d->forward) continue;
    KernelInfo k;
    k.backend = "reference";
    k.op = d->kind;
    k.precision = Precision::kFp32;
    k.name = "reference." + d->name;
    k.formats = [](const Node&) { return KernelFormats{}; };
    if (d->kind == OpKind::Reorder) {
      k.formats = [](const Node&) {
        return KernelFormats{{Layout::kPlain, Layout::kNHWC}, Layout::kPlain, true};
      };
      k.make = [] { return std::make_unique<ConvertKernel>(); };
    } else {
      k.make = [] { return std::make_unique<ForwardKernel>(); };
    }
    r.add(std::move(k));
  }
  register_reference_train_kernels(r);
}

}  // namespace mpq
