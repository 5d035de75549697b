#include "train/loss.h"

#include <cmath>
#include <vector>

namespace mpq::train {

namespace {
void check_shapes(const Tensor& logits, const Tensor& labels) {
  if (logits.dtype() != DType::f32 || logits.rank() != 2)
    invalid_input(str("the loss needs f32 logits [N, classes], the model gives ",
                      dtype_name(logits.dtype()), shape_str(logits.shape()),
                      "; a model for classification ends with a Gemm/MatMul of shape [N, classes]"))
        .raise();
  if (labels.rank() != 1 || labels.dim(0) != logits.dim(0) ||
      !dtype_info(labels.dtype()).is_integer)
    invalid_input(str("labels are ", dtype_name(labels.dtype()), shape_str(labels.shape()),
                      ", expected integers [", logits.dim(0), "]"))
        .raise();
}
}  // namespace

LossResult softmax_cross_entropy(const Tensor& logits, const Tensor& labels, Tensor* grad) {
  check_shapes(logits, labels);
  const int64_t N = logits.dim(0), K = logits.dim(1);
  const std::vector<int64_t> y = labels.to_int64s();
  for (int64_t i = 0; i < N; ++i)
    if (y[i] < 0 || y[i] >= K)
      invalid_input(str("label ", y[i], " of sample ", i,
                        " in the batch is out of range: the model has ", K, " classes (0..", K - 1,
                        ")"))
          .raise();
  const float* x = logits.data<float>();
  float* g = grad ? grad->data<float>() : nullptr;
  LossResult r;
  r.count = N;
  double total = 0.0;
  for (int64_t i = 0; i < N; ++i) {
    const float* row = x + i * K;
    int64_t arg = 0;
    float mx = row[0];
    for (int64_t k = 1; k < K; ++k)
      if (row[k] > mx) mx = row[k], arg = k;
    if (!std::isfinite(mx)) {
      // A NaN/inf logit: the loss is not finite; the caller stops and names the step.
      total = std::nan("");
      for (int64_t k = 0; g && k < K; ++k) g[i * K + k] = 0.f;
      continue;
    }
    double sum = 0.0;
    for (int64_t k = 0; k < K; ++k) sum += std::exp(static_cast<double>(row[k]) - mx);
    const double lse = mx + std::log(sum);
    total += lse - row[y[i]];
    r.correct += arg == y[i];
    if (g) {
      const double inv_n = 1.0 / static_cast<double>(N);
      for (int64_t k = 0; k < K; ++k) {
        const double p = std::exp(static_cast<double>(row[k]) - lse);
        g[i * K + k] = static_cast<float>((p - (k == y[i] ? 1.0 : 0.0)) * inv_n);
      }
    }
  }
  r.loss = total / static_cast<double>(N);
  return r;
}

int64_t count_correct(const Tensor& logits, const Tensor& labels) {
  check_shapes(logits, labels);
  const int64_t N = logits.dim(0), K = logits.dim(1);
  const std::vector<int64_t> y = labels.to_int64s();
  const float* x = logits.data<float>();
  int64_t c = 0;
  for (int64_t i = 0; i < N; ++i) {
    const float* row = x + i * K;
    int64_t arg = 0;
    for (int64_t k = 1; k < K; ++k)
      if (row[k] > row[arg]) arg = k;
    c += arg == y[i];
  }
  return c;
}

namespace {

void check_same_shape(const Tensor& out, const Tensor& target) {
  if (out.dtype() != DType::f32 || target.dtype() != DType::f32 || out.shape() != target.shape())
    invalid_input(str("the target is ", dtype_name(target.dtype()), shape_str(target.shape()),
                      " but the model output is ", dtype_name(out.dtype()), shape_str(out.shape()),
                      ": they must be f32 of one shape"))
        .raise();
}

// mean(f(out - target)) with d/d(out) = f'(out - target) / numel.
template <typename F, typename D>
LossResult elementwise_loss(const Tensor& out, const Tensor& target, Tensor* grad, F f, D df) {
  check_same_shape(out, target);
  const int64_t n = out.numel();
  const float* o = out.data<float>();
  const float* t = target.data<float>();
  float* g = grad ? grad->data<float>() : nullptr;
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(o[i]) - t[i];
    total += f(d);
    if (g) g[i] = static_cast<float>(df(d) / static_cast<double>(n));
  }
  LossResult r;
  r.loss = n ? total / static_cast<double>(n) : 0.0;
  r.count = out.rank() ? out.dim(0) : 1;
  return r;
}

}  // namespace

LossResult mse_loss(const Tensor& out, const Tensor& target, Tensor* grad) {
  return elementwise_loss(
      out, target, grad, [](double d) { return d * d; }, [](double d) { return 2.0 * d; });
}

LossResult l1_loss(const Tensor& out, const Tensor& target, Tensor* grad) {
  return elementwise_loss(
      out, target, grad, [](double d) { return std::fabs(d); },
      [](double d) { return d > 0   ? 1.0
                            : d < 0 ? -1.0
                                    : 0.0; });
}

}  // namespace mpq::train
