// Shapes computed from the run-time batch (DESIGN.md §1): exporters write x.size(0) and friends as
// Shape -> Gather -> (Div/Mul/Cast) -> Unsqueeze -> Concat chains. With dim 0 of every graph input
// standing for the batch, these chains either do not depend on the batch (they fold to constants)
// or give values affine in it (k * batch + c), which Reshape and Expand take in a batch-independent
// form. See symbolic_batch.cc for the representation.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "passes/pass.h"

namespace mpq::passes {

// Folds batch-independent shape computations, rewrites Reshape/Expand targets that depend on the
// batch (Reshape: the batch entry becomes 0 or -1; Expand: -1 with the batch read at run time
// from a graph input), and re-infers the shapes downstream.
std::unique_ptr<Pass> make_symbolic_batch();

// Where each value's batch is: the one dim that is k * batch (torch's attention works on
// [seq, batch, dim] and [batch * heads, seq, dim] tensors), for every non-constant value that has
// one. Throws kUnsupported naming the first value (in topological order) with a dim unknown
// otherwise (not a multiple of the batch, or a second batch-dependent dim) and the node that
// produced it, with the likely cause.
struct BatchDim {
  int dim = 0;
  int64_t mult = 1;
};
std::map<std::string, BatchDim> batch_layout(const Graph& g);

}  // namespace mpq::passes
