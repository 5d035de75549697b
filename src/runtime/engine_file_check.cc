#include "runtime/engine_file_check.h"

#include "backends/backend.h"
#include "core/limits.h"
#include "ir/op_def.h"
#include "ir/post_op.h"

namespace mpq::runtime {

namespace {

class PlanChecker {
 public:
  PlanChecker(const plan::Plan& p, std::string file) : p_(p), file_(std::move(file)) {}

  void run() {
    for (const auto& n : p_.graph->nodes()) check_node(*n);
    for (const TensorSpec& s : p_.tensors) check_spec(s);
    for (const plan::Step& st : p_.steps) check_step(st);
  }

 private:
  [[noreturn]] void fail(const std::string& msg, const std::string& node = "",
                         const std::string& key = "") const {
    invalid_input(str("malformed engine file (", msg, "); rebuild it with `mpq build`"))
        .file(file_)
        .node(node)
        .key(key)
        .raise();
  }

  void check_size(const Shape& s, const std::string& what, const std::string& node) const {
    try {
      checked_numel(s, what, true);
    } catch (const Error& e) {
      fail(e.status().message, node, what);
    }
  }

  // Per-channel scales must cover the channel axis exactly: kernels index them by channel.
  void check_quant(const std::optional<QuantParams>& q, const Shape& s, const std::string& what,
                   const std::string& node) const {
    if (!q) return;
    const int rank = static_cast<int>(s.size());
    if (q->scale.empty()) fail(str(what, " has no quantization scale"), node, what);
    if (q->axis < -1 || q->axis >= rank)
      fail(str(what, " is quantized along axis ", q->axis, " but has rank ", rank), node, what);
    if (q->axis < 0 && q->scale.size() != 1)
      fail(str(what, " is quantized per tensor with ", q->scale.size(), " scales"), node, what);
    if (q->axis >= 0 && (s[q->axis] < 0 || q->scale.size() != static_cast<size_t>(s[q->axis])))
      fail(str(what, " of shape ", shape_str(s), " has ", q->scale.size(),
               " per-channel scales along axis ", q->axis),
           node, what);
  }

  void check_node(const Node& n) const {
    try {
      if (n.def().check_attrs) n.def().check_attrs(n);
      if (n.attrs.has(kPostOpsAttr)) post_ops(n);
      check_inferred(n);
    } catch (const Error& e) {
      fail(e.status().message, n.name, e.status().key);
    }
    for (const Value* v : n.inputs) {
      if (!v) continue;
      const std::string what = str("value '", v->name, "'");
      // Kernels read their inputs' dims at prepare; an untyped input would also skip the shape
      // inference check above. mpq writes every planned value with its type.
      if (!v->has_type) fail(str(what, " has no recorded type"), n.name, v->name);
      check_size(v->shape, what, n.name);
      if (!v->is_constant()) continue;
      if (v->constant->shape() != v->shape)
        fail(str(what, " has shape ", shape_str(v->shape), " but its constant data has shape ",
                 shape_str(v->constant->shape())),
             n.name, v->name);
      check_quant(v->constant->quant(), v->shape, what, n.name);
    }
  }

  // The op's own shape inference must accept the node's inputs and give the recorded outputs
  // (where both know a dim): kernels are prepared on the shapes inference guarantees.
  void check_inferred(const Node& n) const {
    for (const Value* v : n.inputs)
      if (v && !v->has_type) return;  // nothing to infer from
    if (!n.def().infer) return;
    const std::vector<TypeInfo> got = n.def().infer(n);
    for (size_t i = 0; i < n.outputs.size() && i < got.size(); ++i) {
      const Value* v = n.outputs[i];
      bool same = !v->has_type || v->shape.size() == got[i].shape.size();
      for (size_t d = 0; same && v->has_type && d < v->shape.size(); ++d)
        same = v->shape[d] < 0 || got[i].shape[d] < 0 || v->shape[d] == got[i].shape[d];
      if (!same)
        fail(str("output '", v->name, "' is recorded as ", shape_str(v->shape), " but its inputs ",
                 "give ", shape_str(got[i].shape)),
             n.name, v->name);
    }
  }

  void check_spec(const TensorSpec& s) const {
    const std::string what = str("tensor '", s.name, "'");
    // The builder records every dim, the batch's at the maximum batch: kernels size their work
    // from them (an unknown dim gave a matmul of 0 rows, which oneDNN divides by).
    for (int64_t d : s.shape)
      if (d < 0) fail(str(what, " ", shape_str(s.shape), " has an unknown dim"), "", s.name);
    check_size(s.shape, what, "");
    // A batched tensor is recorded at the maximum batch: its batch dim is batch_mult times it.
    if (s.batched && s.shape[s.batch_dim] != p_.options.max_batch * s.batch_mult)
      fail(str(what, " ", shape_str(s.shape), " is not at the maximum batch ", p_.options.max_batch,
               " (x", s.batch_mult, ") along dim ", s.batch_dim),
           "", s.name);
    check_quant(s.quant, s.shape, what, "");
    if (s.constant && s.constant->shape() != s.shape)
      fail(str(what, " has shape ", shape_str(s.shape), " but its constant data has shape ",
               shape_str(s.constant->shape())),
           "", s.name);
  }

  // A step's tensors are its node's values at the maximum batch: same names, ranks and dims
  // wherever the graph knows them.
  void check_io(const plan::Step& st, const std::vector<int>& specs,
                const std::vector<Value*>& values) const {
    for (size_t k = 0; k < specs.size(); ++k) {
      const Value* v = values[k];
      if (specs[k] < 0 || !v) {
        if ((specs[k] < 0) != !v) fail("a step's inputs do not match its node", st.node->name);
        continue;
      }
      const TensorSpec& s = p_.tensors[specs[k]];
      bool same = s.name == v->name && s.shape.size() == v->shape.size();
      for (size_t d = 0; same && d < s.shape.size(); ++d)
        same = v->shape[d] < 0 || s.shape[d] < 0 || v->shape[d] == s.shape[d];
      if (!same)
        fail(str("tensor '", s.name, "' ", shape_str(s.shape), " does not match value '", v->name,
                 "' ", shape_str(v->shape)),
             st.node->name, s.name);
      // Kernels read weights and biases from the step's tensors: a constant stays one.
      if (s.is_constant() != v->is_constant())
        fail(str("tensor '", s.name, "' is ", s.is_constant() ? "" : "not ",
                 "a constant, but its value is", v->is_constant() ? "" : " not"),
             st.node->name, s.name);
    }
  }

  void check_step(const plan::Step& st) const {
    check_io(st, st.inputs, st.node->inputs);
    check_io(st, st.outputs, st.node->outputs);
    // The builder chose the kernel because it supports the node; a kernel prepares on that
    // promise (a Gemm's bias is a constant), so an edited node must still keep it.
    const KernelInfo* ki = KernelRegistry::instance().by_name(st.kernel_name);
    if (ki && ki->supports) {
      const std::string why = ki->supports(*st.node);
      if (!why.empty())
        fail(str("kernel '", st.kernel_name, "' does not run this node (", why, ")"),
             st.node->name);
    }
  }

  const plan::Plan& p_;
  std::string file_;
};

}  // namespace

void check_loaded_plan(const plan::Plan& p, const std::string& file) {
  PlanChecker(p, file).run();
}

}  // namespace mpq::runtime
