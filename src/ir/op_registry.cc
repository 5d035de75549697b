#include <map>

#include "core/limits.h"
#include "ir/op_def.h"
#include "ir/sample_batch.h"

namespace mpq {

namespace ops {
#define MPQ_OP(op) OpDef def_##op();
#include "ir/ops.def"
#undef MPQ_OP
}  // namespace ops

const char* quant_rule_name(QuantRule r) {
  switch (r) {
    case QuantRule::kFloatOnly:
      return "float-only";
    case QuantRule::kRequant:
      return "requant";
    case QuantRule::kPassthrough:
      return "passthrough";
  }
  return "?";
}

namespace {
struct Registry {
  std::vector<OpDef> defs;
  std::vector<const OpDef*> ptrs;
  Registry() {
#define MPQ_OP(op)                 \
  defs.push_back(ops::def_##op()); \
  defs.back().kind = OpKind::op;   \
  if (defs.back().name.empty()) defs.back().name = #op;
#include "ir/ops.def"
#undef MPQ_OP
    for (auto& d : defs) ptrs.push_back(&d);
  }
};
const Registry& registry() {
  static const Registry r;
  return r;
}
}  // namespace

const OpDef& op_def(OpKind k) {
  return registry().defs.at(static_cast<size_t>(k));
}
const std::vector<const OpDef*>& all_op_defs() {
  return registry().ptrs;
}

const OpDef* find_op_def(std::string_view name) {
  for (const OpDef* d : registry().ptrs)
    if (d->name == name) return d;
  return nullptr;
}

const OpDef* find_onnx_op(std::string_view domain, std::string_view op_type, int opset) {
  std::string_view dom = domain == "ai.onnx" ? "" : domain;
  for (const OpDef* d : registry().ptrs)
    if (!d->onnx.op_type.empty() && d->onnx.op_type == op_type && d->onnx.domain == dom &&
        opset >= d->onnx.min_opset && opset <= d->onnx.max_opset)
      return d;
  return nullptr;
}

void apply_attr_schema(Node& n) {
  const OpDef& d = n.def();
  for (const auto& [key, val] : n.attrs.all()) {
    const AttrSpec* spec = nullptr;
    for (const auto& s : d.attrs)
      if (s.name == key) spec = &s;
    if (!spec) {
      bool internal = false;
      for (const auto& s : d.onnx.internal_attrs) internal |= s == key;
      if (!internal)
        unsupported(str("attribute is not supported by mpq's ", d.name))
            .node(n.name)
            .key(key)
            .raise();
      continue;
    }
    AttrType got = attr_value_type(val);
    if (got != spec->type) {
      // Accept an int where a float is expected (ONNX writers are loose about this).
      if (spec->type == AttrType::kFloat && got == AttrType::kInt) {
        n.attrs.set(key, static_cast<float>(std::get<int64_t>(val)));
        continue;
      }
      invalid_input(str("attribute has type ", attr_type_name(got), ", expected ",
                        attr_type_name(spec->type)))
          .node(n.name)
          .key(key)
          .raise();
    }
  }
  for (const auto& s : d.attrs) {
    if (n.attrs.has(s.name)) continue;
    if (s.default_value)
      n.attrs.set(s.name, *s.default_value);
    else if (!s.optional)
      invalid_input(str(d.name, " requires this attribute")).node(n.name).key(s.name).raise();
  }
}

namespace {

// A layer whose weight or input has a zero-sized dim computes nothing; oneDNN divides by such
// sizes, so it is refused while the graph is built.
void check_not_empty(const Node& n) {
  for (size_t i = 0; i < 2 && i < n.inputs.size(); ++i) {
    const Value* v = n.inputs[i];
    if (!v || !v->has_type) continue;
    for (int64_t d : v->shape)
      if (d == 0)
        invalid_input(str(i == 1 ? "weight" : "input", " '", v->name, "' has a zero-sized dim ",
                          shape_str(v->shape),
                          ": the layer would compute nothing (check the exporter or the model)"))
            .node(n.name)
            .raise();
  }
}

}  // namespace

void infer_node(Node& n, bool cap_sizes) {
  const OpDef& d = n.def();
  int nin = static_cast<int>(n.inputs.size());
  if (nin < d.min_inputs || nin > d.max_inputs)
    invalid_input(str(d.name, " takes ", d.min_inputs, "..", d.max_inputs, " inputs, got ", nin))
        .node(n.name)
        .raise();
  const int nout = static_cast<int>(n.outputs.size());
  if (nout < d.min_outputs || nout > d.max_outputs)
    invalid_input(str(d.name, " has ", d.min_outputs, "..", d.max_outputs, " outputs, got ", nout))
        .node(n.name)
        .raise();
  for (Value* in : n.inputs)
    if (in && !in->has_type)
      invalid_input("input '" + in->name + "' has no known type (dangling value?)")
          .node(n.name)
          .raise();
  std::vector<TypeInfo> outs;
  try {
    if (d.check_attrs) d.check_attrs(n);
    if (d.weighted) check_not_empty(n);
    outs = d.infer(n);
    // Huge pads or sizes in a file must fail here, not as a multi-terabyte allocation later.
    for (size_t i = 0; cap_sizes && i < outs.size() && i < n.outputs.size(); ++i)
      checked_numel(outs[i].shape, str("output '", n.outputs[i]->name, "'"), true);
  } catch (const Error& e) {
    throw e.with_node(n.name);
  }
  if (outs.size() < n.outputs.size())
    internal_error(str(d.name, " inferred ", outs.size(), " outputs for ", n.outputs.size()))
        .node(n.name)
        .raise();
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    n.outputs[i]->dtype = outs[i].dtype;
    n.outputs[i]->shape = outs[i].shape;
    n.outputs[i]->has_type = true;
  }
}

void infer_shapes(Graph& g) {
  g.sort();
  std::unique_ptr<Graph> sample;
  for (auto& n : g.nodes()) infer_node_in(g, *n, sample);
}

bool has_constant_weight(const Node& n) {
  return n.def().weighted && n.has_input(1) && n.inputs[1]->is_constant();
}

}  // namespace mpq
