// Host entry of the row normalization kernel (norm.cu).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/launch.h"

namespace mpq::cuda {

// LayerNormalization over the last `cols` elements of each of `rows` rows of a plain tensor:
// y = (x - mean) / sqrt(var + eps) * gamma + beta, statistics in fp32; gamma/beta are f32 device
// arrays of `cols` values (beta may be null).
cudaError_t layer_norm_rows(const void* x, ElemDesc xd, void* y, ElemDesc yd, int64_t rows,
                            int64_t cols, const float* gamma, const float* beta, float eps,
                            cudaStream_t stream);

}  // namespace mpq::cuda
