// Dense layers, Gemm and FusedGemm (a MatMul by a constant matrix is a FusedGemm after the
// fusion pass), in fp32, bf16 and int8 (per-output-channel s8 weights; requantizing epilogue and
// fused post-ops as in conv). They run as oneDNN matmul (not inner_product: in oneDNN 2.6 only
// matmul takes a src zero point, which u8 activations with a signed range need). The batch is the
// rows of A; an A of rank > 2 is read as its [rows, K] matrix.
#include <cstring>

#include "backends/cpu/fused_common.h"
#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct IpPrim {
  Prim p;
  dnnl::memory weights;
};

class InnerProductKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    const Node& n = *s.node;
    prec_ = s.precision;
    x_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    const Tensor& b = *s.inputs.at(1)->constant;
    // Weights as [N, K] (oneDNN's oi), alpha folded in.
    const bool trans_b = n.attrs.i("transB", 0) != 0;
    const float alpha = n.attrs.f("alpha", 1.f);
    const int64_t K = trans_b ? b.dim(1) : b.dim(0);
    const int64_t N = trans_b ? b.dim(0) : b.dim(1);
    n_ = N;
    k_ = K;
    std::vector<float> bf = b.to_floats(), w(N * K);
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < K; ++j)
        w[i * K + j] = alpha * (trans_b ? bf[i * K + j] : bf[j * N + i]);
    std::vector<float> bias;
    if (s.inputs.size() > 2 && s.inputs[2]) {
      const float beta = n.attrs.f("beta", 1.f);
      std::vector<float> c = s.inputs[2]->constant->to_floats();
      bias.resize(N);
      for (int64_t i = 0; i < N; ++i) bias[i] = beta * (c.size() == 1 ? c[0] : c.at(i));
    }
    if (s.inputs.size() > 3 && s.inputs[3]) {
      residual_ = *s.inputs[3];
      residual_loader_.prepare(*residual_, out_);
    }
    std::vector<float> w_scales;
    dt user_dt = dt::f32;
    if (prec_ == Precision::kInt8) {
      user_w_ = Tensor(DType::i8, {N, K});
      w_scales.resize(N);
      quantize_weights_per_oc(w.data(), N, K, user_w_.data<int8_t>(), w_scales.data(),
                              fixed_weight_scales(*s.inputs.at(1), N, alpha));
      user_dt = dt::s8;
    } else {
      user_w_ = Tensor::from<float>({N, K}, w);
    }
    w_dt_ = prec_ == Precision::kInt8 ? dt::s8 : prec_ == Precision::kBf16 ? dt::bf16 : dt::f32;
    // The [N, K] rows are the [K, N] matrix oneDNN wants, stored transposed ("ba").
    user_wmd_ = dnnl::memory::desc({K, N}, user_dt, tag::ba);
    epi_ = make_epilogue(n, prec_, x_, out_, residual_ ? &*residual_ : nullptr, w_scales, bias, N);
    if (!epi_.bias.empty()) bias_ = Tensor::from<float>({N}, epi_.bias);
    max_batch_ = s.max_batch;
    prim_max_ = std::make_shared<const IpPrim>(create(s.max_batch, nullptr));
  }

  void run(const KernelArgs& a) const override {
    auto cp = a.batch == max_batch_ ? prim_max_ : cache_.get(a.batch, [&](int64_t b) {
      return std::make_shared<const IpPrim>(create(b, prim_max_.get()));
    });
    if (residual_) residual_loader_.load(a, a.inputs[3], a.outputs[0]);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, mem(src_md(a.batch), a.inputs[0])},
                                               {DNNL_ARG_WEIGHTS, cp->weights},
                                               {DNNL_ARG_DST, mem(dst_md(a.batch), a.outputs[0])}};
    if (!epi_.bias.empty()) args[DNNL_ARG_BIAS] = mem(bias_md(), bias_.raw());
    if (epi_.src_zp) args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = zp_mem(epi_.src_zp);
    if (epi_.dst_zp) args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST] = zp_mem(epi_.dst_zp);
    execute(cp->p, cpu_ctx(a), std::move(args));
  }

  std::string impl_name() const override { return prim_max_ ? prim_max_->p.impl : ""; }
  std::vector<std::pair<int, int>> inplace() const override {
    if (residual_ && residual_loader_.reads_residual_dtype()) return {{0, 3}};
    return {};
  }

 private:
  static dnnl::memory zp_mem(int32_t z) {
    dnnl::memory m({{1}, dt::s32, tag::a}, engine());
    *static_cast<int32_t*>(m.get_data_handle()) = z;
    return m;
  }
  dnnl::memory::desc bias_md() const { return dnnl::memory::desc({1, n_}, dt::f32, tag::ab); }
  // A [M, K] and Y [M, N], row-major, M = the batch rows.
  int64_t rows(int64_t batch) const { return shape_numel(x_.shape_at(batch)) / k_; }
  dnnl::memory::desc src_md(int64_t batch) const {
    return dnnl::memory::desc({rows(batch), k_}, to_dnnl(x_.dtype), tag::ab);
  }
  dnnl::memory::desc dst_md(int64_t batch) const {
    return dnnl::memory::desc({rows(batch), n_}, to_dnnl(out_.dtype), tag::ab);
  }

  IpPrim create(int64_t batch, const IpPrim* reuse) const {
    return guarded(str("matmul ", x_.str(), " -> ", out_.str()), [&] {
      auto make = [&](const dnnl::memory::desc& wmd) {
        dnnl::memory::desc bmd = epi_.bias.empty() ? dnnl::memory::desc() : bias_md();
        dnnl::matmul::desc d(src_md(batch), wmd, bmd, dst_md(batch));
        return dnnl::matmul::primitive_desc(d, epi_.attr, engine());
      };
      if (reuse) {
        try {
          auto pd = make(reuse->weights.get_desc());
          return IpPrim{make_prim<dnnl::matmul::primitive_desc, dnnl::matmul>(pd), reuse->weights};
        } catch (const dnnl::error&) {
        }
      }
      auto pd = make(dnnl::memory::desc({k_, n_}, w_dt_, tag::any));
      dnnl::memory packed = pack_weights(user_wmd_, user_w_.raw(), pd.weights_desc());
      return IpPrim{make_prim<dnnl::matmul::primitive_desc, dnnl::matmul>(pd), packed};
    });
  }

  Precision prec_ = Precision::kFp32;
  TensorSpec x_, out_;
  std::optional<TensorSpec> residual_;
  ResidualLoader residual_loader_;
  int64_t n_ = 0, k_ = 0;
  dt w_dt_ = dt::f32;
  Tensor user_w_, bias_;
  dnnl::memory::desc user_wmd_;
  Epilogue epi_;
  int64_t max_batch_ = 0;
  std::shared_ptr<const IpPrim> prim_max_;
  PerBatchCache<IpPrim> cache_;
};

std::string gemm_supports(const Node& n, Precision) {
  if (n.inputs.size() < 2 || !n.inputs[0] || !n.inputs[1]) return "missing inputs";
  // (A of rank > 2 only in FusedGemm, made of a dense MatMul: its [rows, K] matrix.)
  if (n.inputs[0]->shape.size() < 2) return "A is 1-D";
  if (!n.inputs[1]->is_constant() || n.inputs[1]->shape.size() != 2)
    return "B is not a constant matrix";
  if (n.attrs.i("transA", 0) != 0) return "transA";
  if (n.has_input(2)) {
    const Value& c = *n.inputs[2];
    if (!c.is_constant()) return "C is not a constant";
    int64_t N = n.attrs.i("transB", 0) ? n.inputs[1]->shape[0] : n.inputs[1]->shape[1];
    int64_t cn = shape_numel(c.shape);
    if (cn != 1 && cn != N) return "C is not a per-column bias";
  }
  if (n.has_input(3) && n.inputs[3]->shape != n.outputs[0]->shape) return "residual shape";
  return post_ops_unsupported(n);
}

KernelFormats plain_any_dtype(const Node&) {
  KernelFormats f;
  f.any_output_dtype = true;
  return f;
}

}  // namespace

void register_inner_product_kernels(KernelRegistry& r) {
  const auto all = {Precision::kFp32, Precision::kBf16, Precision::kInt8};
  for (OpKind op : {OpKind::Gemm, OpKind::FusedGemm})
    add_kernel(r, op, all, gemm_supports, plain_any_dtype,
               [] { return std::make_unique<InnerProductKernel>(); });
}

}  // namespace mpq::cpu
