// Small helpers shared by the compute-heavy ops (conv, gemm, pool, batchnorm).
#pragma once

#include "core/tensor.h"

namespace mpq::ops {

// The reference computes in fp32: other float dtypes go through a converted copy.
inline Tensor as_f32(const Tensor& t) {
  return t.dtype() == DType::f32 ? t : t.cast(DType::f32);
}
inline Tensor from_f32(const Tensor& t, DType d) {
  return d == DType::f32 ? t : t.cast(d);
}

// A dim for cost estimates: unknown (-1) counts as 1.
inline int64_t known_dim(int64_t d) {
  return d < 0 ? 1 : d;
}
inline int64_t known_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= known_dim(d);
  return n;
}

}  // namespace mpq::ops
