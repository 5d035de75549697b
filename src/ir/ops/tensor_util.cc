#include "ir/ops/tensor_util.h"

#include <algorithm>
#include <cstring>

namespace mpq::ops {

Tensor unary_float(const Tensor& x, const std::function<float(float)>& f) {
  return from_f32(map_unary(to_f32(x), f), x.dtype());
}

Tensor reduce_to_shape(const Tensor& g, const Shape& s) {
  if (g.shape() == s) return g;
  Tensor out(DType::f32, s);
  float* po = out.data<float>();
  const float* pg = g.data<float>();
  // Iterate over g's elements with a broadcast index into `s`: each g element adds into the
  // element of `s` it was broadcast from.
  const Shape& gs = g.shape();
  broadcast_for_each<1>(gs, {&s},
                        [&](int64_t k, const std::array<int64_t, 1>& o) { po[o[0]] += pg[k]; });
  return out;
}

Tensor transpose_any(const Tensor& x, const std::vector<int64_t>& perm) {
  const int r = x.rank();
  Shape os(r);
  for (int i = 0; i < r; ++i) os[i] = x.dim(static_cast<int>(perm[i]));
  Tensor y(x.dtype(), os);
  const size_t es = dtype_size(x.dtype());
  auto in_st = strides_of(x.shape());
  std::vector<int64_t> st(r);  // input stride for each output axis
  for (int i = 0; i < r; ++i) st[i] = in_st[perm[i]];
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  std::vector<int64_t> idx(r, 0);
  int64_t off = 0;
  for (int64_t k = 0, n = y.numel(); k < n; ++k) {
    std::memcpy(dst + k * es, src + off * es, es);
    for (int d = r - 1; d >= 0; --d) {
      ++idx[d];
      off += st[d];
      if (idx[d] < os[d]) break;
      off -= st[d] * os[d];
      idx[d] = 0;
    }
  }
  return y;
}

std::optional<Tensor> constant_input(const Node& n, size_t i) {
  const Value* v = n.input(i);
  if (!v) return std::nullopt;
  if (v->constant) return *v->constant;
  const Node* p = v->producer;
  // An op without inputs (Constant) is a constant: evaluate it through its own forward.
  if (p && p->inputs.empty() && p->def().forward) {
    auto outs = p->def().forward(*p, {});
    if (static_cast<size_t>(v->producer_index) < outs.size()) return outs[v->producer_index];
  }
  return std::nullopt;
}

std::optional<std::vector<int64_t>> constant_ints(const Node& n, size_t i) {
  auto t = constant_input(n, i);
  if (!t) return std::nullopt;
  if (!is_int_dtype(t->dtype()))
    invalid_input(str("input ", i, " must be an integer tensor, got ", dtype_name(t->dtype())))
        .raise();
  return t->to_int64s();
}

int64_t out_numel(const Node& n) {
  if (n.outputs.empty()) return 0;
  return std::max<int64_t>(0, shape_numel(n.outputs[0]->shape));
}

void expect_index_dtype(const Node& n, size_t i) {
  const Value& v = in(n, i);
  if (v.dtype != DType::i32 && v.dtype != DType::i64)
    invalid_input(
        str("input ", i, " ('", v.name, "') must be int32 or int64, got ", dtype_name(v.dtype)))
        .raise();
}

void expect_unique_axes(const std::vector<int64_t>& axes, const char* key) {
  auto s = axes;
  std::sort(s.begin(), s.end());
  if (std::adjacent_find(s.begin(), s.end()) != s.end())
    invalid_input("axes contain a duplicate").key(key).raise();
}

double scalar_of(const Tensor& t, const char* what) {
  if (t.numel() != 1)
    invalid_input(str(what, " must be a scalar, got shape ", shape_str(t.shape()))).raise();
  return load_as_double(t.raw(), t.dtype(), 0);
}

}  // namespace mpq::ops
