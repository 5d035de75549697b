// BatchNormalization in training mode: batch statistics, running-statistic updates and the
// backward for x, scale and bias. This is the exact (double-accumulating) reference; the oneDNN
// kernel (backends/cpu/train/batchnorm.cc) is checked against it and shares the running-stat
// update.
//
// Conventions (PyTorch's, which ONNX exporters encode): normalization uses the biased batch
// variance; running_var is updated with the unbiased one (M/(M-1)); ONNX momentum m means
// running = m * running + (1 - m) * batch (PyTorch's momentum 0.1 is exported as 0.9).
#pragma once

#include <memory>

#include "backends/train_kernel.h"
#include "ir/graph.h"

namespace mpq::train {

// Element (o, c, s) of a [outer, C, inner] view lives at (o * C + c) * inner + s.
struct BnDims {
  int64_t outer = 1, C = 1, inner = 1;
  int64_t count() const { return outer * inner; }  // samples per channel
};
// The [outer, C, inner] view of a logical [N, C, ...] tensor in the given layout.
BnDims bn_dims(const Shape& logical, Layout l);

void bn_forward_train(const float* x, BnDims d, const float* gamma, const float* beta, float eps,
                      float* y, float* mean, float* var);
void bn_forward_infer(const float* x, BnDims d, const float* gamma, const float* beta,
                      const float* running_mean, const float* running_var, float eps, float* y);
// dx may be null (input needs no gradient).
void bn_backward_train(const float* x, const float* dy, BnDims d, const float* gamma,
                       const float* mean, const float* var, float eps, float* dx, float* dgamma,
                       float* dbeta);
void bn_update_running(float* running_mean, float* running_var, const float* mean, const float* var,
                       int64_t C, int64_t count, float momentum);

// What the reference and the oneDNN BatchNormalization kernels share. Inputs: X, scale, B,
// input_mean, input_var; outputs: Y [, running_mean, running_var]. Subclasses set d_ in prepare.
class BatchNormKernelBase : public TrainKernel {
 public:
  explicit BatchNormKernelBase(const Node& n);
  Layout input_layout(size_t i, Layout given, const StepContext&) const override;
  Layout output_layout(size_t o, const StepContext& ctx) const override;
  bool differentiable(size_t i) const override { return i <= 2; }
  bool eval_reads_input(size_t i, const StepContext& ctx) const override;

 protected:
  // Running statistics are state: updated in place when they are the graph's initializers.
  void update_running(StepContext& ctx, const float* batch_mean, const float* batch_var) const;
  // Outputs 1 and 2 (when present) carry the running statistics.
  void copy_running(StepContext& ctx) const;

  float eps_, momentum_;
  BnDims d_;
};

// The reference training kernel for BatchNormalization (any layout, rank >= 2).
std::unique_ptr<TrainKernel> make_batchnorm_train_kernel(const Node& n);
// Whether a BatchNormalization step's normalized output is read by anything (QAT's statistics
// branch only uses the running-statistic outputs).
bool y_used(const StepContext& ctx);
// Reads epsilon and momentum with ONNX defaults.
float bn_epsilon(const Node& n);
float bn_momentum(const Node& n);

}  // namespace mpq::train
