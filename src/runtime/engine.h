// Engine and ExecutionContext (DESIGN.md §3). An Engine is immutable once built: the plan, the
// prepared kernels (packed weights, oneDNN primitives) and the memory plan. It is shared by
// threads; each caller runs it through its own ExecutionContext, which owns the activation arena
// and the backends' per-caller state. Any batch from 1 to the built maximum runs on exactly its
// rows (no padding).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/backend.h"
#include "plan/builder.h"
#include "plan/memory_plan.h"
#include "plan/plan.h"
#include "quant/calibration_table.h"
#include "runtime/plan_runner.h"

namespace mpq::runtime {

class Engine {
 public:
  // Builds an engine for a float graph (see plan::build_plan for errors).
  static std::shared_ptr<const Engine> build(const Graph& g, const quant::CalibrationTable* table,
                                             const plan::BuildOptions& opt);
  // Wraps a plan whose decisions are made (e.g. read from an engine file): prepares its kernels.
  static std::shared_ptr<const Engine> from_plan(plan::Plan plan);
  // Adds a note to the manifest of an engine its builder has not shared yet (the only owner of
  // `e`; kInternal otherwise), for choices made above the plan (timing whole builds).
  static std::shared_ptr<const Engine> with_note(std::shared_ptr<const Engine> e,
                                                 const std::string& note);

  const plan::Plan& plan() const { return plan_; }
  const plan::Manifest& manifest() const { return plan_.manifest; }
  const plan::MemoryPlan& memory() const { return mem_; }
  int64_t max_batch() const { return plan_.options.max_batch; }
  // The model's inputs/outputs as the caller sees them (dtype, logical shape at max batch).
  std::vector<TensorSpec> input_specs() const;
  std::vector<TensorSpec> output_specs() const;

 private:
  friend class ExecutionContext;
  Engine(plan::Plan plan, std::vector<std::unique_ptr<Kernel>> kernels);

  plan::Plan plan_;
  std::vector<std::unique_ptr<Kernel>> kernels_;
  plan::MemoryPlan mem_;
};

class ExecutionContext {
 public:
  // threads: 0 = the engine's build option.
  explicit ExecutionContext(std::shared_ptr<const Engine> engine, int threads = 0);

  // Runs a batch of 1..max_batch rows. Inputs must match the model's inputs in count, dtype and
  // every dim but the batch (kInvalidInput naming the input otherwise).
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);

  const Engine& engine() const { return *engine_; }

  // Kernel-only time in ms of one batch on a device backend (CUDA events around
  // graph replays of the last run's inputs); negative where the backend cannot measure it.
  double device_kernel_ms(int64_t batch, int iters);
  // Per-step wall time of the runs since profiling was enabled (ms, summed; index = plan step).
  void set_profiling(bool on);
  const std::vector<double>& step_ms() const { return step_ms_; }
  // Called after each step of a host backend for each tensor it wrote, with the run's rows of
  // it (shape at `batch`, in the tensor's layout) while the data is still there: calibration
  // observes the tensors the engine materializes without unfusing anything. Empty: off.
  using StepObserver = std::function<void(const TensorSpec&, const Tensor&)>;
  void set_observer(StepObserver observer) { observer_ = std::move(observer); }

 private:
  int64_t check_inputs(const std::vector<Tensor>& inputs) const;

  std::shared_ptr<const Engine> engine_;
  int threads_;
  Tensor arena_;
  std::unordered_map<std::string, std::unique_ptr<BackendContext>> backend_ctx_;
  std::vector<BackendContext*> step_ctx_;
  std::unique_ptr<PlanRunner> runner_;  // set when the plan's backend runs whole plans (cuda)
  bool profiling_ = false;
  std::vector<double> step_ms_;
  StepObserver observer_;
};

}  // namespace mpq::runtime
