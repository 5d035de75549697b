// Transpose: permutes axes (default: reversed). Any dtype; int8 passes through with its scale.
#include <algorithm>
#include <numeric>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {
std::vector<int64_t> perm_of(const Node& n, int64_t rank) {
  std::vector<int64_t> p;
  if (n.attrs.has("perm")) {
    p = n.attrs.ints("perm");
  } else {
    p.resize(rank);
    std::iota(p.rbegin(), p.rend(), 0);
  }
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  bool ok = static_cast<int64_t>(p.size()) == rank;
  for (int64_t i = 0; ok && i < rank; ++i) ok = sorted[i] == i;
  if (!ok)
    invalid_input(str("perm ", shape_str(p), " is not a permutation of the ", rank, " input axes"))
        .key("perm")
        .raise();
  return p;
}
}  // namespace

OpDef def_Transpose() {
  OpDef d;
  d.doc = "permute axes (default: reverse them)";
  d.attrs = {attr_ints_opt("perm")};
  d.infer = [](const Node& n) {
    const Value& x = in(n, 0);
    auto p = perm_of(n, static_cast<int64_t>(x.shape.size()));
    Shape s(p.size());
    for (size_t i = 0; i < p.size(); ++i) s[i] = x.shape[p[i]];
    return std::vector<TypeInfo>{{x.dtype, s}};
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    Tensor y = transpose_any(x[0], perm_of(n, x[0].rank()));
    if (x[0].quant() && !x[0].quant()->per_channel()) y.set_quant(x[0].quant());
    return std::vector<Tensor>{y};
  };
  d.backward = [](const Node& n, const std::vector<Tensor>& x, const std::vector<Tensor>&,
                  const std::vector<Tensor>& gy) {
    auto p = perm_of(n, x[0].rank());
    std::vector<int64_t> inv(p.size());
    for (size_t i = 0; i < p.size(); ++i) inv[p[i]] = static_cast<int64_t>(i);
    return std::vector<Tensor>{transpose_any(to_f32(gy[0]), inv)};
  };
  d.quant = QuantRule::kPassthrough;
  d.onnx = onnx_op("Transpose", 1);
  return d;
}

}  // namespace mpq::ops
