#include "ir/verifier.h"

#include <algorithm>
#include <unordered_set>

#include "ir/op_def.h"

namespace mpq {

void verify(const Graph& g) {
  std::unordered_set<const Value*> defined;
  for (const Value* v : g.inputs()) defined.insert(v);
  for (const auto& v : g.values())
    if (v->is_constant()) defined.insert(v.get());
  for (const auto& n : g.nodes()) {
    const OpDef& d = n->def();
    int nin = static_cast<int>(n->inputs.size());
    if (nin < d.min_inputs || nin > d.max_inputs)
      invalid_input(str(d.name, " takes ", d.min_inputs, "..", d.max_inputs, " inputs, got ", nin))
          .node(n->name)
          .raise();
    for (const Value* in : n->inputs) {
      if (!in) continue;
      if (!defined.count(in))
        invalid_input("input '" + in->name +
                      "' is not a graph input, initializer or output of an earlier node "
                      "(dangling value or cycle)")
            .node(n->name)
            .raise();
      if (std::find(in->consumers.begin(), in->consumers.end(), n.get()) == in->consumers.end())
        internal_error("consumer list of '" + in->name + "' misses this node").node(n->name).raise();
    }
    for (const Value* out : n->outputs) {
      if (out->producer != n.get() || defined.count(out))
        invalid_input("value '" + out->name + "' is produced more than once").node(n->name).raise();
      defined.insert(out);
    }
  }
  for (const Value* o : g.outputs())
    if (!defined.count(o)) invalid_input("graph output '" + o->name + "' is never produced").raise();
  if (g.outputs().empty()) invalid_input("graph has no outputs").raise();
}

}  // namespace mpq
