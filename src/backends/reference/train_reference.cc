// The reference backend's training kernels: the op's own forward/backward rules (OpDef) on plain
// tensors, the layout conversions the planner inserts, and the registration of the reference
// training kernels of single ops (train_elementwise.cc, train_fake_quantize.cc,
// train_batchnorm.cc).
#include <cstring>

#include "backends/reference/train_batchnorm.h"
#include "backends/reference/train_kernels.h"
#include "core/parallel.h"
#include "ir/op_def.h"

namespace mpq::train {

namespace {

class ReferenceKernel : public TrainKernel {
 public:
  const char* name() const override { return "reference"; }

  void forward(StepContext& ctx) override {
    const Node& n = *ctx.node;
    std::vector<Tensor> args = inputs(ctx);
    std::vector<Tensor> outs = n.def().forward(n, args);
    if (outs.size() < ctx.out.size())
      internal_error(str(n.op_name(), " returned ", outs.size(), " outputs")).node(n.name).raise();
    for (size_t o = 0; o < ctx.out.size(); ++o) {
      Slot& s = *ctx.out[o];
      if (outs[o].numel() != s.data.numel() || outs[o].dtype() != s.data.dtype())
        internal_error(str("output ", o, " is ", dtype_name(outs[o].dtype()),
                           shape_str(outs[o].shape()), ", the plan expected ",
                           dtype_name(s.data.dtype()), shape_str(s.shape)))
            .node(n.name)
            .raise();
      if (s.data.nbytes()) std::memcpy(s.data.raw(), outs[o].raw(), s.data.nbytes());
    }
  }

  void backward(StepContext& ctx) override {
    const Node& n = *ctx.node;
    if (!n.def().backward)
      unsupported(
          str(n.op_name(), " has no backward rule: training cannot pass gradients through it"))
          .node(n.name)
          .raise();
    std::vector<Tensor> args = inputs(ctx);
    std::vector<Tensor> outs, gys;
    for (size_t o = 0; o < ctx.out.size(); ++o) {
      outs.push_back(ctx.out[o]->data);
      gys.push_back(ctx.out[o]->data.dtype() == DType::f32 ? ctx.grad_out(o) : Tensor());
    }
    std::vector<Tensor> gx = n.def().backward(n, args, outs, gys);
    for (size_t i = 0; i < ctx.in.size(); ++i)
      if (ctx.need_grad(i) && i < gx.size() && !gx[i].empty() && gx[i].numel() > 0)
        ctx.accumulate_grad(i, gx[i]);
  }

 private:
  static std::vector<Tensor> inputs(StepContext& ctx) {
    std::vector<Tensor> args;
    args.reserve(ctx.in.size());
    for (Slot* s : ctx.in) args.push_back(s ? s->data : Tensor());
    return args;
  }
};

// NCHW <-> NHWC transposition of one tensor (the backward converts the gradient back).
void transpose_layout(const Tensor& src, Tensor& dst, const Shape& s, Layout from) {
  const int64_t N = s[0], C = s[1], HW = s[2] * s[3];
  const float* p = src.data<float>();
  float* q = dst.data<float>();
  parallel_for(
      N * C,
      [&](int64_t b, int64_t e) {
        for (int64_t nc = b; nc < e; ++nc) {
          const int64_t n = nc / C, c = nc % C;
          if (from == Layout::kPlain) {
            const float* sp = p + nc * HW;
            float* dp = q + n * HW * C + c;
            for (int64_t k = 0; k < HW; ++k) dp[k * C] = sp[k];
          } else {
            const float* sp = p + n * HW * C + c;
            float* dp = q + nc * HW;
            for (int64_t k = 0; k < HW; ++k) dp[k] = sp[k * C];
          }
        }
      },
      std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(HW, 1)));
}

class LayoutKernel : public TrainKernel {
 public:
  LayoutKernel(Layout from, Layout to) : from_(from), to_(to) {}
  const char* name() const override { return "layout"; }
  Layout input_layout(size_t, Layout, const StepContext&) const override { return from_; }
  Layout output_layout(size_t, const StepContext&) const override { return to_; }
  void forward(StepContext& ctx) override {
    const Slot& a = *ctx.in[0];
    Slot& b = *ctx.out[0];
    if (same_bytes(a.shape, from_, to_))
      std::memcpy(b.data.raw(), a.data.raw(), a.data.nbytes());
    else
      transpose_layout(a.data, b.data, a.shape, from_);
  }
  void backward(StepContext& ctx) override {
    if (!ctx.need_grad(0)) return;
    const Slot& b = *ctx.out[0];
    const Tensor& g = ctx.grad_out(0);
    Tensor& t = ctx.grad_in_begin(0);
    if (same_bytes(b.shape, from_, to_))
      std::memcpy(t.raw(), g.raw(), g.nbytes());
    else
      transpose_layout(g, t, b.shape, to_);
    ctx.grad_in_done(0);
  }

 private:
  Layout from_, to_;
};

}  // namespace

std::unique_ptr<TrainKernel> make_reference_train_kernel() {
  return std::make_unique<ReferenceKernel>();
}

std::unique_ptr<TrainKernel> make_reference_layout_kernel(Layout from, Layout to) {
  return std::make_unique<LayoutKernel>(from, to);
}

}  // namespace mpq::train

namespace mpq {

void register_reference_train_kernels(KernelRegistry& r) {
  r.add_train("reference", OpKind::BatchNormalization, train::make_batchnorm_train_kernel);
  r.add_train("reference", OpKind::Add, train::make_add_train_kernel);
  r.add_train("reference", OpKind::FakeQuantize, train::make_fake_quantize_train_kernel);
}

}  // namespace mpq
