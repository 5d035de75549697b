#include "backends/reference/executor.h"

#include <unordered_map>

#include "ir/op_def.h"

namespace mpq {

void check_run_inputs(const Graph& g, const std::vector<Tensor>& inputs) {
  if (inputs.size() != g.inputs().size())
    invalid_input(str("model takes ", g.inputs().size(), " input(s), got ", inputs.size())).raise();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = *g.inputs()[i];
    const Tensor& t = inputs[i];
    bool ok = t.dtype() == v.dtype && t.rank() == static_cast<int>(v.shape.size());
    for (int d = 0; ok && d < t.rank(); ++d) ok = v.shape[d] < 0 || v.shape[d] == t.dim(d);
    if (!ok)
      invalid_input(str("input has ", dtype_name(t.dtype()), shape_str(t.shape()), ", the model expects ",
                        dtype_name(v.dtype), shape_str(v.shape)))
          .key(v.name)
          .raise();
  }
}

ReferenceExecutor::ReferenceExecutor(const Graph& g) : g_(g) {}

std::vector<Tensor> ReferenceExecutor::run(const std::vector<Tensor>& inputs,
                                           const ValueObserver& observe) {
  check_run_inputs(g_, inputs);
  std::unordered_map<const Value*, Tensor> env;
  // Free a value's tensor once its last consumer ran: keeps peak memory near the live set.
  std::unordered_map<const Value*, size_t> remaining;
  for (const auto& n : g_.nodes())
    for (const Value* v : n->inputs)
      if (v) ++remaining[v];
  for (const Value* o : g_.outputs()) ++remaining[o];

  for (size_t i = 0; i < inputs.size(); ++i) {
    env[g_.inputs()[i]] = inputs[i];
    if (observe) observe(*g_.inputs()[i], inputs[i]);
  }
  for (const auto& n : g_.nodes()) {
    std::vector<Tensor> args;
    args.reserve(n->inputs.size());
    for (const Value* v : n->inputs) {
      if (!v) {
        args.emplace_back();
      } else if (v->is_constant()) {
        args.push_back(*v->constant);
      } else {
        auto it = env.find(v);
        if (it == env.end())
          internal_error("value '" + v->name + "' used before it is computed").node(n->name).raise();
        args.push_back(it->second);
      }
    }
    std::vector<Tensor> outs;
    try {
      outs = n->def().forward(*n, args);
    } catch (const Error& e) {
      throw e.with_node(n->name);
    }
    for (const Value* v : n->inputs)
      if (v && !v->is_constant() && --remaining[v] == 0) env.erase(v);
    for (size_t i = 0; i < n->outputs.size() && i < outs.size(); ++i) {
      if (observe) observe(*n->outputs[i], outs[i]);
      if (remaining[n->outputs[i]] > 0) env[n->outputs[i]] = std::move(outs[i]);
    }
  }
  std::vector<Tensor> results;
  for (const Value* o : g_.outputs()) {
    if (o->is_constant()) {
      results.push_back(*o->constant);
      continue;
    }
    auto it = env.find(o);
    if (it == env.end()) internal_error("graph output '" + o->name + "' was not computed").raise();
    results.push_back(it->second);
  }
  return results;
}

}  // namespace mpq
