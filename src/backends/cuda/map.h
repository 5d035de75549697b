// Host-side entry points of the strided element-wise kernels (map.cu): one kernel walks an
// iteration space of up to kMapMaxRank dims and addresses each operand through its own strides,
// which covers numpy broadcasting (stride 0), NHWC and plain layouts, Transpose, Slice, Concat
// (one launch per input into a window of the output), Pad and Gather.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/launch.h"

namespace mpq::cuda {

constexpr int kMapMaxRank = 6;
constexpr int kMapMaxIn = 3;

// The scalar function of a map launch (values are dequantized floats).
enum MapOp : int32_t {
  kMapCopy = 0,
  kMapSigmoid,
  kMapTanh,
  kMapExp,
  kMapSqrt,
  kMapErf,
  kMapHardSigmoid,  // max(0, min(1, a * x + b))
  kMapHardSwish,    // x * max(0, min(1, x / 6 + 0.5))
  kMapAdd,
  kMapSub,
  kMapMul,
  kMapDiv,
  kMapPow,
  kMapFma,  // x0 * x1 + x2 (BatchNormalization with folded scale and shift)
  kMapSilu,
  kMapGelu,
};

// How one operand is addressed: element offset of coordinate 0 plus coordinate * stride per dim.
struct MapOperand {
  ElemDesc e;
  int64_t offset = 0;
  int64_t stride[kMapMaxRank] = {};
};

struct MapParams {
  int32_t rank = 0;
  int32_t dims[kMapMaxRank] = {};  // iteration space
  int32_t op = kMapCopy;
  float a = 0.f, b = 0.f;
  int32_t nin = 1;
  MapOperand in[kMapMaxIn];
  MapOperand out;
  // Pad: input 0 is read only where 0 <= coordinate - lo[d] < in_dims[d], else pad_value (its
  // offset and strides already include the -lo shift).
  bool padded = false;
  int32_t lo[kMapMaxRank] = {};
  int32_t in_dims[kMapMaxRank] = {};
  float pad_value = 0.f;
};

// y[out(c)] = op(x0[in0(c)], x1[in1(c)], x2[in2(c)]) for every coordinate c of the space.
cudaError_t strided_map(const void* x0, const void* x1, const void* x2, void* y, const MapParams& p,
                        cudaStream_t stream);

// Up to kMapBatch one-operand maps (nin == 1) writing disjoint parts of y, as one launch.
constexpr int kMapBatch = 8;
cudaError_t strided_map_batch(const void* const* x, void* y, const MapParams* p, int n,
                              cudaStream_t stream);

// ReduceMean: one output per coordinate of the iteration space (rank/dims/in/out of `p`, op and
// pad unused), the mean over `rrank` reduced dims (rdims) walked with rstride in input 0.
struct ReduceParams {
  MapParams map;
  int32_t rrank = 0;
  int32_t rdims[kMapMaxRank] = {};
  int64_t rstride[kMapMaxRank] = {};
};
cudaError_t reduce_mean(const void* x, void* y, const ReduceParams& p, cudaStream_t stream);

// Softmax (or LogSoftmax) over the last axis of a plain [rows, cols] tensor.
cudaError_t softmax_rows(const void* x, ElemDesc xd, void* y, ElemDesc yd, int64_t rows,
                         int64_t cols, bool log_space, cudaStream_t stream);

// C[b] = A[b] (M x K) * B[b] (K x N), row-major, fp32 accumulation; batch strides in elements
// (0: broadcast). dt: kDtF32 or kDtF16 for A, B and C alike.
struct BmmParams {
  int32_t batch = 1, m = 0, n = 0, k = 0;
  int64_t sa = 0, sb = 0, sc = 0;
  int32_t dt = kDtF32;
};
cudaError_t batched_matmul(const void* a, const void* b, void* c, const BmmParams& p,
                           cudaStream_t stream);

}  // namespace mpq::cuda
