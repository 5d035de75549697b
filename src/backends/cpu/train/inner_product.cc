// Gemm as a fully connected layer (Y = A * B' + C with A [N,K], B [M,K] or [K,M], C [M]) on
// oneDNN's inner-product forward, backward-data and backward-weights primitives. Other Gemm forms
// (transA, alpha/beta != 1, a 2-D C) run on the reference rule.
#include "backends/cpu/train/kernels.h"
#include "backends/cpu/train/weighted_layer.h"

namespace mpq::train::dnnlk {

namespace {

using IpBase = WeightedLayer<dnnl::inner_product_forward, dnnl::inner_product_backward_data,
                             dnnl::inner_product_backward_weights>;

class InnerProductKernel : public IpBase {
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
    const memory::desc xmd({x.shape[0], K}, dt::f32, tag::nc);
    const memory::desc ymd({y.shape[0], M}, dt::f32, tag::nc);
    const memory::desc bmd({M}, dt::f32, tag::a);
    auto fd = has_bias_ ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training, xmd,
                                                            w_any, bmd, ymd)
                        : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training, xmd,
                                                            w_any, ymd);
    fwd_pd_ = dnnl::inner_product_forward::primitive_desc(fd, engine());
    auto bd = dnnl::inner_product_backward_data::desc(xmd, w_any, ymd);
    bwd_d_pd_ = dnnl::inner_product_backward_data::primitive_desc(bd, engine(), fwd_pd_);
    auto bw = has_bias_ ? dnnl::inner_product_backward_weights::desc(xmd, w_any, bmd, ymd)
                        : dnnl::inner_product_backward_weights::desc(xmd, w_any, ymd);
    bwd_w_pd_ = dnnl::inner_product_backward_weights::primitive_desc(bw, engine(), fwd_pd_);
    finish_prepare(ctx, xmd, ymd, bmd, w_user);
  }

 private:
  bool trans_b_;
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

void register_inner_product(KernelRegistry& r) {
  r.add_train("cpu", OpKind::Gemm, make_gemm);
}

}  // namespace mpq::train::dnnlk
