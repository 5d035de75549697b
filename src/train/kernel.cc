#include "train/kernel.h"

#include <cstring>
#include <map>
#include <mutex>

#include "ir/op_def.h"
#include "train/parallel.h"

namespace mpq::train {

const char* layout_name(Layout l) {
  return l == Layout::kNhwc ? "nhwc" : "plain";
}

Shape physical_shape(const Shape& s, Layout l) {
  if (l == Layout::kNhwc && s.size() == 4) return {s[0], s[2], s[3], s[1]};
  return s;
}

bool same_bytes(const Shape& s, Layout a, Layout b) {
  return a == b || s.size() != 4 || s[1] == 1 || s[2] * s[3] == 1;
}

// --- gradient plumbing

const Tensor& StepContext::grad_out(size_t o) {
  Slot& s = *out[o];
  if (!s.has_grad) {
    if (!s.grad.defined() || s.grad.empty())
      s.grad = Tensor(DType::f32, physical_shape(s.shape, s.layout));
    std::memset(s.grad.raw(), 0, s.grad.nbytes());
    s.has_grad = true;
  }
  return s.grad;
}

Tensor& StepContext::grad_in_begin(size_t i) {
  Slot& s = *in[i];
  if (!s.has_grad) return s.grad;
  if (s.scratch.empty()) s.scratch = Tensor(DType::f32, s.grad.shape());
  return s.scratch;
}

static void add_into(Tensor& dst, const Tensor& src) {
  float* d = dst.data<float>();
  const float* p = src.data<float>();
  parallel_for(dst.numel(), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) d[k] += p[k];
  });
}

void StepContext::grad_in_done(size_t i) {
  Slot& s = *in[i];
  if (s.has_grad)
    add_into(s.grad, s.scratch);
  else
    s.has_grad = true;
}

void StepContext::accumulate_grad(size_t i, const Tensor& g) {
  Slot& s = *in[i];
  if (g.numel() != s.grad.numel())
    internal_error(
        str("gradient of '", s.name, "' has ", g.numel(), " elements, expected ", s.grad.numel()))
        .raise();
  if (s.has_grad) {
    add_into(s.grad, g);
  } else {
    if (g.raw() != s.grad.raw()) std::memcpy(s.grad.raw(), g.raw(), s.grad.nbytes());
    s.has_grad = true;
  }
}

// --- the reference kernel: the op's own forward/backward rules on plain tensors

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

struct Entry {
  KernelFactory factory;
  std::string impl;
};
std::map<OpKind, std::vector<Entry>>& registry() {
  static std::map<OpKind, std::vector<Entry>> r;
  return r;
}

}  // namespace

void register_kernel(const std::string& op, KernelFactory f, std::string impl_name) {
  const OpDef* d = find_op_def(op);
  if (!d) return;  // the op is not part of this build
  registry()[d->kind].push_back({std::move(f), std::move(impl_name)});
}

static bool g_skip_dnnl = false;
void set_skip_dnnl_kernels(bool on) {
  g_skip_dnnl = on;
}

std::unique_ptr<TrainKernel> make_kernel(const Node& n) {
  register_builtin_kernels();
  auto it = registry().find(n.op);
  if (it != registry().end())
    for (const Entry& e : it->second) {
      if (g_skip_dnnl && e.impl.rfind("dnnl.", 0) == 0) continue;
      if (auto k = e.factory(n)) return k;
    }
  return std::make_unique<ReferenceKernel>();
}

std::unique_ptr<TrainKernel> make_layout_kernel(Layout from, Layout to) {
  return std::make_unique<LayoutKernel>(from, to);
}

}  // namespace mpq::train
