// The "cuda" backend: its kernels' registration and the backend's services (contexts, device
// check). Its engines run whole plans through runtime/cuda/plan_runner.cc.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "backends/cuda/cuda_util.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.h"
#include "core/debug_options.h"

namespace mpq {

namespace cuda {
namespace {

class CudaBackend : public Backend {
 public:
  std::string name() const override { return "cuda"; }
  std::string describe() const override {
    const std::string dev = device_name();
    if (dev.empty()) return "cuda (no device)";
    return "cuda on " + dev +
           (wgmma_available() ? " (mpq's own TMA/wgmma, mma.sync and FFMA kernels)"
                              : " (mpq's own mma.sync/FFMA kernels)");
  }
  std::unique_ptr<BackendContext> make_context(int) const override {
    return std::make_unique<CudaContext>();
  }
  bool runs_on_device() const override { return true; }
  void begin_prepare(int) const override {
    const std::string why = device_unavailable_reason();
    if (!why.empty()) unsupported("the cuda backend needs a GPU: " + why).raise();
  }
};

}  // namespace
}  // namespace cuda

void register_cuda_kernels(KernelRegistry& r) {
  cuda::register_conv_kernels(r);
  cuda::register_simple_kernels(r);
  cuda::register_eltwise_kernels(r);
  cuda::register_layout_kernels(r);
  cuda::register_math_kernels(r);
}

const Backend& cuda_backend() {
  static const cuda::CudaBackend b;
  return b;
}

}  // namespace mpq
