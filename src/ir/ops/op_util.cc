#include "ir/ops/op_util.h"

namespace mpq::ops {

const Value& in(const Node& n, size_t i) {
  if (!n.has_input(i)) invalid_input(str(n.op_name(), " needs input ", i)).node(n.name).raise();
  return *n.inputs[i];
}

void expect_rank(const Node& n, size_t i, int rank) {
  const Value& v = in(n, i);
  if (static_cast<int>(v.shape.size()) != rank)
    invalid_input(str("input ", i, " ('", v.name, "') must have rank ", rank, ", got shape ",
                      shape_str(v.shape)))
        .node(n.name)
        .raise();
}

void expect_float(const Node& n, size_t i) {
  const Value& v = in(n, i);
  if (!dtype_info(v.dtype).is_float)
    invalid_input(
        str("input ", i, " ('", v.name, "') must be a float tensor, got ", dtype_name(v.dtype)))
        .node(n.name)
        .raise();
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == 1)
      out[i] = db;
    else if (db == 1 || da == db)
      out[i] = da;
    else if (da < 0 || db < 0)
      out[i] = std::max(da, db);
    else
      invalid_input("shapes " + shape_str(a) + " and " + shape_str(b) + " do not broadcast")
          .raise();
  }
  return out;
}

std::vector<TypeInfo> same_as_input0(const Node& n) {
  return {{in(n, 0).dtype, in(n, 0).shape}};
}

Tensor map_unary(const Tensor& x, const std::function<float(float)>& f) {
  Tensor y(DType::f32, x.shape());
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) py[i] = f(px[i]);
  return y;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

Tensor map_binary(const Tensor& a, const Tensor& b, DType out,
                  const std::function<double(double, double)>& f) {
  Shape os = broadcast_shapes(a.shape(), b.shape());
  Tensor y(out, os);
  const size_t r = os.size();
  // Broadcast strides: 0 where the input dim is 1 (or missing).
  auto bstrides = [&](const Shape& s) {
    std::vector<int64_t> st(r, 0), own = strides_of(s);
    for (size_t i = 0; i < s.size(); ++i) {
      size_t o = r - s.size() + i;
      st[o] = s[i] == 1 ? 0 : own[i];
    }
    return st;
  };
  auto sa = bstrides(a.shape()), sb = bstrides(b.shape());
  const int64_t n = y.numel();
  const bool fast = a.dtype() == DType::f32 && b.dtype() == DType::f32 && out == DType::f32;
  std::vector<int64_t> idx(r, 0);
  int64_t ia = 0, ib = 0;
  for (int64_t k = 0; k < n; ++k) {
    if (fast)
      y.data<float>()[k] = static_cast<float>(f(a.data<float>()[ia], b.data<float>()[ib]));
    else
      store_from_double(
          y.raw(), out, k,
          f(load_as_double(a.raw(), a.dtype(), ia), load_as_double(b.raw(), b.dtype(), ib)));
    for (int d = static_cast<int>(r) - 1; d >= 0; --d) {  // odometer increment
      ++idx[d];
      ia += sa[d], ib += sb[d];
      if (idx[d] < os[d]) break;
      ia -= sa[d] * os[d], ib -= sb[d] * os[d];
      idx[d] = 0;
    }
  }
  return y;
}

int64_t normalize_axis(int64_t axis, int64_t rank, const char* key) {
  int64_t a = axis < 0 ? axis + rank : axis;
  // A scalar has no axis: callers index the shape by the result.
  if (a < 0 || a >= rank)
    invalid_input(str("axis ", axis, " is out of range for rank ", rank)).key(key).raise();
  return a;
}

}  // namespace mpq::ops
