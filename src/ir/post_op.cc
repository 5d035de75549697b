#include "ir/post_op.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace mpq {

namespace {

bool is_post_op(const OpDef& d) {
  return d.kind == OpKind::Add || d.epilogue.has_value();
}

}  // namespace

std::vector<PostOp> post_ops(const Node& n) {
  std::vector<PostOp> out;
  if (!n.attrs.has(kPostOpsAttr)) return out;
  const auto& names = n.attrs.strings(kPostOpsAttr);
  const std::vector<float> params =
      n.attrs.has(kPostOpParamsAttr) ? n.attrs.floats(kPostOpParamsAttr) : std::vector<float>{};
  if (params.size() != names.size() * 2)
    invalid_input(
        str("expected two parameters per post-op (", names.size() * 2, "), got ", params.size()))
        .node(n.name)
        .key(kPostOpParamsAttr)
        .raise();
  for (size_t i = 0; i < names.size(); ++i) {
    const OpDef* d = find_op_def(names[i]);
    if (!d || !is_post_op(*d))
      invalid_input("'" + names[i] + "' is not an op that can be fused as a post-op")
          .node(n.name)
          .key(kPostOpsAttr)
          .raise();
    out.push_back({d->kind, params[2 * i], params[2 * i + 1]});
  }
  return out;
}

void set_post_ops(Node& n, const std::vector<PostOp>& ops) {
  if (ops.empty()) {
    n.attrs.erase(kPostOpsAttr);
    n.attrs.erase(kPostOpParamsAttr);
    return;
  }
  std::vector<std::string> names;
  std::vector<float> params;
  for (const PostOp& p : ops) {
    const OpDef& d = op_def(p.kind);
    if (!is_post_op(d)) internal_error(d.name + " is not a post-op").node(n.name).raise();
    names.push_back(d.name);
    params.push_back(p.a);
    params.push_back(p.b);
  }
  n.attrs.set(kPostOpsAttr, names);
  n.attrs.set(kPostOpParamsAttr, params);
}

const EpilogueTrait& epilogue_of(OpKind k) {
  const OpDef& d = op_def(k);
  if (!d.epilogue || !d.epilogue->apply)
    internal_error(d.name + " has no element-wise epilogue").raise();
  return *d.epilogue;
}

float apply_post_op(const PostOp& p, float x) {
  return epilogue_of(p.kind).apply(x, p.a, p.b);
}

ValueRange post_op_range(const PostOp& p, ValueRange r) {
  const EpilogueTrait& t = epilogue_of(p.kind);
  const float m = t.minimum_at ? t.minimum_at(p.a, p.b) : -std::numeric_limits<float>::infinity();
  const float flo = t.apply(r.lo, p.a, p.b), fhi = t.apply(r.hi, p.a, p.b);
  ValueRange out{std::min(flo, fhi), std::max(flo, fhi)};
  if (r.lo <= m && m <= r.hi) out.lo = std::min(out.lo, t.apply(m, p.a, p.b));
  return out;
}

}  // namespace mpq
