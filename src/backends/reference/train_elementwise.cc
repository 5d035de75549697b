// Add of two same-shape tensors (residual connections) in any layout: the output keeps the
// first input's layout, the second is converted to it. Broadcasting Adds use the reference rule.
#include "backends/reference/train_kernels.h"
#include "core/parallel.h"

namespace mpq::train {

namespace {

class AddKernel : public TrainKernel {
 public:
  const char* name() const override { return "add"; }
  Layout input_layout(size_t i, Layout given, const StepContext& ctx) const override {
    return i == 0 ? given : ctx.in[0]->layout;
  }
  Layout output_layout(size_t, const StepContext& ctx) const override { return ctx.in[0]->layout; }

  void forward(StepContext& ctx) override {
    const float* a = ctx.in[0]->data.data<float>();
    const float* b = ctx.in[1]->data.data<float>();
    float* y = ctx.out[0]->data.data<float>();
    parallel_for(ctx.out[0]->data.numel(), [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) y[i] = a[i] + b[i];
    });
  }

  void backward(StepContext& ctx) override {
    const Tensor& g = ctx.grad_out(0);
    for (size_t i = 0; i < 2; ++i)
      if (ctx.need_grad(i)) ctx.accumulate_grad(i, g);
  }
};

}  // namespace

std::unique_ptr<TrainKernel> make_add_train_kernel(const Node& n) {
  if (n.inputs.size() != 2 || !n.inputs[0] || !n.inputs[1]) return nullptr;
  const Value& a = *n.inputs[0];
  const Value& b = *n.inputs[1];
  if (a.dtype != DType::f32 || b.dtype != DType::f32 || a.shape != b.shape) return nullptr;
  if (a.constant || b.constant) return nullptr;
  return std::make_unique<AddKernel>();
}

}  // namespace mpq::train
