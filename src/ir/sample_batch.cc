#include "ir/sample_batch.h"

#include "ir/op_def.h"

namespace mpq {

namespace {

// Larger values are data, not shapes: they are left to the engine.
constexpr int64_t kMaxSampledElements = 4096;

// Evaluates n when its inputs are known at this batch: a Shape of a fully known value, or a node
// whose inputs are all constants and whose outputs are small (shape data, not activations).
void fold_concrete(Node& n) {
  if (!n.def().forward) return;
  std::vector<Tensor> in;
  if (n.op == OpKind::Shape) {
    const Value* x = n.inputs.at(0);
    for (int64_t d : x->shape)
      if (d < 0) return;
    in.push_back(Tensor::view(x->dtype, x->shape, nullptr));  // Shape reads only the shape
  } else {
    for (const Value* v : n.inputs) {
      if (v && !v->is_constant()) return;
      in.push_back(v ? *v->constant : Tensor());
    }
    for (const Value* o : n.outputs) {
      const int64_t k = shape_numel(o->shape);
      if (k < 0 || k > kMaxSampledElements) return;
      for (int64_t d : o->shape)
        if (d < 0) return;
    }
  }
  try {
    std::vector<Tensor> out = n.def().forward(n, in);
    for (size_t i = 0; i < n.outputs.size() && i < out.size(); ++i) n.outputs[i]->constant = out[i];
  } catch (const Error&) {
    // Not computable at this batch (e.g. an index past a dim): left to run time.
  }
}

// The length of n's target at a sample batch, set on the target; false if it did not fold there.
bool resolve_target_length(const Graph& g, Node& n, std::unique_ptr<Graph>& sample) {
  if ((n.op != OpKind::Reshape && n.op != OpKind::Expand) || !n.has_input(1)) return false;
  Value* t = n.inputs[1];
  if (t->is_constant() || t->shape.size() != 1 || t->shape[0] >= 0) return false;
  // A sample made for an earlier node copied the nodes after it as they were then: the importer
  // checks nodes in order (attribute defaults, fixups), so those may not have evaluated there.
  // A target the kept sample does not give asks for one sample of the graph as it is now.
  auto length_from_sample = [&] {
    const Value* c = sample->find_value(t->name);
    if (!c || !c->is_constant() || c->constant->shape().size() != 1) return false;
    t->shape = {c->constant->shape()[0]};
    return true;
  };
  if (sample && length_from_sample()) return true;
  sample = graph_at_batch(g, 1009);
  return length_from_sample();
}

}  // namespace

bool is_batched_input(const Value* v) {
  return !v->is_constant() && !v->shape.empty() && v->shape[0] < 0;
}

std::unique_ptr<Graph> graph_at_batch(const Graph& g, int64_t batch) {
  auto c = g.clone();
  for (Value* v : c->inputs())
    if (is_batched_input(v)) v->shape[0] = batch;
  for (const auto& n : c->nodes()) {
    try {
      infer_node(*n, /*cap_sizes=*/false);  // a sample batch of ~3000 images passes any cap
    } catch (const Error&) {
      continue;  // its outputs stay unknown here; the real graph reports it
    }
    fold_concrete(*n);
  }
  return c;
}

void infer_node_in(const Graph& g, Node& n, std::unique_ptr<Graph>& sample) {
  try {
    infer_node(n);
  } catch (const Error& e) {
    if (e.status().code != Code::kUnsupported || !resolve_target_length(g, n, sample)) throw;
    infer_node(n);
  }
}

}  // namespace mpq
