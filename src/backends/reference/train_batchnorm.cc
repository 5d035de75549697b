#include "backends/reference/train_batchnorm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/parallel.h"

namespace mpq::train {

BnDims bn_dims(const Shape& s, Layout l) {
  BnDims d;
  d.C = s.size() > 1 ? s[1] : 1;
  int64_t spatial = 1;
  for (size_t i = 2; i < s.size(); ++i) spatial *= s[i];
  if (l == Layout::kNHWC && s.size() == 4) {
    d.outer = s[0] * spatial;
    d.inner = 1;
  } else {
    d.outer = s[0];
    d.inner = spatial;
  }
  return d;
}

float bn_epsilon(const Node& n) {
  return n.attrs.f("epsilon", 1e-5f);
}
float bn_momentum(const Node& n) {
  return n.attrs.f("momentum", 0.9f);
}

namespace {
// Channels per parallel chunk: enough elements per chunk to pay for the thread hand-off.
int64_t channel_grain(BnDims d) {
  return std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(d.count(), 1));
}

template <typename F>
void for_channel(BnDims d, int64_t c, F&& f) {  // f(index) over the channel's elements
  for (int64_t o = 0; o < d.outer; ++o) {
    const int64_t base = (o * d.C + c) * d.inner;
    for (int64_t s = 0; s < d.inner; ++s) f(base + s);
  }
}
}  // namespace

void bn_forward_train(const float* x, BnDims d, const float* gamma, const float* beta, float eps,
                      float* y, float* mean, float* var) {
  const double m = static_cast<double>(d.count());
  parallel_for(
      d.C,
      [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
          double sum = 0.0;
          for_channel(d, c, [&](int64_t i) { sum += x[i]; });
          const double mu = sum / m;
          double sq = 0.0;
          for_channel(d, c, [&](int64_t i) { sq += (x[i] - mu) * (x[i] - mu); });
          const double v = sq / m;
          mean[c] = static_cast<float>(mu);
          var[c] = static_cast<float>(v);
          const double k = gamma[c] / std::sqrt(v + eps);
          for_channel(d, c,
                      [&](int64_t i) { y[i] = static_cast<float>((x[i] - mu) * k + beta[c]); });
        }
      },
      channel_grain(d));
}

void bn_forward_infer(const float* x, BnDims d, const float* gamma, const float* beta,
                      const float* rm, const float* rv, float eps, float* y) {
  parallel_for(
      d.C,
      [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
          const float k = gamma[c] / std::sqrt(rv[c] + eps);
          const float sh = beta[c] - rm[c] * k;
          for_channel(d, c, [&](int64_t i) { y[i] = x[i] * k + sh; });
        }
      },
      channel_grain(d));
}

void bn_backward_train(const float* x, const float* dy, BnDims d, const float* gamma,
                       const float* mean, const float* var, float eps, float* dx, float* dgamma,
                       float* dbeta) {
  const double m = static_cast<double>(d.count());
  parallel_for(
      d.C,
      [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
          const double inv = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
          const double mu = mean[c];
          double sdy = 0.0, sdyx = 0.0;
          for_channel(d, c, [&](int64_t i) {
            sdy += dy[i];
            sdyx += dy[i] * (x[i] - mu) * inv;
          });
          if (dgamma) dgamma[c] = static_cast<float>(sdyx);
          if (dbeta) dbeta[c] = static_cast<float>(sdy);
          if (!dx) continue;
          const double k = gamma[c] * inv;
          for_channel(d, c, [&](int64_t i) {
            const double xh = (x[i] - mu) * inv;
            dx[i] = static_cast<float>(k * (dy[i] - sdy / m - xh * sdyx / m));
          });
        }
      },
      channel_grain(d));
}

void bn_update_running(float* rm, float* rv, const float* mean, const float* var, int64_t C,
                       int64_t count, float momentum) {
  const double unbias = count > 1 ? static_cast<double>(count) / (count - 1) : 1.0;
  for (int64_t c = 0; c < C; ++c) {
    rm[c] = static_cast<float>(momentum * rm[c] + (1.0 - momentum) * mean[c]);
    rv[c] = static_cast<float>(momentum * rv[c] + (1.0 - momentum) * var[c] * unbias);
  }
}

bool y_used(const StepContext& ctx) {
  const Value* y = ctx.out[0]->value;
  return !y || !y->consumers.empty() || ctx.out.size() == 1;
}

namespace {

class BatchNormTrainKernel : public BatchNormKernelBase {
 public:
  explicit BatchNormTrainKernel(const Node& n) : BatchNormKernelBase(n) {}
  const char* name() const override { return "batchnorm.reference"; }

  void prepare(StepContext& ctx) override {
    d_ = bn_dims(ctx.in[0]->shape, ctx.in[0]->layout);
    mean_.assign(d_.C, 0.f);
    var_.assign(d_.C, 0.f);
  }

  void forward(StepContext& ctx) override {
    const float* x = ctx.in[0]->data.data<float>();
    const float* g = ctx.in[1]->data.data<float>();
    const float* b = ctx.in[2]->data.data<float>();
    float* y = ctx.out[0]->data.data<float>();
    if (ctx.training) {
      bn_forward_train(x, d_, g, b, eps_, y, mean_.data(), var_.data());
      update_running(ctx, mean_.data(), var_.data());
    } else if (y_used(ctx)) {
      bn_forward_infer(x, d_, g, b, ctx.in[3]->data.data<float>(), ctx.in[4]->data.data<float>(),
                       eps_, y);
    }
    copy_running(ctx);
  }

  void backward(StepContext& ctx) override {
    if (!ctx.training) unsupported("BatchNormalization backward in inference mode").raise();
    const float* x = ctx.in[0]->data.data<float>();
    const float* dy = ctx.grad_out(0).data<float>();
    std::vector<float> dg(d_.C), db(d_.C);
    Tensor* dx = ctx.need_grad(0) ? &ctx.grad_in_begin(0) : nullptr;
    bn_backward_train(x, dy, d_, ctx.in[1]->data.data<float>(), mean_.data(), var_.data(), eps_,
                      dx ? dx->data<float>() : nullptr, dg.data(), db.data());
    if (dx) ctx.grad_in_done(0);
    if (ctx.need_grad(1)) ctx.accumulate_grad(1, Tensor::from<float>({d_.C}, dg));
    if (ctx.need_grad(2)) ctx.accumulate_grad(2, Tensor::from<float>({d_.C}, db));
  }

 private:
  std::vector<float> mean_, var_;
};

}  // namespace

BatchNormKernelBase::BatchNormKernelBase(const Node& n)
    : eps_(bn_epsilon(n)), momentum_(bn_momentum(n)) {}

Layout BatchNormKernelBase::input_layout(size_t i, Layout given, const StepContext&) const {
  return i == 0 ? given : Layout::kPlain;
}

Layout BatchNormKernelBase::output_layout(size_t o, const StepContext& ctx) const {
  return o == 0 ? ctx.in[0]->layout : Layout::kPlain;
}

bool BatchNormKernelBase::eval_reads_input(size_t i, const StepContext& ctx) const {
  return i != 0 || y_used(ctx);
}

void BatchNormKernelBase::update_running(StepContext& ctx, const float* batch_mean,
                                         const float* batch_var) const {
  if (ctx.in[3]->is_constant && ctx.in[4]->is_constant)
    bn_update_running(ctx.in[3]->data.data<float>(), ctx.in[4]->data.data<float>(), batch_mean,
                      batch_var, d_.C, d_.count(), momentum_);
}

void BatchNormKernelBase::copy_running(StepContext& ctx) const {
  for (size_t o = 1; o < ctx.out.size() && o < 3; ++o)
    if (ctx.out[o])
      std::memcpy(ctx.out[o]->data.raw(), ctx.in[2 + o]->data.raw(), d_.C * sizeof(float));
}

std::unique_ptr<TrainKernel> make_batchnorm_train_kernel(const Node& n) {
  if (n.inputs.size() != 5) return nullptr;
  for (const Value* v : n.inputs)
    if (!v || v->dtype != DType::f32) return nullptr;
  if (n.inputs[0]->shape.size() < 2) return nullptr;
  return std::make_unique<BatchNormTrainKernel>(n);
}

}  // namespace mpq::train
