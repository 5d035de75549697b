#include "runtime/plan_runner.h"

namespace mpq {

// MPQ_HAVE_CUDA is defined for this file only (src/backends/cuda/CMakeLists.txt), so that every
// other file compiles as in the CPU build.
std::unique_ptr<PlanRunner> make_plan_runner(const plan::Plan& plan,
                                             const std::vector<std::unique_ptr<Kernel>>& kernels,
                                             const plan::MemoryPlan& mem, int threads) {
#ifdef MPQ_HAVE_CUDA
  if (plan.options.backend == "cuda") return make_cuda_plan_runner(plan, kernels, mem, threads);
#else
  (void)plan, (void)kernels, (void)mem, (void)threads;
#endif
  return nullptr;
}

}  // namespace mpq
