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

// Gradient of a per-channel bias B [M] added to Y [N, M, P]: dB[m] = sum over n, p of dY,
// accumulated in double per (n, m) row; returned as `dtype`.
inline Tensor channel_bias_grad(const float* gy, int64_t N, int64_t M, int64_t P,
                                const Shape& shape, DType dtype) {
  Tensor gb(DType::f32, shape);
  float* out = gb.data<float>();
  for (int64_t b = 0; b < N; ++b)
    for (int64_t m = 0; m < M; ++m) {
      const float* row = gy + (b * M + m) * P;
      double s = 0;
      for (int64_t i = 0; i < P; ++i) s += row[i];
      out[m] += static_cast<float>(s);
    }
  return from_f32(gb, dtype);
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
