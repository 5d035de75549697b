// Tensor-level helpers for the reference forward/backward of element-wise, shape and data-movement
// ops: dtype dispatch generated from the dtype table, fp32 staging of 16-bit floats, broadcasting
// iteration, gradient reduction over broadcast dims, byte-wise data movement for any dtype, and
// reading constant inputs during shape inference.
#pragma once

#include <array>
#include <optional>

#include "ir/ops/op_util.h"

namespace mpq::ops {

// Calls f(T{}) with the storage C type of dtype t (from the MPQ_DTYPES table). f16/bf16 map to
// their uint16_t storage, so arithmetic on them goes through to_f32 instead.
template <typename F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
#define MPQ_X(e, ctype, ...) \
  case DType::e:             \
    return f(ctype{});
    MPQ_DTYPES(MPQ_X)
#undef MPQ_X
  }
  return f(float{});
}

inline bool is_float_dtype(DType t) {
  return dtype_info(t).is_float;
}
inline bool is_int_dtype(DType t) {
  return dtype_info(t).is_integer;
}

// Float tensors are computed in fp32: to_f32 stages f16/bf16 input, from_f32 converts back.
inline Tensor to_f32(const Tensor& t) {
  return t.dtype() == DType::f32 ? t : t.cast(DType::f32);
}
inline Tensor from_f32(const Tensor& t, DType d) {
  return d == DType::f32 ? t : t.cast(d);
}

// Element-wise map of a float tensor of any float dtype (computed in fp32, result in x's dtype).
Tensor unary_float(const Tensor& x, const std::function<float(float)>& f);

// Iterates over the broadcast of N input shapes into `out`: calls f(k, idx) with the flat output
// index k and each input's flat element index.
template <size_t N, typename F>
void broadcast_for_each(const Shape& out, const std::array<const Shape*, N>& ins, F&& f) {
  const size_t r = out.size();
  std::array<std::vector<int64_t>, N> st;
  for (size_t j = 0; j < N; ++j) {
    const Shape& s = *ins[j];
    st[j].assign(r, 0);
    auto own = strides_of(s);
    for (size_t i = 0; i < s.size(); ++i) st[j][r - s.size() + i] = s[i] == 1 ? 0 : own[i];
  }
  const int64_t n = shape_numel(out);
  std::vector<int64_t> idx(r, 0);
  std::array<int64_t, N> off{};
  for (int64_t k = 0; k < n; ++k) {
    f(k, off);
    for (int d = static_cast<int>(r) - 1; d >= 0; --d) {  // odometer increment
      ++idx[d];
      for (size_t j = 0; j < N; ++j) off[j] += st[j][d];
      if (idx[d] < out[d]) break;
      for (size_t j = 0; j < N; ++j) off[j] -= st[j][d] * out[d];
      idx[d] = 0;
    }
  }
}

// Sums an f32 gradient of a broadcast result back to the shape of the input that was broadcast.
Tensor reduce_to_shape(const Tensor& g, const Shape& s);

// Permutes the axes of a tensor of any dtype (byte copies).
Tensor transpose_any(const Tensor& x, const std::vector<int64_t>& perm);

// The constant value of input i when it is known at graph-build time: an initializer or the output
// of an input-less op (Constant). nullopt when the input is absent or computed at run time.
std::optional<Tensor> constant_input(const Node& n, size_t i);
// Same, read as int64 values (shape/axes/pads inputs).
std::optional<std::vector<int64_t>> constant_ints(const Node& n, size_t i);

// Number of elements of output 0 (0 when not statically known); the flops of element-wise ops.
int64_t out_numel(const Node& n);

// Throws invalid_input unless input i has an integer (index) dtype i32/i64.
void expect_index_dtype(const Node& n, size_t i);
// Rejects duplicate entries among normalized axes (naming `key`).
void expect_unique_axes(const std::vector<int64_t>& axes, const char* key);

// ONNX binding of a default-domain op valid from opset `min` to `max`.
inline OnnxBinding onnx_op(std::string op_type, int min, int max = 18) {
  OnnxBinding b;
  b.op_type = std::move(op_type);
  b.min_opset = min;
  b.max_opset = max;
  return b;
}

// Reads a scalar or 1-element tensor as double (Clip bounds, Dropout ratio, Pad value).
double scalar_of(const Tensor& t, const char* what);

}  // namespace mpq::ops
