// Losses for a training loop of one's own (QatQuantizer::forward / backward / step): the loss
// value and its gradient with respect to the model output, to pass to backward().
//   mse_loss(y, t):            mean((y - t)^2) over every element (PyTorch's MSELoss)
//   l1_loss(y, t):             mean(|y - t|) (PyTorch's L1Loss)
//   cross_entropy_loss(y, l):  softmax cross-entropy of logits y [N, K] with integer labels l [N],
//                              averaged over the batch (PyTorch's CrossEntropyLoss)
// Shapes that do not fit are kInvalidInput naming both.
#pragma once

#include "mpq/tensor.h"

namespace mpq {

struct Loss {
  double value = 0.0;
  Tensor grad;  // d(value)/d(output), the output's shape
};

Loss mse_loss(const Tensor& output, const Tensor& target);
Loss l1_loss(const Tensor& output, const Tensor& target);
Loss cross_entropy_loss(const Tensor& logits, const Tensor& labels);

}  // namespace mpq
