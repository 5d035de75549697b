// What the oneDNN convolution and inner-product training kernels share: a forward, a
// backward-data and a backward-weights primitive over (x, W[, b]) -> y, weights kept in the
// graph's plain layout and reordered to each primitive's choice, and the gradient plumbing.
// A subclass builds the three primitive descriptors in prepare() and calls finish_prepare().
#pragma once

#include "backends/cpu/train/common.h"

namespace mpq::train::dnnlk {

template <class Fwd, class BwdData, class BwdWeights>
class WeightedLayer : public TrainKernel {
 public:
  void forward(StepContext& ctx) override {
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, x_},
        {DNNL_ARG_WEIGHTS, w_fwd_.to_prim(ctx.in[1]->data.raw())},
        {DNNL_ARG_DST, y_}};
    if (has_bias_) args[DNNL_ARG_BIAS] = wrap(bmd_, ctx.in[2]->data);
    exec(fwd_, args);
  }

  void backward(StepContext& ctx) override {
    memory dy = wrap(ymd_, ctx.grad_out(0));
    if (ctx.need_grad(0)) {
      Tensor& gx = ctx.grad_in_begin(0);
      exec(bwd_d_, {{DNNL_ARG_DIFF_DST, dy},
                    {DNNL_ARG_WEIGHTS, w_bwd_.to_prim(ctx.in[1]->data.raw())},
                    {DNNL_ARG_DIFF_SRC, wrap(xmd_, gx)}});
      ctx.grad_in_done(0);
    }
    const bool gw = ctx.need_grad(1), gb = has_bias_ && ctx.need_grad(2);
    if (!gw && !gb) return;
    Tensor* wt = gw ? &ctx.grad_in_begin(1) : nullptr;
    memory dw = gw ? dw_.prim_target(wt->raw()) : memory(bwd_w_pd_.diff_weights_desc(), engine());
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, x_}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, dw}};
    if (has_bias_) args[DNNL_ARG_DIFF_BIAS] = wrap(bmd_, gb ? ctx.grad_in_begin(2) : bias_scratch_);
    exec(bwd_w_, args);
    if (gw) {
      dw_.to_user(wt->raw());
      ctx.grad_in_done(1);
    }
    if (gb) ctx.grad_in_done(2);
  }

 protected:
  // After fwd_pd_, bwd_d_pd_ and bwd_w_pd_ are set: creates the primitives and the weight
  // reorders; x_md/y_md/b_md describe the step's buffers, w_user the graph's weight layout.
  void finish_prepare(StepContext& ctx, const memory::desc& x_md, const memory::desc& y_md,
                      const memory::desc& b_md, const memory::desc& w_user) {
    fwd_ = Fwd(fwd_pd_);
    bwd_d_ = BwdData(bwd_d_pd_);
    bwd_w_ = BwdWeights(bwd_w_pd_);
    w_fwd_.init(w_user, fwd_pd_.weights_desc());
    w_bwd_.init(w_user, bwd_d_pd_.weights_desc());
    dw_.init(w_user, bwd_w_pd_.diff_weights_desc());
    xmd_ = x_md, ymd_ = y_md, bmd_ = b_md;
    x_ = wrap(x_md, ctx.in[0]->data);
    y_ = wrap(y_md, ctx.out[0]->data);
    if (has_bias_) bias_scratch_ = Tensor(DType::f32, {static_cast<int64_t>(b_md.get_size() / 4)});
  }

  bool has_bias_ = false;
  typename Fwd::primitive_desc fwd_pd_;
  typename BwdData::primitive_desc bwd_d_pd_;
  typename BwdWeights::primitive_desc bwd_w_pd_;

 private:
  Fwd fwd_;
  BwdData bwd_d_;
  BwdWeights bwd_w_;
  Reorder w_fwd_, w_bwd_, dw_;
  memory x_, y_;
  memory::desc xmd_, ymd_, bmd_;
  Tensor bias_scratch_;
};

}  // namespace mpq::train::dnnlk
