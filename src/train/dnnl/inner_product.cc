// Gemm as a fully connected layer (Y = A * B' + C with A [N,K], B [M,K] or [K,M], C [M]) on
// oneDNN's inner-product forward, backward-data and backward-weights primitives. Other Gemm forms
// (transA, alpha/beta != 1, a 2-D C) run on the reference rule.
#ifdef MPQ_HAVE_DNNL
#include "train/dnnl/common.h"
#include "train/dnnl/kernels.h"

namespace mpq::train::dnnlk {

namespace {

class InnerProductKernel : public TrainKernel {
 public:
  explicit InnerProductKernel(bool trans_b) : trans_b_(trans_b) {}
  const char* name() const override { return "dnnl.inner_product"; }

  void prepare(StepContext& ctx) override {
    const Slot& x = *ctx.in[0];
    const Slot& y = *ctx.out[0];
    has_bias_ = ctx.in.size() > 2 && ctx.in[2];
    const int64_t M = y.shape[1], K = x.shape[1];
    memory::desc w_user({M, K}, dt::f32, trans_b_ ? tag::oi : tag::io);
    // Plain weights: the gemm-based implementation needs no per-step weight reorders, which cost
    // more than they save at these sizes.
    const memory::desc& w_any = w_user;
    xmd_ = memory::desc({x.shape[0], K}, dt::f32, tag::nc);
    ymd_ = memory::desc({y.shape[0], M}, dt::f32, tag::nc);
    bmd_ = memory::desc({M}, dt::f32, tag::a);
    auto fd = has_bias_ ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training, xmd_,
                                                            w_any, bmd_, ymd_)
                        : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training, xmd_,
                                                            w_any, ymd_);
    fwd_pd_ = dnnl::inner_product_forward::primitive_desc(fd, engine());
    fwd_ = dnnl::inner_product_forward(fwd_pd_);
    w_fwd_.init(w_user, fwd_pd_.weights_desc());
    auto bd = dnnl::inner_product_backward_data::desc(xmd_, w_any, ymd_);
    bwd_d_pd_ = dnnl::inner_product_backward_data::primitive_desc(bd, engine(), fwd_pd_);
    bwd_d_ = dnnl::inner_product_backward_data(bwd_d_pd_);
    w_bwd_.init(w_user, bwd_d_pd_.weights_desc());
    auto bw = has_bias_ ? dnnl::inner_product_backward_weights::desc(xmd_, w_any, bmd_, ymd_)
                        : dnnl::inner_product_backward_weights::desc(xmd_, w_any, ymd_);
    bwd_w_pd_ = dnnl::inner_product_backward_weights::primitive_desc(bw, engine(), fwd_pd_);
    bwd_w_ = dnnl::inner_product_backward_weights(bwd_w_pd_);
    dw_.init(w_user, bwd_w_pd_.diff_weights_desc());
    if (has_bias_) bias_scratch_ = Tensor(DType::f32, {M});
    x_ = wrap(xmd_, x.data);
    y_ = wrap(ymd_, y.data);
  }

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
    Tensor* bt = nullptr;
    if (has_bias_) {
      bt = gb ? &ctx.grad_in_begin(2) : &bias_scratch_;
      args[DNNL_ARG_DIFF_BIAS] = wrap(bmd_, *bt);
    }
    exec(bwd_w_, args);
    if (gw) {
      dw_.to_user(wt->raw());
      ctx.grad_in_done(1);
    }
    if (gb) ctx.grad_in_done(2);
  }

 private:
  bool trans_b_;
  bool has_bias_ = false;
  dnnl::inner_product_forward::primitive_desc fwd_pd_;
  dnnl::inner_product_forward fwd_;
  dnnl::inner_product_backward_data::primitive_desc bwd_d_pd_;
  dnnl::inner_product_backward_data bwd_d_;
  dnnl::inner_product_backward_weights::primitive_desc bwd_w_pd_;
  dnnl::inner_product_backward_weights bwd_w_;
  Reorder w_fwd_, w_bwd_, dw_;
  memory x_, y_;
  memory::desc xmd_, ymd_, bmd_;
  Tensor bias_scratch_;
};

std::unique_ptr<TrainKernel> make_gemm(const Node& n) {
  if (n.inputs.size() < 2 || !n.inputs[0] || !n.inputs[1]) return nullptr;
  const Value& a = *n.inputs[0];
  const Value& b = *n.inputs[1];
  if (a.dtype != DType::f32 || b.dtype != DType::f32) return nullptr;
  if (a.shape.size() != 2 || b.shape.size() != 2) return nullptr;
  if (n.attrs.i("transA", 0) != 0 || n.attrs.f("alpha", 1.f) != 1.f) return nullptr;
  const bool trans_b = n.attrs.i("transB", 0) != 0;
  const int64_t M = trans_b ? b.shape[0] : b.shape[1];
  if (n.inputs.size() > 2 && n.inputs[2]) {
    const Value& c = *n.inputs[2];
    if (n.attrs.f("beta", 1.f) != 1.f || c.dtype != DType::f32) return nullptr;
    if (!(c.shape == Shape{M} || c.shape == Shape{1, M})) return nullptr;
  }
  return std::make_unique<InnerProductKernel>(trans_b);
}

}  // namespace

void register_inner_product() {
  register_kernel("Gemm", make_gemm, "dnnl.inner_product");
}

}  // namespace mpq::train::dnnlk
#endif
