#include "backends/cpu/dnnl_util.h"

#include <omp.h>

#include <cstdlib>

namespace mpq::cpu {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dt to_dnnl(DType t) {
  switch (t) {
    case DType::f32:
      return dt::f32;
    case DType::bf16:
      return dt::bf16;
    case DType::f16:
      return dt::f16;
    case DType::i8:
      return dt::s8;
    case DType::u8:
      return dt::u8;
    case DType::i32:
      return dt::s32;
    default:
      unsupported(str("oneDNN has no ", dtype_name(t), " tensors")).raise();
  }
}

bool is_int8(DType t) {
  return t == DType::i8 || t == DType::u8;
}

dnnl::memory::dims dims_of(const Shape& s) {
  return dnnl::memory::dims(s.begin(), s.end());
}

tag plain_tag(size_t rank) {
  static const tag tags[] = {tag::a, tag::a, tag::ab, tag::abc, tag::abcd, tag::abcde, tag::abcdef};
  if (rank > 6) unsupported(str("oneDNN tensors have at most 6 dims, got ", rank)).raise();
  return tags[rank];
}

dnnl::memory::desc md_of(const TensorSpec& s, int64_t batch, DType as) {
  Shape shape = s.shape_at(batch);
  if (shape.empty()) shape = {1};
  tag t = s.layout == Layout::kNHWC && shape.size() == 4 ? tag::nhwc : plain_tag(shape.size());
  return dnnl::memory::desc(dims_of(shape), to_dnnl(as), t);
}

dnnl::memory::desc md_of(const TensorSpec& s, int64_t batch) {
  return md_of(s, batch, s.dtype);
}

CpuContext::CpuContext(int threads) : threads_(threads), stream_(engine()) {}

void CpuContext::begin_run() {
  // OpenMP's thread count is per calling thread: each caller of an engine sets its own.
  if (threads_ > 0) omp_set_num_threads(threads_);
}

dnnl::memory CpuContext::scratchpad(const dnnl::memory::desc& md) {
  size_t need = md.get_size();
  if (need > cap_) {
    raw_.reset(new char[need + 64]);
    aligned_ =
        reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(raw_.get()) + 63) & ~uintptr_t(63));
    cap_ = need;
  }
  return dnnl::memory(md, engine(), aligned_);
}

void* CpuContext::workspace(size_t bytes) {
  if (bytes > ws_cap_) {
    ws_raw_.reset(new char[bytes + 64]);
    ws_ =
        reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws_raw_.get()) + 63) & ~uintptr_t(63));
    ws_cap_ = bytes;
  }
  return ws_;
}

CpuContext& cpu_ctx(const KernelArgs& a) {
  auto* c = dynamic_cast<CpuContext*>(a.ctx);
  if (!c) internal_error("cpu kernel run without a cpu context").raise();
  return *c;
}

dnnl::primitive_attr base_attr() {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

void execute(const Prim& p, CpuContext& ctx, std::unordered_map<int, dnnl::memory> args) {
  if (p.scratchpad_md.get_size() > 0) args[DNNL_ARG_SCRATCHPAD] = ctx.scratchpad(p.scratchpad_md);
  p.prim.execute(ctx.stream(), args);
}

std::string post_ops_unsupported(const Node& n) {
  if (!n.attrs.has("post_ops")) return "";
  for (const std::string& op : n.attrs.strings("post_ops"))
    if (op != "Relu" && op != "Clip" && op != "LeakyRelu" && op != "Add")
      return "oneDNN post-ops do not cover fused " + op;
  return "";
}

dnnl::post_ops make_post_ops(const Node& n, const PostOpContext& c) {
  dnnl::post_ops po;
  if (!n.attrs.has("post_ops")) return po;
  const auto& ops = n.attrs.strings("post_ops");
  std::vector<float> params =
      n.attrs.has("post_op_params") ? n.attrs.floats("post_op_params") : std::vector<float>{};
  params.resize(ops.size() * 2, 0.f);
  for (size_t i = 0; i < ops.size(); ++i) {
    float a = params[2 * i], b = params[2 * i + 1];
    if (ops[i] == "Relu") {
      po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    } else if (ops[i] == "LeakyRelu") {
      po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, a, 0.f);
    } else if (ops[i] == "Clip") {
      // Values reaching the post-op are in dst units (real / out_scale).
      po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip_v2, a / c.out_scale, b / c.out_scale);
    } else if (ops[i] == "Add") {
      po.append_sum(c.sum_scale, c.sum_zp, c.sum_dt);
    } else {
      internal_error("unknown fused post-op " + ops[i]).node(n.name).raise();
    }
  }
  return po;
}

namespace {

class CpuBackend : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string describe() const override {
    const dnnl_version_t* v = dnnl_version();
    static const std::pair<dnnl::cpu_isa, const char*> kIsa[] = {
        {dnnl::cpu_isa::avx512_core_amx, "avx512_core_amx (AMX int8/bf16)"},
        {dnnl::cpu_isa::avx512_core_bf16, "avx512_core_bf16 (VNNI int8, AVX512-BF16)"},
        {dnnl::cpu_isa::avx512_core_vnni, "avx512_core_vnni (VNNI int8)"},
        {dnnl::cpu_isa::avx512_core, "avx512_core"},
        {dnnl::cpu_isa::avx2_vnni, "avx2_vnni"},
        {dnnl::cpu_isa::avx2, "avx2"}};
    std::string isa = "other";
    const dnnl::cpu_isa eff = dnnl::get_effective_cpu_isa();
    for (const auto& [k, name] : kIsa)
      if (eff == k) isa = name;
    return str("oneDNN ", v->major, ".", v->minor, ".", v->patch, ", ISA ", isa, ", OpenMP ",
               omp_get_max_threads(), " threads max");
  }
  std::unique_ptr<BackendContext> make_context(int threads) const override {
    return std::make_unique<CpuContext>(threads);
  }
  void begin_prepare(int threads) const override {
    if (threads > 0) omp_set_num_threads(threads);
  }
};

}  // namespace

}  // namespace mpq::cpu

namespace mpq {
const Backend& cpu_backend() {
  static const cpu::CpuBackend b;
  return b;
}
}  // namespace mpq
