// The public losses (include/mpq/losses.h) over train/loss.h.
#include "mpq/losses.h"
#include "train/loss.h"

namespace mpq {

namespace {

template <typename F>
Loss with_grad(const Tensor& output, F f) {
  Loss l;
  l.grad = Tensor(DType::f32, output.shape());
  l.value = f(&l.grad).loss;
  return l;
}

}  // namespace

Loss mse_loss(const Tensor& output, const Tensor& target) {
  return with_grad(output, [&](Tensor* g) { return train::mse_loss(output, target, g); });
}

Loss l1_loss(const Tensor& output, const Tensor& target) {
  return with_grad(output, [&](Tensor* g) { return train::l1_loss(output, target, g); });
}

Loss cross_entropy_loss(const Tensor& logits, const Tensor& labels) {
  return with_grad(logits,
                   [&](Tensor* g) { return train::softmax_cross_entropy(logits, labels, g); });
}

}  // namespace mpq
