// The reference executor: runs any Graph the registry knows by calling each op's reference
// forward in topological order. Correct first; it is the oracle for every optimized kernel, and
// the float executor for calibration and training until faster backends take over.
#pragma once

#include <functional>
#include <vector>

#include "ir/graph.h"

namespace mpq {

// Called for every value computed (graph inputs included), in execution order. Used by calibration
// observers and by tests that compare intermediate tensors.
using ValueObserver = std::function<void(const Value&, const Tensor&)>;

class ReferenceExecutor {
 public:
  explicit ReferenceExecutor(const Graph& g);
  // Checks each input against the graph's declared dtype/shape (unknown dims accept any size) and
  // throws kInvalidInput naming the input on a mismatch.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, const ValueObserver& observe = {});

 private:
  const Graph& g_;
};

// Validates run-time inputs against a graph's inputs (shared by every executor).
void check_run_inputs(const Graph& g, const std::vector<Tensor>& inputs);

}  // namespace mpq
