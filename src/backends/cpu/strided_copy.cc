#include "backends/cpu/strided_copy.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace mpq::cpu {

std::vector<int64_t> elem_strides(const TensorSpec& t, const Shape& shape) {
  const size_t r = shape.size();
  std::vector<int64_t> order(r);
  std::iota(order.begin(), order.end(), 0);
  if (r == 4 && t.layout == Layout::kNHWC) order = {0, 2, 3, 1};
  std::vector<int64_t> st(r, 1);
  int64_t s = 1;
  for (size_t k = r; k-- > 0;) {
    st[order[k]] = s;
    s *= shape[order[k]];
  }
  return st;
}

namespace {

template <typename T>
void copy_row(const uint8_t* src, int64_t ss, uint8_t* dst, int64_t ds, int64_t n) {
  const T* s = reinterpret_cast<const T*>(src);
  T* d = reinterpret_cast<T*>(dst);
  for (int64_t i = 0; i < n; ++i) d[i * ds] = s[i * ss];
}

// The copy itself, dims already in the destination's memory order (outermost first).
void strided_copy_ordered(const void* src, const std::vector<int64_t>& ss, void* dst,
                          const std::vector<int64_t>& ds, const Shape& dims, size_t es) {
  const size_t r = dims.size();
  const size_t last = r ? r - 1 : 0;
  const int64_t len = r ? dims[last] : 1;
  const int64_t sin = r ? ss[last] : 1, sout = r ? ds[last] : 1;
  int64_t rows = 1;
  for (size_t k = 0; k + 1 < r; ++k) rows *= dims[k];
  const auto* s0 = static_cast<const uint8_t*>(src);
  auto* d0 = static_cast<uint8_t*>(dst);
  const int64_t esz = static_cast<int64_t>(es);
#pragma omp parallel for schedule(static) if (rows * len > 16384)
  for (int64_t row = 0; row < rows; ++row) {
    int64_t rem = row, so = 0, dof = 0;
    for (size_t d = r - 1; d-- > 0;) {
      const int64_t i = rem % dims[d];
      rem /= dims[d];
      so += i * ss[d];
      dof += i * ds[d];
    }
    const uint8_t* sp = s0 + so * esz;
    uint8_t* dp = d0 + dof * esz;
    if (sin == 1 && sout == 1) {
      std::memcpy(dp, sp, static_cast<size_t>(len) * es);
    } else if (es == 1) {
      copy_row<uint8_t>(sp, sin, dp, sout, len);
    } else if (es == 2) {
      copy_row<uint16_t>(sp, sin, dp, sout, len);
    } else if (es == 4) {
      copy_row<uint32_t>(sp, sin, dp, sout, len);
    } else {
      for (int64_t i = 0; i < len; ++i) std::memcpy(dp + i * sout * esz, sp + i * sin * esz, es);
    }
  }
}

}  // namespace

void strided_copy(const void* src, const std::vector<int64_t>& ss, void* dst,
                  const std::vector<int64_t>& ds, const Shape& dims, size_t es) {
  if (shape_numel(dims) == 0) return;
  // Walk the dims in the destination's memory order so the innermost run is contiguous, and merge
  // neighbours that are contiguous in both tensors (a channel Slice of a plain tensor is then one
  // run per image, not one per image row).
  std::vector<size_t> order(dims.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return std::abs(ds[a]) > std::abs(ds[b]); });
  Shape dims_m;
  std::vector<int64_t> ss_m, ds_m;
  for (size_t d : order) {
    if (dims[d] == 1) continue;
    if (!dims_m.empty() && ss_m.back() == ss[d] * dims[d] && ds_m.back() == ds[d] * dims[d]) {
      dims_m.back() *= dims[d];
      ss_m.back() = ss[d];
      ds_m.back() = ds[d];
      continue;
    }
    dims_m.push_back(dims[d]);
    ss_m.push_back(ss[d]);
    ds_m.push_back(ds[d]);
  }
  if (dims_m.empty()) dims_m = {1}, ss_m = {1}, ds_m = {1};
  return strided_copy_ordered(src, ss_m, dst, ds_m, dims_m, es);
}

void fill_elements(void* dst, int64_t n, const void* value, size_t es) {
  auto* d = static_cast<uint8_t*>(dst);
  const auto* v = static_cast<const uint8_t*>(value);
  if (std::all_of(v, v + es, [](uint8_t b) { return b == 0; })) {
    std::memset(d, 0, static_cast<size_t>(n) * es);
    return;
  }
  if (es == 1) {
    std::memset(d, v[0], static_cast<size_t>(n));
    return;
  }
  for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * es, v, es);
}

std::vector<int64_t> const_ints(const TensorSpec* t) {
  if (!t || !t->constant) return {};
  return t->constant->to_int64s();
}

}  // namespace mpq::cpu
