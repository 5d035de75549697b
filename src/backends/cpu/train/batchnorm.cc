// BatchNormalization on oneDNN's batch-normalization primitives: training forward (batch
// statistics) and backward (x, scale, shift); inference forward with the running statistics.
// The running-statistic update is the reference one (backends/reference/train_batchnorm.h).
#include "backends/cpu/train/common.h"
#include "backends/cpu/train/kernels.h"
#include "backends/reference/train_batchnorm.h"

namespace mpq::train::dnnlk {

namespace {

class BatchNormKernel : public BatchNormKernelBase {
 public:
  explicit BatchNormKernel(const Node& n) : BatchNormKernelBase(n) {}
  const char* name() const override { return "dnnl.batchnorm"; }

  void prepare(StepContext& ctx) override {
    const Slot& x = *ctx.in[0];
    md_ = slot_desc(x);
    d_ = bn_dims(x.shape, x.layout);
    const auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    auto td = dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_training, md_, eps_,
                                                      flags);
    train_pd_ = dnnl::batch_normalization_forward::primitive_desc(td, engine());
    train_ = dnnl::batch_normalization_forward(train_pd_);
    auto id = dnnl::batch_normalization_forward::desc(
        dnnl::prop_kind::forward_inference, md_, eps_,
        flags | dnnl::normalization_flags::use_global_stats);
    infer_pd_ = dnnl::batch_normalization_forward::primitive_desc(id, engine());
    infer_ = dnnl::batch_normalization_forward(infer_pd_);
    auto bd =
        dnnl::batch_normalization_backward::desc(dnnl::prop_kind::backward, md_, md_, eps_, flags);
    bwd_pd_ = dnnl::batch_normalization_backward::primitive_desc(bd, engine(), train_pd_);
    bwd_ = dnnl::batch_normalization_backward(bwd_pd_);
    cmd_ = memory::desc({d_.C}, dt::f32, tag::a);
    mean_ = Tensor(DType::f32, {d_.C});
    var_ = Tensor(DType::f32, {d_.C});
    dg_ = Tensor(DType::f32, {d_.C});
    db_ = Tensor(DType::f32, {d_.C});
    x_ = wrap(md_, x.data);
    y_ = wrap(md_, ctx.out[0]->data);
  }

  void forward(StepContext& ctx) override {
    memory g = wrap(cmd_, ctx.in[1]->data), b = wrap(cmd_, ctx.in[2]->data);
    if (ctx.training) {
      exec(train_, {{DNNL_ARG_SRC, x_},
                    {DNNL_ARG_DST, y_},
                    {DNNL_ARG_SCALE, g},
                    {DNNL_ARG_SHIFT, b},
                    {DNNL_ARG_MEAN, wrap(cmd_, mean_)},
                    {DNNL_ARG_VARIANCE, wrap(cmd_, var_)}});
      update_running(ctx, mean_.data<float>(), var_.data<float>());
    } else if (y_used(ctx)) {
      exec(infer_, {{DNNL_ARG_SRC, x_},
                    {DNNL_ARG_DST, y_},
                    {DNNL_ARG_SCALE, g},
                    {DNNL_ARG_SHIFT, b},
                    {DNNL_ARG_MEAN, wrap(cmd_, ctx.in[3]->data)},
                    {DNNL_ARG_VARIANCE, wrap(cmd_, ctx.in[4]->data)}});
    }
    copy_running(ctx);
  }

  void backward(StepContext& ctx) override {
    if (!ctx.training) unsupported("BatchNormalization backward in inference mode").raise();
    Tensor* dx = ctx.need_grad(0) ? &ctx.grad_in_begin(0) : &dx_scratch(ctx);
    exec(bwd_, {{DNNL_ARG_SRC, x_},
                {DNNL_ARG_DIFF_DST, wrap(md_, ctx.grad_out(0))},
                {DNNL_ARG_SCALE, wrap(cmd_, ctx.in[1]->data)},
                {DNNL_ARG_SHIFT, wrap(cmd_, ctx.in[2]->data)},  // 2.6 asks for it (unused)
                {DNNL_ARG_MEAN, wrap(cmd_, mean_)},
                {DNNL_ARG_VARIANCE, wrap(cmd_, var_)},
                {DNNL_ARG_DIFF_SRC, wrap(md_, *dx)},
                {DNNL_ARG_DIFF_SCALE, wrap(cmd_, dg_)},
                {DNNL_ARG_DIFF_SHIFT, wrap(cmd_, db_)}});
    if (ctx.need_grad(0)) ctx.grad_in_done(0);
    if (ctx.need_grad(1)) ctx.accumulate_grad(1, dg_);
    if (ctx.need_grad(2)) ctx.accumulate_grad(2, db_);
  }

 private:
  Tensor& dx_scratch(StepContext& ctx) {
    if (dx_.empty()) dx_ = Tensor(DType::f32, ctx.in[0]->data.shape());
    return dx_;
  }

  memory::desc md_, cmd_;
  dnnl::batch_normalization_forward::primitive_desc train_pd_, infer_pd_;
  dnnl::batch_normalization_forward train_, infer_;
  dnnl::batch_normalization_backward::primitive_desc bwd_pd_;
  dnnl::batch_normalization_backward bwd_;
  Tensor mean_, var_, dg_, db_, dx_;
  memory x_, y_;
};

std::unique_ptr<TrainKernel> make_bn(const Node& n) {
  if (!make_batchnorm_train_kernel(n)) return nullptr;  // same input conditions
  const size_t r = n.inputs[0]->shape.size();
  if (r != 2 && r != 4) return nullptr;
  return std::make_unique<BatchNormKernel>(n);
}

}  // namespace

void register_batchnorm(KernelRegistry& r) {
  r.add_train("cpu", OpKind::BatchNormalization, make_bn);
}

}  // namespace mpq::train::dnnlk
