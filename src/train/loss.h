// Softmax cross-entropy on logits, fused and numerically stable (log-sum-exp with the row max
// subtracted), averaged over the batch as PyTorch's cross_entropy does.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace mpq::train {

struct LossResult {
  double loss = 0.0;    // mean over the batch
  int64_t correct = 0;  // samples whose arg-max equals the label
  int64_t count = 0;
};

// logits: f32 [N, K]; labels: integer [N] in [0, K). Writes d(loss)/d(logits) into `grad` (f32
// [N, K]) when it is non-null. Throws kInvalidInput naming the sample for a label out of range.
LossResult softmax_cross_entropy(const Tensor& logits, const Tensor& labels, Tensor* grad);

// Top-1 count only (evaluation without labels' loss).
int64_t count_correct(const Tensor& logits, const Tensor& labels);

// Regression losses over every element, averaged (PyTorch's reduction='mean'):
//   mse: mean((out - target)^2), d/d(out) = 2 (out - target) / numel
//   l1:  mean(|out - target|),   d/d(out) = sign(out - target) / numel (0 where equal, as PyTorch)
// `out` and `target` are f32 of one shape (kInvalidInput naming both shapes otherwise).
LossResult mse_loss(const Tensor& out, const Tensor& target, Tensor* grad);
LossResult l1_loss(const Tensor& out, const Tensor& target, Tensor* grad);

}  // namespace mpq::train
