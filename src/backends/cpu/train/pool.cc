// MaxPool, AveragePool and GlobalAveragePool (2-D) on oneDNN's pooling forward (training, with
// the max-pool workspace) and backward primitives. NHWC in, NHWC out.
#include "backends/cpu/train/common.h"
#include "backends/cpu/train/kernels.h"

namespace mpq::train::dnnlk {

namespace {

struct PoolAttrs {
  dnnl::algorithm alg = dnnl::algorithm::pooling_max;
  bool global = false;
  std::vector<int64_t> kernel, strides, pads, dil;
};

class PoolKernel : public TrainKernel {
 public:
  explicit PoolKernel(PoolAttrs a) : a_(std::move(a)) {}
  const char* name() const override { return "dnnl.pool"; }
  Layout input_layout(size_t, Layout, const StepContext&) const override { return Layout::kNHWC; }
  Layout output_layout(size_t, const StepContext&) const override { return Layout::kNHWC; }

  void prepare(StepContext& ctx) override {
    const Slot& x = *ctx.in[0];
    const Slot& y = *ctx.out[0];
    if (a_.global) {
      a_.kernel = {x.shape[2], x.shape[3]};
      a_.strides = {1, 1};
      a_.pads = {0, 0, 0, 0};
      a_.dil = {1, 1};
    }
    xmd_ = slot_desc(x);
    ymd_ = slot_desc(y);
    memory::dims st = {a_.strides[0], a_.strides[1]};
    memory::dims k = {a_.kernel[0], a_.kernel[1]};
    memory::dims dl = {a_.dil[0] - 1, a_.dil[1] - 1};
    memory::dims pl = {a_.pads[0], a_.pads[1]};
    memory::dims pr(2);
    for (int d = 0; d < 2; ++d) {
      const int64_t ek = (a_.kernel[d] - 1) * a_.dil[d] + 1;
      const int64_t exact = (y.shape[2 + d] - 1) * a_.strides[d] + ek - x.shape[2 + d] - a_.pads[d];
      pr[d] = std::max(exact, a_.pads[2 + d]);
    }
    auto fd = dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_training, a_.alg, xmd_, ymd_,
                                             st, k, dl, pl, pr);
    fwd_pd_ = dnnl::pooling_v2_forward::primitive_desc(fd, engine());
    fwd_ = dnnl::pooling_v2_forward(fwd_pd_);
    auto bd = dnnl::pooling_v2_backward::desc(a_.alg, xmd_, ymd_, st, k, dl, pl, pr);
    bwd_pd_ = dnnl::pooling_v2_backward::primitive_desc(bd, engine(), fwd_pd_);
    bwd_ = dnnl::pooling_v2_backward(bwd_pd_);
    has_ws_ = fwd_pd_.workspace_desc().get_size() > 0;
    if (has_ws_) ws_ = memory(fwd_pd_.workspace_desc(), engine());
    x_ = wrap(xmd_, x.data);
    y_ = wrap(ymd_, y.data);
  }

  void forward(StepContext& ctx) override {
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, x_}, {DNNL_ARG_DST, y_}};
    if (has_ws_) args[DNNL_ARG_WORKSPACE] = ws_;
    exec(fwd_, args);
  }

  void backward(StepContext& ctx) override {
    if (!ctx.need_grad(0)) return;
    Tensor& gx = ctx.grad_in_begin(0);
    std::unordered_map<int, memory> args = {{DNNL_ARG_DIFF_DST, wrap(ymd_, ctx.grad_out(0))},
                                            {DNNL_ARG_DIFF_SRC, wrap(xmd_, gx)}};
    if (has_ws_) args[DNNL_ARG_WORKSPACE] = ws_;
    exec(bwd_, args);
    ctx.grad_in_done(0);
  }

 private:
  PoolAttrs a_;
  dnnl::pooling_v2_forward::primitive_desc fwd_pd_;
  dnnl::pooling_v2_forward fwd_;
  dnnl::pooling_v2_backward::primitive_desc bwd_pd_;
  dnnl::pooling_v2_backward bwd_;
  bool has_ws_ = false;
  memory ws_, x_, y_;
  memory::desc xmd_, ymd_;
};

bool is_4d_f32(const Node& n) {
  return !n.inputs.empty() && n.inputs[0] && n.inputs[0]->dtype == DType::f32 &&
         n.inputs[0]->shape.size() == 4;
}

bool read_window(const Node& n, PoolAttrs& a) {
  const std::string ap = n.attrs.has("auto_pad") ? n.attrs.s("auto_pad") : "NOTSET";
  if (ap != "NOTSET" && !ap.empty()) return false;
  a.kernel = n.attrs.ints("kernel_shape", {});
  a.strides = n.attrs.ints("strides", {1, 1});
  a.pads = n.attrs.ints("pads", {0, 0, 0, 0});
  a.dil = n.attrs.ints("dilations", {1, 1});
  return a.kernel.size() == 2 && a.strides.size() == 2 && a.pads.size() == 4 && a.dil.size() == 2;
}

std::unique_ptr<TrainKernel> make_maxpool(const Node& n) {
  if (!is_4d_f32(n) || n.outputs.size() > 1) return nullptr;  // no Indices output
  if (n.attrs.i("storage_order", 0) != 0) return nullptr;
  PoolAttrs a;
  a.alg = dnnl::algorithm::pooling_max;
  if (!read_window(n, a)) return nullptr;
  return std::make_unique<PoolKernel>(a);
}

std::unique_ptr<TrainKernel> make_avgpool(const Node& n) {
  if (!is_4d_f32(n)) return nullptr;
  PoolAttrs a;
  const bool include = n.attrs.i("count_include_pad", 0) != 0;
  a.alg = include ? dnnl::algorithm::pooling_avg_include_padding
                  : dnnl::algorithm::pooling_avg_exclude_padding;
  if (!read_window(n, a) || n.attrs.i("ceil_mode", 0) != 0) return nullptr;
  return std::make_unique<PoolKernel>(a);
}

std::unique_ptr<TrainKernel> make_global_avgpool(const Node& n) {
  if (!is_4d_f32(n)) return nullptr;
  PoolAttrs a;
  a.alg = dnnl::algorithm::pooling_avg_exclude_padding;
  a.global = true;
  return std::make_unique<PoolKernel>(a);
}

}  // namespace

void register_pool(KernelRegistry& r) {
  r.add_train("cpu", OpKind::MaxPool, make_maxpool);
  r.add_train("cpu", OpKind::AveragePool, make_avgpool);
  r.add_train("cpu", OpKind::GlobalAveragePool, make_global_avgpool);
}

}  // namespace mpq::train::dnnlk
