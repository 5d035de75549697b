// Host helpers that describe tensors for the strided kernels (map.h): logical strides of a spec
// (NHWC or plain), broadcasting to an iteration space, and compaction of that space.
#pragma once

#include <vector>

#include "backends/backend.h"
#include "backends/cuda/cuda_util.h"
#include "backends/cuda/map.h"

namespace mpq::cuda {

// Element strides of each logical dim of `shape` stored as `t` is (NHWC for rank-4 NHWC specs).
std::vector<int64_t> logical_strides(const TensorSpec& t, const Shape& shape);

// Operand reading `shape` (strides `st`) broadcast against the iteration space `dims` (aligned to
// the right; a dim of size 1 against a larger one gets stride 0).
MapOperand broadcast_operand(const ElemDesc& e, const Shape& shape, const std::vector<int64_t>& st,
                             const Shape& dims);

// Fills p.rank/p.dims from `dims`; throws kUnsupported past kMapMaxRank dims.
void set_space(MapParams& p, const Shape& dims);

// Drops size-1 dims, orders the dims by the output's strides and merges dims that are contiguous
// in every operand: fewer index divisions (an NHWC channel scale becomes [N, H*W, C]). No-op
// for padded maps.
void compact(MapParams& p);

// ReduceMean of `in` over the dims flagged in `reduced` into `out` (keepdims or not) at `batch`.
ReduceParams reduce_mean_params(const TensorSpec& in, const TensorSpec& out,
                                const std::vector<bool>& reduced, bool keepdims, int64_t batch);

// A constant input uploaded once as f32 (constants are host memory in the plan).
struct DeviceConstant {
  DeviceBuffer buf;
  Shape shape;
  void upload(const Tensor& t);
};

ElemDesc f32_desc();

// One strided_map launch of a kernel: operand k reads step input `input[k]`, or when that is -1
// the kernel's own device constant `constant[k]`.
struct MapLaunch {
  MapParams p;
  int input[kMapMaxIn] = {-1, -1, -1};
  const void* constant[kMapMaxIn] = {nullptr, nullptr, nullptr};
};

// Kernels built on the map kernel say which launches a run at `batch` makes (the CPU tests
// emulate them; run() enqueues them with run_launches).
class MapLauncher {
 public:
  virtual ~MapLauncher() = default;
  virtual std::vector<MapLaunch> launches(int64_t batch) const = 0;
};
void run_launches(const std::vector<MapLaunch>& l, const KernelArgs& a);

}  // namespace mpq::cuda
