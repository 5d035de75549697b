// Shared pieces of the oneDNN backend: the engine, the per-caller context (stream + scratchpad),
// TensorSpec -> memory::desc, and a primitive cached per batch size.
#pragma once

#include <functional>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/backend.h"

namespace mpq::cpu {

dnnl::engine& engine();

dnnl::memory::data_type to_dnnl(DType t);
// memory::desc of a realized tensor at a batch (plain: row-major; NHWC for rank-4 kNHWC).
dnnl::memory::desc md_of(const TensorSpec& s, int64_t batch);
dnnl::memory::desc md_of(const TensorSpec& s, int64_t batch, DType as);
dnnl::memory::dims dims_of(const Shape& s);
dnnl::memory::format_tag plain_tag(size_t rank);

// Per-caller oneDNN state: a stream and scratch memory for primitives created with
// scratchpad_mode::user (so one primitive can run in several contexts at once).
class CpuContext : public BackendContext {
 public:
  explicit CpuContext(int threads);
  void begin_run() override;
  void end_run() override { stream_.wait(); }
  dnnl::stream& stream() { return stream_; }
  int threads() const { return threads_; }
  // A scratchpad memory for `md`, backed by a buffer this context grows as needed.
  dnnl::memory scratchpad(const dnnl::memory::desc& md);
  // Per-context working memory of mpq's own kernels (e.g. im2col), 64-byte aligned, grown as
  // needed; valid until the next call.
  void* workspace(size_t bytes);

 private:
  int threads_;
  dnnl::stream stream_;
  void* aligned_ = nullptr;
  std::unique_ptr<char[]> raw_, ws_raw_;
  void* ws_ = nullptr;
  size_t cap_ = 0, ws_cap_ = 0;
};

CpuContext& cpu_ctx(const KernelArgs& a);

// Attributes every primitive of this backend starts from.
dnnl::primitive_attr base_attr();

// A created primitive with its descriptor (for the implementation name and scratchpad size).
struct Prim {
  dnnl::primitive prim;
  dnnl::memory::desc scratchpad_md;
  std::string impl;
};
template <typename PD, typename P>
Prim make_prim(const PD& pd) {
  return Prim{P(pd), pd.scratchpad_desc(), pd.impl_info_str()};
}

// oneDNN 2.6's jit_1x1:avx512_core_amx_int8 convolution writes outside its buffers on some
// shapes (seen on Sapphire Rapids: 1x1 on 6x6 images with 64 or more input channels: heap
// corruption): a descriptor that lands on it moves on to the next implementation.
template <typename PD>
PD skip_faulty_impls(PD pd) {
  while (std::string(pd.impl_info_str()).rfind("jit_1x1:avx512_core_amx_int8", 0) == 0 &&
         pd.next_impl()) {
  }
  return pd;
}

// Base of kernels that run one oneDNN primitive: the primitive for the maximum batch is created
// in prepare (init), others lazily on first use of a batch size and cached.
class PrimKernel : public Kernel {
 public:
  std::string impl_name() const override { return impl_; }

 protected:
  virtual Prim create(int64_t batch) const = 0;
  void init(int64_t max_batch) {
    max_batch_ = max_batch;
    prim_max_ = std::make_shared<const Prim>(create(max_batch));
    impl_ = prim_max_->impl;
  }
  std::shared_ptr<const Prim> prim(int64_t batch) const {
    if (batch == max_batch_) return prim_max_;
    return cache_.get(batch, [&](int64_t b) { return std::make_shared<const Prim>(create(b)); });
  }
  std::string impl_;

 private:
  int64_t max_batch_ = 0;
  std::shared_ptr<const Prim> prim_max_;
  PerBatchCache<Prim> cache_;
};

// Executes a primitive: args maps DNNL_ARG_* to (desc, pointer); the scratchpad is added.
void execute(const Prim& p, CpuContext& ctx, std::unordered_map<int, dnnl::memory> args);
inline dnnl::memory mem(const dnnl::memory::desc& md, const void* p) {
  return dnnl::memory(md, engine(), const_cast<void*>(p));
}

// Runs oneDNN calls, turning dnnl::error into mpq::Error (kUnsupported: "no implementation").
template <typename F>
auto guarded(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    if (e.status == dnnl_unimplemented)
      unsupported(str("oneDNN has no implementation for ", what)).raise();
    internal_error(str("oneDNN error in ", what, ": ", e.what())).raise();
  }
}

// Quantization helpers shared by the int8 kernels.
inline float qscale(const TensorSpec& t) {
  return t.quant ? t.quant->scale.at(0) : 1.f;
}
inline int32_t qzero(const TensorSpec& t) {
  return t.quant && !t.quant->zero_point.empty() ? t.quant->zero_point[0] : 0;
}
bool is_int8(DType t);

// The post-ops of a fused node (FusedConv/FusedGemm, ir/post_op.h) as a oneDNN post-op chain.
// `out_scale` is the dst quantization scale (1 for float dst): values reaching the post-ops are in
// dst units. `sum_scale`/`sum_zp`/`sum_dt` describe the residual for "Add".
struct PostOpContext {
  float out_scale = 1.f;
  float sum_scale = 1.f;
  int32_t sum_zp = 0;
  dnnl::memory::data_type sum_dt = dnnl::memory::data_type::undef;
};
dnnl::post_ops make_post_ops(const Node& n, const PostOpContext& c);
// Whether make_post_ops handles every post-op of a node ("" if so, else the reason).
std::string post_ops_unsupported(const Node& n);

}  // namespace mpq::cpu
