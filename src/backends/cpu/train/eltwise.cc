// Relu and Clip (constant bounds) on oneDNN's eltwise forward/backward primitives, over the flat
// buffer (so any layout works and the output keeps the input's layout). Clip uses clip_v2, whose
// gradient passes only strictly inside (min, max), as PyTorch's hardtanh/ReLU6 backward does.
#include <limits>

#include "backends/cpu/train/common.h"
#include "backends/cpu/train/kernels.h"

namespace mpq::train::dnnlk {

namespace {

class EltwiseKernel : public TrainKernel {
 public:
  EltwiseKernel(dnnl::algorithm alg, float alpha, float beta)
      : alg_(alg), alpha_(alpha), beta_(beta) {}
  const char* name() const override { return "dnnl.eltwise"; }
  Layout input_layout(size_t i, Layout given, const StepContext&) const override {
    return i == 0 ? given : Layout::kPlain;
  }
  Layout output_layout(size_t, const StepContext& ctx) const override { return ctx.in[0]->layout; }
  bool differentiable(size_t i) const override { return i == 0; }

  void prepare(StepContext& ctx) override {
    md_ = flat_desc(ctx.in[0]->data.numel());
    auto fd =
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, alg_, md_, alpha_, beta_);
    fwd_pd_ = dnnl::eltwise_forward::primitive_desc(fd, engine());
    fwd_ = dnnl::eltwise_forward(fwd_pd_);
    auto bd = dnnl::eltwise_backward::desc(alg_, md_, md_, alpha_, beta_);
    bwd_pd_ = dnnl::eltwise_backward::primitive_desc(bd, engine(), fwd_pd_);
    bwd_ = dnnl::eltwise_backward(bwd_pd_);
    x_ = wrap(md_, ctx.in[0]->data);
    y_ = wrap(md_, ctx.out[0]->data);
  }

  void forward(StepContext&) override { exec(fwd_, {{DNNL_ARG_SRC, x_}, {DNNL_ARG_DST, y_}}); }

  void backward(StepContext& ctx) override {
    if (!ctx.need_grad(0)) return;
    Tensor& gx = ctx.grad_in_begin(0);
    exec(bwd_, {{DNNL_ARG_SRC, x_},
                {DNNL_ARG_DIFF_DST, wrap(md_, ctx.grad_out(0))},
                {DNNL_ARG_DIFF_SRC, wrap(md_, gx)}});
    ctx.grad_in_done(0);
  }

 private:
  dnnl::algorithm alg_;
  float alpha_, beta_;
  memory::desc md_;
  dnnl::eltwise_forward::primitive_desc fwd_pd_;
  dnnl::eltwise_forward fwd_;
  dnnl::eltwise_backward::primitive_desc bwd_pd_;
  dnnl::eltwise_backward bwd_;
  memory x_, y_;
};

bool f32_input(const Node& n) {
  return !n.inputs.empty() && n.inputs[0] && n.inputs[0]->dtype == DType::f32;
}

std::unique_ptr<TrainKernel> make_relu(const Node& n) {
  if (!f32_input(n)) return nullptr;
  return std::make_unique<EltwiseKernel>(dnnl::algorithm::eltwise_relu, 0.f, 0.f);
}

// A constant scalar bound, or the default when the input is omitted; false if not constant.
bool bound(const Node& n, size_t i, float def, float* out) {
  if (n.inputs.size() <= i || !n.inputs[i]) return *out = def, true;
  const Value& v = *n.inputs[i];
  if (!v.constant || v.constant->numel() != 1) return false;
  *out = v.constant->to_floats()[0];
  return true;
}

std::unique_ptr<TrainKernel> make_clip(const Node& n) {
  if (!f32_input(n)) return nullptr;
  float lo, hi;
  if (!bound(n, 1, -std::numeric_limits<float>::max(), &lo)) return nullptr;
  if (!bound(n, 2, std::numeric_limits<float>::max(), &hi)) return nullptr;
  if (!(lo <= hi)) return nullptr;
  return std::make_unique<EltwiseKernel>(dnnl::algorithm::eltwise_clip_v2, lo, hi);
}

}  // namespace

void register_eltwise(KernelRegistry& r) {
  r.add_train("cpu", OpKind::Relu, make_relu);
  r.add_train("cpu", OpKind::Clip, make_clip);
}

}  // namespace mpq::train::dnnlk
