// FakeQuantize in the trainer: the op's own element loops (ir/ops/internal/fake_quantize.h, i.e.
// quant::fake_quantize_value) run in parallel and on NHWC buffers, so activations need no
// layout conversion around a fake-quantizer.
#include "backends/reference/train_kernels.h"
#include "core/parallel.h"
#include "ir/ops/internal/fake_quantize.h"
#include "ir/ops/op_util.h"

namespace mpq::train {

namespace {

class FakeQuantizeKernel : public TrainKernel {
 public:
  explicit FakeQuantizeKernel(const Node& n)
      : range_{n.attrs.i("qmin"), n.attrs.i("qmax")}, axis_(n.attrs.i("axis", 1)) {}
  const char* name() const override { return "fake_quantize"; }
  Layout input_layout(size_t i, Layout given, const StepContext&) const override {
    return i == 0 ? given : Layout::kPlain;
  }
  Layout output_layout(size_t, const StepContext& ctx) const override { return ctx.in[0]->layout; }
  bool differentiable(size_t i) const override { return i == 0; }

  void forward(StepContext& ctx) override {
    const ops::FakeQuantArgs a = args(ctx);
    const float* x = ctx.in[0]->data.data<float>();
    float* y = ctx.out[0]->data.data<float>();
    parallel_for(ctx.out[0]->data.numel(),
                 [&](int64_t b, int64_t e) { ops::fake_quantize_span(x, y, b, e, a); });
  }

  void backward(StepContext& ctx) override {
    if (!ctx.need_grad(0)) return;
    const ops::FakeQuantArgs a = args(ctx);
    const float* x = ctx.in[0]->data.data<float>();
    const float* gy = ctx.grad_out(0).data<float>();
    float* gx = ctx.grad_in_begin(0).data<float>();
    parallel_for(ctx.out[0]->data.numel(),
                 [&](int64_t b, int64_t e) { ops::fake_quantize_ste_span(x, gy, gx, b, e, a); });
    ctx.grad_in_done(0);
  }

 private:
  ops::FakeQuantArgs args(StepContext& ctx) {
    const Slot& x = *ctx.in[0];
    zp_ = ctx.in[2]->data.to_int64s();
    ops::FakeQuantArgs a;
    a.range = range_;
    a.scale = ctx.in[1]->data.data<float>();
    a.zero_point = zp_.data();
    a.channels = ctx.in[1]->data.numel();
    if (a.channels > 1) {
      const int64_t r = static_cast<int64_t>(x.shape.size());
      const int64_t axis = ops::normalize_axis(axis_, r);
      if (x.layout == Layout::kNHWC && r == 4 && axis == 1) {
        a.inner = 1;  // channels are innermost
      } else {
        const Shape phys = physical_shape(x.shape, x.layout);
        if (x.layout == Layout::kNHWC && r == 4)
          internal_error("per-channel fake-quantization of an NHWC tensor along a non-channel axis")
              .raise();
        for (int64_t d = axis + 1; d < r; ++d) a.inner *= phys[d];
      }
    }
    return a;
  }

  quant::QRange range_;
  int64_t axis_;
  std::vector<int64_t> zp_;
};

}  // namespace

std::unique_ptr<TrainKernel> make_fake_quantize_train_kernel(const Node& n) {
  if (n.inputs.size() != 3 || !n.inputs[0] || n.inputs[0]->dtype != DType::f32) return nullptr;
  return std::make_unique<FakeQuantizeKernel>(n);
}

}  // namespace mpq::train
