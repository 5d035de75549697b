// Optimizer and learning-rate schedule settings of mpq's trainer (public API). The update rules
// are PyTorch's torch.optim.SGD / Adam / AdamW, step for step.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

namespace mpq {

struct SGD {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;  // L2 penalty added to the gradient
  bool nesterov = false;
};

struct Adam {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // L2 penalty added to the gradient
};

struct AdamW {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;  // decoupled: p -= lr * wd * p before the Adam step
};

using OptimizerConfig = std::variant<SGD, Adam, AdamW>;

// Learning rate as a function of the epoch (and, for per_iteration schedules, the step within it).
struct LrSchedule {
  enum class Kind { kConstant, kStep, kMultiStep, kCosine };
  Kind kind = Kind::kConstant;
  int64_t step_size = 1;            // kStep: multiply by gamma every step_size epochs
  std::vector<int64_t> milestones;  // kMultiStep: multiply by gamma at each of these epochs
  double gamma = 0.1;
  int64_t t_max = 1;  // kCosine: period in epochs (or in steps if per_iteration)
  double eta_min = 0.0;
  bool per_iteration = false;  // kCosine: advance every step instead of every epoch

  static LrSchedule constant() { return {}; }
  static LrSchedule step(int64_t step_size, double gamma) {
    LrSchedule s;
    s.kind = Kind::kStep, s.step_size = step_size, s.gamma = gamma;
    return s;
  }
  static LrSchedule multi_step(std::vector<int64_t> milestones, double gamma) {
    LrSchedule s;
    s.kind = Kind::kMultiStep, s.milestones = std::move(milestones), s.gamma = gamma;
    return s;
  }
  static LrSchedule cosine(int64_t t_max, double eta_min = 0.0, bool per_iteration = false) {
    LrSchedule s;
    s.kind = Kind::kCosine, s.t_max = t_max, s.eta_min = eta_min, s.per_iteration = per_iteration;
    return s;
  }
  // lr for `epoch` (0-based) at step `iter` of `iters_per_epoch`, from the base lr.
  double at(double base_lr, int64_t epoch, int64_t iter, int64_t iters_per_epoch) const;
};

}  // namespace mpq
