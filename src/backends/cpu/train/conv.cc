// 2-D convolution (groups, strides, dilations, pads) on oneDNN's forward, backward-data and
// backward-weights primitives. Activations are NHWC; the weights stay plain OIHW in the graph
// and are reordered into the primitive's format at every step (they change at every step).
#include "backends/cpu/train/kernels.h"
#include "backends/cpu/train/weighted_layer.h"

namespace mpq::train::dnnlk {

namespace {

using ConvBase = WeightedLayer<dnnl::convolution_forward, dnnl::convolution_backward_data,
                               dnnl::convolution_backward_weights>;

class ConvKernel : public ConvBase {
 public:
  explicit ConvKernel(const Node& n) {
    group_ = n.attrs.i("group", 1);
    strides_ = n.attrs.ints("strides", {1, 1});
    dil_ = n.attrs.ints("dilations", {1, 1});
    pads_ = n.attrs.ints("pads", {0, 0, 0, 0});
  }
  const char* name() const override { return "dnnl.conv"; }
  Layout input_layout(size_t i, Layout given, const StepContext&) const override {
    return i == 0 ? Layout::kNHWC : Layout::kPlain;
  }
  Layout output_layout(size_t, const StepContext&) const override { return Layout::kNHWC; }

  void prepare(StepContext& ctx) override {
    const Slot& x = *ctx.in[0];
    const Slot& w = *ctx.in[1];
    const Slot& y = *ctx.out[0];
    has_bias_ = ctx.in.size() > 2 && ctx.in[2];
    const int64_t O = w.shape[0];
    memory::dims wdims = group_ == 1
                             ? cpu::dims_of(w.shape)
                             : memory::dims{group_, O / group_, w.shape[1], w.shape[2], w.shape[3]};
    memory::desc w_user = memory::desc(wdims, dt::f32, group_ == 1 ? tag::oihw : tag::goihw);
    memory::desc w_any = memory::desc(wdims, dt::f32, tag::any);
    memory::desc x_md = slot_desc(x), y_md = slot_desc(y);
    memory::desc b_md = memory::desc({O}, dt::f32, tag::a);
    memory::dims st = {strides_[0], strides_[1]};
    memory::dims dl = {dil_[0] - 1, dil_[1] - 1};
    memory::dims pl = {pads_[0], pads_[1]};
    // oneDNN wants the right padding that makes the output size exact.
    memory::dims pr = {pad_r(x.shape[2], w.shape[2], 0, y.shape[2]),
                       pad_r(x.shape[3], w.shape[3], 1, y.shape[3])};
    auto fd = has_bias_ ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                          dnnl::algorithm::convolution_direct, x_md,
                                                          w_any, b_md, y_md, st, dl, pl, pr)
                        : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                          dnnl::algorithm::convolution_direct, x_md,
                                                          w_any, y_md, st, dl, pl, pr);
    fwd_pd_ = dnnl::convolution_forward::primitive_desc(fd, engine());
    auto bd = dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, x_md,
                                                    w_any, y_md, st, dl, pl, pr);
    bwd_d_pd_ = dnnl::convolution_backward_data::primitive_desc(bd, engine(), fwd_pd_);
    auto bw =
        has_bias_
            ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, x_md,
                                                       w_any, b_md, y_md, st, dl, pl, pr)
            : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, x_md,
                                                       w_any, y_md, st, dl, pl, pr);
    bwd_w_pd_ = dnnl::convolution_backward_weights::primitive_desc(bw, engine(), fwd_pd_);
    finish_prepare(ctx, x_md, y_md, b_md, w_user);
  }

 private:
  int64_t pad_r(int64_t in, int64_t k, int axis, int64_t out) const {
    const int64_t ek = (k - 1) * dil_[axis] + 1;
    return (out - 1) * strides_[axis] + ek - in - pads_[axis];
  }

  int64_t group_ = 1;
  std::vector<int64_t> strides_, dil_, pads_;
};

std::unique_ptr<TrainKernel> make_conv(const Node& n) {
  if (n.inputs.size() < 2 || !n.inputs[0] || !n.inputs[1]) return nullptr;
  const Value& x = *n.inputs[0];
  const Value& w = *n.inputs[1];
  if (x.dtype != DType::f32 || w.dtype != DType::f32) return nullptr;
  if (x.shape.size() != 4 || w.shape.size() != 4) return nullptr;  // 2-D convolutions only
  const std::string ap = n.attrs.has("auto_pad") ? n.attrs.s("auto_pad") : "NOTSET";
  if (ap != "NOTSET" && !ap.empty()) return nullptr;
  if (n.attrs.ints("pads", {0, 0, 0, 0}).size() != 4) return nullptr;
  return std::make_unique<ConvKernel>(n);
}

}  // namespace

void register_conv(KernelRegistry& r) {
  r.add_train("cpu", OpKind::Conv, make_conv);
}

}  // namespace mpq::train::dnnlk
