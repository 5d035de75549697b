// The plan of a training graph at one batch size: a slot per value (and per layout a kernel
// wants it in), one training kernel per node the differentiated output needs (the registry's, cpu
// before reference, backends/train_kernel.h), layout conversions between them, and every
// activation and gradient buffer allocated. train::Autodiff runs it forward and backward.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "backends/train_kernel.h"
#include "ir/graph.h"

namespace mpq::plan {

struct TrainingStep {
  const Node* node = nullptr;  // null for a layout conversion
  std::unique_ptr<train::TrainKernel> kernel;
  train::StepContext ctx;
  bool backward_needed = false;
  bool eval_live = true;  // runs in inference mode (see TrainKernel::eval_reads_input)
  std::string label;      // implementation name for profiling
};

struct TrainingPlan {
  int64_t batch = 0;
  std::vector<std::unique_ptr<train::Slot>> slots;
  std::unordered_map<const Value*, train::Slot*> primary;
  std::map<std::pair<const train::Slot*, Layout>, train::Slot*> converted;
  std::vector<TrainingStep> steps;
  train::Slot* input = nullptr;
  train::Slot* output = nullptr;
};

// A trainable initializer's gradient buffer (shared with the plan's slot) and whether it is
// frozen (then it gets no gradient).
struct TrainableValue {
  Tensor grad;
  bool frozen = false;
};

struct TrainingPlanRequest {
  const Graph* graph = nullptr;   // shapes inferred at `batch`, one float input
  const Value* output = nullptr;  // the value to differentiate
  int64_t batch = 1;
  std::unordered_map<const Value*, TrainableValue> params;
  // Nodes (one input, one output) that pass their input through: it keeps its layout.
  std::unordered_set<const Node*> bypass;
};

// Plans the steps the output needs and prepares their kernels.
std::unique_ptr<TrainingPlan> plan_training(const TrainingPlanRequest& r);

}  // namespace mpq::plan
