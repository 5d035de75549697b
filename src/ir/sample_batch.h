// A graph evaluated at one concrete batch: dim 0 of every batched graph input (dynamic dim 0) set
// to a sample, every node inferred, and every shape computation whose inputs are then known
// folded with the ops' reference forward. Shape inference uses it for what only the run-time
// batch makes computable (a Reshape target's length); the symbolic-batch pass compares several
// samples to tell batch-independent values from batch-dependent ones.
#pragma once

#include <memory>

#include "ir/graph.h"

namespace mpq {

// Whether v is a graph input whose dim 0 is the (dynamic) batch.
bool is_batched_input(const Value* v);

// A copy of g at `batch`. Nodes that cannot be inferred or evaluated there keep unknown outputs
// (the real graph reports them); element-count caps are off (they apply to one image).
std::unique_ptr<Graph> graph_at_batch(const Graph& g, int64_t batch);

// infer_node on n, a node of g, except that a Reshape or Expand target computed at run time whose
// length (the output's rank) is unknown, e.g. a slice of Shape(x) with computed bounds, takes that
// length from g at a sample batch, where every shape computation folds: a rank does not depend on
// the batch, and the target's values are left to the symbolic-batch pass. `sample` keeps that
// evaluation between calls (made on the first node that needs it).
void infer_node_in(const Graph& g, Node& n, std::unique_ptr<Graph>& sample);

}  // namespace mpq
