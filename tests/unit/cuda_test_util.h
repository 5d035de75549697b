// What the GPU tests share: skipping without a GPU, seeded uniform tensors, and min/max ranges of
// every float value over a reference run (the calibration table the engines are built from).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "backends/cuda/cuda_util.h"
#include "backends/reference/executor.h"
#include "quant/calibration_table.h"

#define SKIP_WITHOUT_GPU()                                           \
  do {                                                               \
    const std::string why = mpq::cuda::device_unavailable_reason();  \
    if (!why.empty()) GTEST_SKIP() << "CUDA tests skipped: " << why; \
  } while (0)

namespace mpq::cuda_testing {

inline Tensor rnd(const Shape& s, float lo, float hi, unsigned seed) {
  std::mt19937 r(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  Tensor t(DType::f32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(r);
  return t;
}

inline quant::CalibrationTable minmax_table(const Graph& g, const std::vector<Tensor>& x) {
  quant::CalibrationTable t;
  ReferenceExecutor ex(g);
  ex.run(x, [&](const Value& v, const Tensor& val) {
    if (v.is_constant() || val.dtype() != DType::f32) return;
    auto f = val.to_floats();
    auto [lo, hi] = std::minmax_element(f.begin(), f.end());
    quant::TensorRange r;
    r.min = *lo, r.max = *hi, r.method = "minmax";
    t.tensors[v.name] = r;
  });
  return t;
}

}  // namespace mpq::cuda_testing
