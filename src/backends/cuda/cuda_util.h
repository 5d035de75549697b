// Host-side helpers of the CUDA backend: error checks, device buffers, the per-caller context
// (stream), and the mapping from tensor specs to what the kernels take.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "backends/backend.h"
#include "backends/cuda/launch.h"
#include "core/status.h"

namespace mpq::cuda {

// Throws internal_error naming `what` when a CUDA call failed.
void check(cudaError_t e, const char* what);
#define MPQ_CUDA_CHECK(call) ::mpq::cuda::check((call), #call)

// "" when a usable CUDA device (compute capability >= 8.0, and one this binary's kernels were
// built for) is present, else why not.
std::string device_unavailable_reason();
// Name of device 0 (e.g. "NVIDIA H100 80GB HBM3"), "" without a device.
std::string device_name();
// Compute capability of device 0 as major * 10 + minor (90 for sm_90), 0 without a device.
int device_sm();

// An owning device allocation.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  DeviceBuffer(const void* host, size_t bytes);  // allocates and uploads
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return p_; }
  size_t bytes() const { return n_; }

 private:
  void* p_ = nullptr;
  size_t n_ = 0;
};

// Pinned host memory (page-locked, for asynchronous copies).
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t bytes);
  ~PinnedBuffer();
  PinnedBuffer(PinnedBuffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
  PinnedBuffer& operator=(PinnedBuffer&&) = delete;
  PinnedBuffer(const PinnedBuffer&) = delete;
  void* get() const { return p_; }

 private:
  void* p_ = nullptr;
  size_t n_ = 0;
};

// Per-caller state: the stream every kernel of a run is enqueued on, and scratch device memory
// (split-K partial sums) that kernels use during their run.
class CudaContext : public BackendContext {
 public:
  CudaContext();
  ~CudaContext() override;
  cudaStream_t stream() const { return stream_; }
  void end_run() override;  // waits for the stream
  // Scratch of at least `bytes`; grows (synchronously) if needed, so reserve() the largest size
  // before capturing a CUDA graph.
  void* workspace(size_t bytes);
  void reserve(size_t bytes) { workspace(bytes); }

 private:
  cudaStream_t stream_ = nullptr;
  DeviceBuffer ws_;
};

// Kernels that need CudaContext scratch say how much (at the maximum batch).
class WorkspaceUser {
 public:
  virtual ~WorkspaceUser() = default;
  virtual size_t workspace_bytes() const = 0;
};

cudaStream_t stream_of(const KernelArgs& a);
CudaContext& cuda_ctx(const KernelArgs& a);

// Kernel-side view of a tensor spec.
int32_t dt_code(DType t);  // throws kUnsupported for dtypes the kernels do not handle
ElemDesc elem_desc(const TensorSpec& s);
bool is_q(DType t);

}  // namespace mpq::cuda
