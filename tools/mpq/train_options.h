// Options shared by `mpq train` and `mpq qat`: optimizer, LR schedule, batching and seeds.
#pragma once

#include <CLI/CLI.hpp>
#include <limits>
#include <memory>
#include <string>

#include "common_flags.h"
#include "mpq/optimizer.h"
#include "train/trainer.h"

namespace mpq::cli {

struct TrainFlags {
  std::string optimizer = "sgd";
  // NaN: the optimizer's default (SGD 0.01, Adam/AdamW 0.001); a negative value given on the
  // command line reaches the optimizer's check instead of meaning "default".
  double lr = std::numeric_limits<double>::quiet_NaN();
  double momentum = 0.5;
  double weight_decay = std::numeric_limits<double>::quiet_NaN();  // NaN: the optimizer's default
  bool nesterov = false;
  std::string schedule = "constant";
  int64_t batch = kTrainingBatch;
  uint64_t seed = 0;
  int64_t epochs = 1;
  int64_t max_steps = -1;
  bool profile = false;
  int threads = 0;  // 0: OMP_NUM_THREADS / all cores
};

// Adds --optimizer --lr --momentum --weight-decay --nesterov --schedule --batch --seed --epochs
// --max-steps --profile --threads.
void add_train_flags(CLI::App* cmd, TrainFlags& f);
// Builds the optimizer settings (kInvalidInput naming the flag on a bad value).
OptimizerConfig optimizer_config(const TrainFlags& f);
// "constant", "step:STEP_SIZE:GAMMA", "multistep:E1,E2,...:GAMMA", "cosine[:ETA_MIN]" (over the
// run's epochs, per step).
LrSchedule lr_schedule(const TrainFlags& f);
train::TrainOptions train_options(const TrainFlags& f, const std::string& label);
// "loss 0.4321  acc 84.12%  60000 img in 12.3 s (4878 img/s)"
std::string describe_epoch(const train::EpochResult& e);
// Applies --threads (OpenMP threads of oneDNN and the trainer's loops).
void apply_threads(int threads);
// Per-kernel time table on stderr (--profile).
void print_profile(const train::Autodiff& ad);

}  // namespace mpq::cli
