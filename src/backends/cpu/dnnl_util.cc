#include "backends/cpu/dnnl_util.h"

#include <omp.h>

#include <cstdlib>

#include "ir/post_op.h"

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

namespace {

using alg = dnnl::algorithm;

// How a post-op treats the unit of the values it receives (dst units: real / out_scale).
enum class Units {
  kAny,     // f(s x) = s f(x) for s > 0 (Relu, LeakyRelu): runs on dst units as they are
  kBounds,  // its parameters are values (Clip bounds): they are divided by out_scale
  kReal,    // anything else: scaled to real units before, and back after
};

struct EltwiseStep {
  alg algorithm;
  float alpha, beta;
  float scale = 1.f;  // of the result
};

// oneDNN 2.6 eltwise algorithms of each element-wise post-op (HardSigmoid has no algorithm of
// its own in 2.6: linear then clip).
struct DnnlPostOp {
  OpKind op;
  Units units;
  std::vector<EltwiseStep> (*steps)(float a, float b);
};
using Steps = std::vector<EltwiseStep>;
const DnnlPostOp kPostOps[] = {
    {OpKind::Relu, Units::kAny,
     [](float, float) {
       return Steps{{alg::eltwise_relu, 0.f, 0.f}};
     }},
    {OpKind::LeakyRelu, Units::kAny,
     [](float a, float) {
       return Steps{{alg::eltwise_relu, a, 0.f}};
     }},
    {OpKind::Clip, Units::kBounds,
     [](float a, float b) {
       return Steps{{alg::eltwise_clip_v2, a, b}};
     }},
    {OpKind::Sigmoid, Units::kReal,
     [](float, float) {
       return Steps{{alg::eltwise_logistic, 0.f, 0.f}};
     }},
    {OpKind::Tanh, Units::kReal,
     [](float, float) {
       return Steps{{alg::eltwise_tanh, 0.f, 0.f}};
     }},
    {OpKind::HardSigmoid, Units::kReal,
     [](float a, float b) {
       return Steps{{alg::eltwise_linear, a, b}, {alg::eltwise_clip_v2, 0.f, 1.f}};
     }},
    {OpKind::HardSwish, Units::kReal,
     [](float, float) {
       return Steps{{alg::eltwise_hardswish, 0.f, 0.f}};
     }},
    {OpKind::Silu, Units::kReal,
     [](float, float) {
       return Steps{{alg::eltwise_swish, 1.f, 0.f}};
     }},
    {OpKind::Gelu, Units::kReal,
     [](float, float) {
       return Steps{{alg::eltwise_gelu_erf, 0.f, 0.f}};
     }},
};

const DnnlPostOp* find_post_op(OpKind k) {
  for (const DnnlPostOp& p : kPostOps)
    if (p.op == k) return &p;
  return nullptr;
}

}  // namespace

std::string post_ops_unsupported(const Node& n) {
  for (const PostOp& p : post_ops(n))
    if (p.kind != OpKind::Add && !find_post_op(p.kind))
      return "oneDNN post-ops do not cover fused " + op_def(p.kind).name;
  return "";
}

dnnl::post_ops make_post_ops(const Node& n, const PostOpContext& c) {
  dnnl::post_ops po;
  std::vector<EltwiseStep> done;  // the eltwise post-ops appended so far
  for (const PostOp& p : post_ops(n)) {
    if (p.kind == OpKind::Add) {
      po.append_sum(c.sum_scale, c.sum_zp, c.sum_dt);
      continue;
    }
    const DnnlPostOp* d = find_post_op(p.kind);
    if (!d) internal_error("no oneDNN post-op for " + op_def(p.kind).name).node(n.name).raise();
    const float s = c.out_scale;
    std::vector<EltwiseStep> steps = d->steps(p.a, p.b);
    if (d->units == Units::kBounds)
      for (EltwiseStep& e : steps) e.alpha /= s, e.beta /= s;
    // Real units in, dst units out: the scale goes into a leading eltwise_linear and the result
    // scale of the last step.
    if (d->units == Units::kReal && s != 1.f) {
      if (steps.front().algorithm == alg::eltwise_linear)
        steps.front().alpha *= s;
      else
        steps.insert(steps.begin(), {alg::eltwise_linear, s, 0.f});
      steps.back().scale = 1.f / s;
    }
    for (const EltwiseStep& e : steps) {
      // oneDNN 2.6's kernels give every eltwise post-op of one algorithm the parameters of the
      // first one: a chain that repeats an algorithm with other parameters is not computable.
      for (const EltwiseStep& prev : done)
        if (prev.algorithm == e.algorithm &&
            (prev.alpha != e.alpha || prev.beta != e.beta || prev.scale != e.scale))
          unsupported(
              "oneDNN 2.6 post-ops cannot repeat an eltwise algorithm with other "
              "parameters (" +
              op_def(p.kind).name + " in this chain)")
              .node(n.name)
              .raise();
      try {
        po.append_eltwise(e.scale, e.algorithm, e.alpha, e.beta);
      } catch (const dnnl::error&) {  // parameters an import would have refused (engine files)
        invalid_input(str("oneDNN refuses the fused ", op_def(p.kind).name, " with parameters ",
                          p.a, ", ", p.b))
            .node(n.name)
            .raise();
      }
      done.push_back(e);
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
