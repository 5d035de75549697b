// Backends, kernels and the kernel registry (DESIGN.md §3, §4).
//
// A backend (reference, cpu, later cuda) registers kernels by (op, executed precision). "Does the
// cpu backend run Conv in int8 for this node?" is a registry lookup that returns the kernel or the
// reason it cannot; the plan builder records every miss in the manifest and falls back to the
// reference backend.
//
// Kernel lifecycle: the builder creates a kernel per plan step and calls prepare() once with the
// realized tensor specs at the maximum batch (weights are packed there, primitives created);
// run() is const and thread-safe: it may be called concurrently from several ExecutionContexts,
// for any batch 1..max, with buffers the context owns.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/precision.h"
#include "core/quant_params.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace mpq {

// Memory layout of a realized activation tensor. kPlain is row-major in the logical dim order
// (NCHW for images); kNHWC keeps channels innermost for rank-4 tensors (oneDNN's preferred layout
// for int8/bf16/fp32 convolutions). Tensors are dense, so a batch-n run uses a prefix of a buffer
// sized for the maximum batch (whichever dim holds the batch, see TensorSpec::batch_dim).
enum class Layout : uint8_t { kPlain, kNHWC };
const char* layout_name(Layout l);
bool parse_layout(std::string_view s, Layout* out);

// A tensor as the plan realizes it.
struct TensorSpec {
  std::string name;  // graph value name
  DType dtype = DType::f32;
  Shape shape;  // logical shape (NCHW order for images) at the maximum batch
  Layout layout = Layout::kPlain;
  bool batched = false;  // one dim scales with the run-time batch
  // Which dim that is and by how much: batch_mult * batch (torch's attention works on
  // [seq, batch, dim] and [batch * heads, seq, dim] tensors). shape holds it at the maximum batch.
  int batch_dim = 0;
  int64_t batch_mult = 1;
  std::optional<QuantParams> quant;  // set for u8/s8 tensors: real = scale * (q - zero_point)
  std::optional<Tensor> constant;    // weights and other initializers (f32, plain)

  bool is_constant() const { return constant.has_value(); }
  Shape shape_at(int64_t batch) const;
  size_t bytes_at(int64_t batch) const;
  size_t bytes() const { return static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype); }
  std::string str() const;  // "u8[128,64,32,32] nhwc s=0.02 z=0"
};

// Per-caller state of one backend (streams, scratch memory). Owned by an ExecutionContext.
class BackendContext {
 public:
  virtual ~BackendContext() = default;
  virtual void begin_run() {}  // before the first kernel of a run (e.g. sets the thread count)
  virtual void end_run() {}    // after the last one (e.g. waits for the stream)
};

struct KernelSetup {
  const Node* node = nullptr;
  Precision precision = Precision::kFp32;
  std::vector<const TensorSpec*> inputs;  // nullptr where an optional input is omitted
  std::vector<const TensorSpec*> outputs;
  int64_t max_batch = 1;
  // An algorithm chosen earlier (Kernel::variant(), e.g. read from an engine file); empty: the
  // kernel chooses, by timing its candidates when `tune` is set (engine build), else by a rule
  // (loading stays fast).
  std::string variant;
  bool tune = false;
};

struct KernelArgs {
  int64_t batch = 1;
  std::vector<const void*> inputs;  // data of each input (constants too), nullptr if omitted
  std::vector<void*> outputs;
  BackendContext* ctx = nullptr;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Packs weights and creates whatever is needed to run at the maximum batch. Throws
  // kUnsupported if this configuration turns out not to be executable.
  virtual void prepare(const KernelSetup& s) = 0;
  // Computes the outputs for exactly a.batch rows. Thread-safe.
  virtual void run(const KernelArgs& a) const = 0;
  // The implementation that runs (e.g. oneDNN's "brgconv:avx512_core_amx_int8").
  virtual std::string impl_name() const = 0;
  // Which of the kernel's algorithms prepare() chose ("" if it has one): recorded in the plan so
  // that a reloaded engine makes the same choice without timing.
  virtual std::string variant() const { return ""; }
  // (output, input) pairs where the output may live in the input's buffer, saving a copy (the
  // residual of a fused sum). The kernel stays correct when the planner does not alias them.
  virtual std::vector<std::pair<int, int>> inplace() const { return {}; }
  // One line for the manifest about what this machine or build left out when prepare() chose
  // ("" if nothing); kernels that give the same line get one note.
  virtual std::string build_note() const { return ""; }
};

// What a kernel accepts and produces, consulted by the plan builder when it realizes dtypes and
// layouts. Constants (weights) are not subject to this: kernels read them from TensorSpec.
struct KernelFormats {
  // Layouts accepted for each non-constant rank-4 input, best first (inputs of other ranks are
  // always plain).
  std::vector<Layout> input_layouts{Layout::kPlain};
  // Layout of rank-4 outputs.
  Layout output_layout = Layout::kPlain;
  // Rank-4 outputs take the layout input 0 has (eltwise, pooling) instead of output_layout.
  bool output_follows_input = false;
  // int8 kernels that requantize (conv, gemm, add) can write u8/s8 or f32/bf16 outputs.
  bool any_output_dtype = false;
};

struct KernelInfo {
  std::string backend;  // "cpu", "reference"
  OpKind op;
  Precision precision;
  std::string name;  // unique, e.g. "cpu.conv"
  // "" when the kernel handles this node at this precision, else the reason (for the manifest).
  std::function<std::string(const Node&)> supports;
  std::function<KernelFormats(const Node&)> formats;
  std::function<std::unique_ptr<Kernel>()> make;
};

namespace train {
class TrainKernel;
}
// A training kernel (forward and backward in fp32, backends/train_kernel.h) for one op: the
// factory returns nullptr to decline a node it does not handle.
using TrainKernelFactory = std::function<std::unique_ptr<train::TrainKernel>(const Node&)>;
struct TrainKernelInfo {
  std::string backend;  // "cpu", "reference"
  OpKind op;
  std::string name;  // unique, e.g. "cpu.train.Conv"
  TrainKernelFactory make;
};

class KernelRegistry {
 public:
  // The registry with every compiled-in backend's kernels.
  static const KernelRegistry& instance();

  void add(KernelInfo k);
  // Adds `make` as kernel "<backend>.<op>.<precision>" for each precision. Kernels are keyed by
  // OpKind, so a kernel for an op that is not in ops.def does not compile.
  void add_op(const char* backend, OpKind op, std::initializer_list<Precision> precisions,
              std::function<std::string(const Node&, Precision)> supports,
              std::function<KernelFormats(const Node&)> formats,
              std::function<std::unique_ptr<Kernel>()> make);
  // The first kernel of `backend` for (node.op, precision) that supports the node; nullptr if none,
  // with the reason in *why_not.
  const KernelInfo* find(std::string_view backend, const Node& node, Precision p,
                         std::string* why_not = nullptr) const;
  const KernelInfo* by_name(std::string_view name) const;
  const std::vector<KernelInfo>& all() const { return kernels_; }

  // The training phase: adds kernel "<backend>.train.<op>", keyed by OpKind.
  void add_train(const char* backend, OpKind op, TrainKernelFactory make);
  const std::vector<TrainKernelInfo>& train_kernels() const { return train_kernels_; }

 private:
  std::vector<KernelInfo> kernels_;
  std::vector<TrainKernelInfo> train_kernels_;
};

// Backend-wide services the runtime needs.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // One line about the library and ISA it runs on (for benchmark and engine reports).
  virtual std::string describe() const { return name(); }
  virtual std::unique_ptr<BackendContext> make_context(int threads) const = 0;
  // Called once before kernels are prepared (e.g. sets the thread count used to plan work).
  virtual void begin_prepare(int threads) const {}
  // A device backend's steps on another backend run on the host, between copies: the builder
  // allows that only under BuildOptions::allow_host_fallback. Its engines run whole plans
  // (runtime/plan_runner.h).
  virtual bool runs_on_device() const { return false; }
};
// "reference" and (with oneDNN) "cpu"; nullptr if unknown.
const Backend* find_backend(std::string_view name);
std::vector<std::string> backend_names();

// Registration entry points, one per backend (called once by KernelRegistry::instance()).
void register_reference_kernels(KernelRegistry& r);
#ifdef MPQ_HAVE_DNNL
void register_cpu_kernels(KernelRegistry& r);
const Backend& cpu_backend();
#endif
const Backend& reference_backend();
// Defined only in builds with MPQ_CUDA=ON (backend.cc, compiled with MPQ_HAVE_CUDA, calls them):
// declared unconditionally so that no other file's compilation depends on the option and the
// CUDA build shares the CPU build's compiler cache.
void register_cuda_kernels(KernelRegistry& r);
const Backend& cuda_backend();

// A per-batch cache for kernels that build batch-specific objects lazily (e.g. oneDNN primitives
// for batch sizes other than the maximum). Thread-safe; entries live as long as the kernel.
template <typename T>
class PerBatchCache {
 public:
  template <typename Make>
  std::shared_ptr<const T> get(int64_t batch, Make&& make) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(batch);
    if (it != map_.end()) return it->second;
    std::shared_ptr<const T> v = make(batch);
    map_.emplace(batch, v);
    return v;
  }

 private:
  mutable std::mutex mu_;
  mutable std::unordered_map<int64_t, std::shared_ptr<const T>> map_;
};

}  // namespace mpq
