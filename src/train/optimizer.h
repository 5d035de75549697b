// PyTorch's SGD / Adam / AdamW update rules over the trainer's parameters, and the LR schedules.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mpq/optimizer.h"
#include "train/autodiff.h"

namespace mpq::train {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Updates every parameter that has a gradient from the last backward (in place).
  virtual void step(std::vector<Param>& params) = 0;
  virtual std::string describe() const = 0;
  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  double base_lr() const { return base_lr_; }
  int64_t steps() const { return steps_; }

 protected:
  double lr_ = 0.0, base_lr_ = 0.0;
  int64_t steps_ = 0;
};

// Validates the settings (kInvalidInput naming the field) and builds the optimizer.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& cfg);

}  // namespace mpq::train
