// Whole-plan runners: an engine built for a backend whose kernels run on their own device (cuda)
// runs its plan through one, which owns the device buffers, the copies to and from the host and
// the (graph of) launches. An ExecutionContext whose plan has one hands run() to it.
#pragma once

#include <memory>
#include <vector>

#include "backends/backend.h"
#include "plan/memory_plan.h"
#include "plan/plan.h"

namespace mpq {

class PlanRunner {
 public:
  virtual ~PlanRunner() = default;
  // Runs `batch` rows of checked inputs (host tensors); returns the outputs as host tensors.
  virtual std::vector<Tensor> run(const std::vector<Tensor>& inputs, int64_t batch) = 0;
  // Kernel-only time of one batch in ms (median after warm-up, device events), replaying the
  // last inputs; negative if not measurable.
  virtual double kernel_ms(int64_t batch, int iters) { return -1.0; }
};

// The runner for `plan`'s backend; nullptr where the ExecutionContext runs the steps itself on
// host memory (every backend but cuda, and cuda in a build without it).
std::unique_ptr<PlanRunner> make_plan_runner(const plan::Plan& plan,
                                             const std::vector<std::unique_ptr<Kernel>>& kernels,
                                             const plan::MemoryPlan& mem, int threads);

// The cuda backend's runner (runtime/cuda/plan_runner.cc, in CUDA builds only).
std::unique_ptr<PlanRunner> make_cuda_plan_runner(
    const plan::Plan& plan, const std::vector<std::unique_ptr<Kernel>>& kernels,
    const plan::MemoryPlan& mem, int threads);

}  // namespace mpq
