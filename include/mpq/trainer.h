// mpq::Trainer — float training of a Model in place, before calibration or QAT: softmax
// cross-entropy on the model's logits, PyTorch's optimizers step for step (mpq/optimizer.h),
// seeded shuffling, an LR schedule.
//
//   mpq::Model model = mpq::Model::zoo("mnist_naive");
//   mpq::Trainer trainer(model, {mpq::SGD{0.01, 0.5}});   // lr 0.01, momentum 0.5
//   for (const mpq::TrainStats& e : trainer.fit(*train_data, 1)) ...;
//   double accuracy = trainer.evaluate(*test_data).accuracy;
//
// A loss that stops being finite, or a label out of range, is mpq::Error naming the step.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "mpq/optimizer.h"
#include "mpq/tensor.h"

namespace mpq {

class Model;
namespace data {
class Dataset;
}

struct TrainStats {
  double loss = 0.0;
  double accuracy = 0.0;  // 0..1
  int64_t samples = 0;
  int64_t steps = 0;
  double seconds = 0.0;
  double images_per_second = 0.0;
};

struct TrainerOptions {
  OptimizerConfig optimizer = SGD{0.01, 0.5};  // lr, momentum: NNI's example recipe
  LrSchedule schedule;
  int64_t batch_size = 64;  // fit()
  uint64_t seed = 0;        // shuffling
  bool shuffle = true;
  bool quiet = false;                // no progress bar
  int64_t max_steps_per_epoch = -1;  // stop epochs early (quick runs)
};

class Trainer {
 public:
  // Trains `model`'s weights in place; the model must outlive the trainer. Between calls the
  // model keeps the input shape it was given (the batch it was built with, or open).
  explicit Trainer(Model& model, TrainerOptions options = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // One optimizer step on a batch (x: f32 [N, ...], labels: integer [N]).
  TrainStats train_step(const Tensor& x, const Tensor& labels);
  std::vector<TrainStats> fit(const data::Dataset& train, int64_t epochs);
  // Eval-mode loss and top-1 accuracy (BatchNormalization on running statistics).
  TrainStats evaluate(const data::Dataset& test, int64_t batch_size = 500);
  Tensor predict(const Tensor& x);  // eval-mode logits

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpq
