// Float training of a Graph: forward, softmax cross-entropy, backward and an optimizer step per
// batch, with seeded shuffling, an LR schedule, a progress bar (loss, accuracy, images/s, ETA),
// and a clear stop when the loss stops being finite.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "mpq/optimizer.h"
#include "train/autodiff.h"
#include "train/loss.h"
#include "train/optimizer.h"

namespace mpq::train {

struct TrainOptions {
  OptimizerConfig optimizer = SGD{.lr = 0.01, .momentum = 0.5};
  LrSchedule schedule;
  int64_t batch_size = 64;
  uint64_t seed = 0;
  bool shuffle = true;
  bool drop_last = false;
  bool quiet = false;                // no progress bar
  std::string label = "train";       // progress bar label
  int64_t max_steps_per_epoch = -1;  // stop an epoch early (quick runs); -1 = whole epoch
};

struct StepResult {
  double loss = 0.0;
  int64_t correct = 0;
  int64_t count = 0;
};

struct EpochResult {
  int64_t epoch = 0;
  double loss = 0.0;      // mean over the epoch's samples
  double accuracy = 0.0;  // training top-1 while training (model changing), 0..1
  int64_t samples = 0;
  int64_t steps = 0;
  double seconds = 0.0;
  double images_per_second = 0.0;
};

struct EvalResult {
  double loss = 0.0;
  double accuracy = 0.0;  // 0..1
  int64_t samples = 0;
  int64_t correct = 0;
  double seconds = 0.0;
  double images_per_second = 0.0;
};

// The value the loss is taken on: the graph's output, or the input of a final Softmax (a model
// that ends in probabilities is trained on the logits before it). LogSoftmax outputs are fine as
// they are: softmax cross-entropy of log-probabilities equals the negative log-likelihood.
Value* logits_value(Graph& g);

class Trainer {
 public:
  // `g` is trained in place (its initializers change); it must outlive the trainer.
  Trainer(Graph& g, TrainOptions opt);

  // One optimizer step on a batch. Throws kInvalidInput when the loss is not finite, naming the
  // step, or when a label is out of range.
  StepResult train_step(const Tensor& x, const Tensor& labels);
  EpochResult train_epoch(const data::Dataset& ds, int64_t epoch, int64_t num_epochs = 1);
  std::vector<EpochResult> fit(const data::Dataset& ds, int64_t epochs);
  // Eval-mode loss and top-1 accuracy (BatchNormalization uses running statistics).
  EvalResult evaluate(const data::Dataset& ds, int64_t batch_size = 500, bool quiet = true,
                      const std::string& label = "eval");
  // Eval-mode logits for a batch.
  Tensor predict(const Tensor& x);

  // train_step in pieces, for a loop with its own loss: a training forward (returns the output
  // the loss is taken on), the backward from d(loss)/d(output) (the output's shape, finite; else
  // kInvalidInput naming both shapes or the element), and the optimizer step. backward() needs a
  // forward() since the last step.
  const Tensor& forward(const Tensor& x);
  void backward(const Tensor& output_grad);
  void step();

  Autodiff& autodiff() { return *ad_; }
  Optimizer& optimizer() { return *opt_; }
  const TrainOptions& options() const { return o_; }
  int64_t steps() const { return ad_->step(); }
  // Called after every optimizer step with the new step count (QAT bookkeeping).
  void on_step(std::function<void(int64_t)> f) { on_step_.push_back(std::move(f)); }

 private:
  Graph& g_;
  TrainOptions o_;
  std::unique_ptr<Autodiff> ad_;
  std::unique_ptr<Optimizer> opt_;
  std::vector<std::function<void(int64_t)>> on_step_;
  const Tensor* loop_output_ = nullptr;  // forward() output awaiting backward()
  bool loop_backward_done_ = false;
};

}  // namespace mpq::train
