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

}  // namespace mpq::train
