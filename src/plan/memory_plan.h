// Activation memory plan: every intermediate tensor gets an offset in one arena, reusing memory
// of tensors that are dead (liveness over the step order), and sharing the buffer of an input
// when a kernel computes in place (a fused residual sum, an activation) and that input dies there.
// Graph inputs (the caller's buffers), graph outputs (returned tensors) and constants are not in
// the arena. Sizes are at the maximum batch; a smaller batch uses a prefix of each buffer.
#pragma once

#include <memory>
#include <vector>

#include "backends/backend.h"
#include "plan/plan.h"

namespace mpq::plan {

struct MemoryPlan {
  std::vector<int64_t> offset;  // per tensor: byte offset in the arena, -1 if not in the arena
  size_t arena_bytes = 0;
  size_t unshared_bytes = 0;  // what the arena tensors would take without reuse (for reports)
};

MemoryPlan plan_memory(const Plan& plan, const std::vector<std::unique_ptr<Kernel>>& kernels);

}  // namespace mpq::plan
