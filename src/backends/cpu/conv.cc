// 2-D convolution for Conv and FusedConv, in fp32, bf16 and int8: groups/depthwise, strides,
// pads, dilations; fused post-ops (Relu/Clip/LeakyRelu, the residual sum and activations after
// it). Activations are NHWC, weights are packed once into the layout oneDNN picks
// (format_tag::any: AMX/VNNI blocked formats), bias is f32. Two algorithms:
//   * "direct": oneDNN convolution_forward (brgconv/jit);
//   * "gemm":   im2col into [N*OH*OW, KH*KW*C] (no copy for 1x1/stride 1) + one oneDNN matmul
//               whose output is the NHWC dst. For small images (ResNet's 4x4 and 2x2 stages)
//               this blocks over all images at once, where the direct kernels re-read the
//               weights per image.
// prepare() times both on the real shapes and keeps the faster (variant() records the choice so
// an engine file reloads it without timing).
#include <chrono>
#include <cstring>

#include "backends/cpu/fused_common.h"
#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct ConvPrim {
  Prim p;
  dnnl::memory weights;  // packed for this primitive
};

dnnl::memory zp_mem(int32_t z) {
  dnnl::memory m({{1}, dt::s32, tag::a}, engine());
  *static_cast<int32_t*>(m.get_data_handle()) = z;
  return m;
}

class ConvKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    const Node& n = *s.node;
    prec_ = s.precision;
    x_ = *s.inputs.at(0);
    const TensorSpec& w = *s.inputs.at(1);
    out_ = *s.outputs.at(0);
    if (s.inputs.size() > 3 && s.inputs[3]) {
      residual_ = *s.inputs[3];
      residual_loader_.prepare(*residual_, out_);
    }
    const Shape& ws = w.shape;  // [OC, IC/G, KH, KW]
    group_ = n.attrs.i("group", 1);
    oc_ = ws[0];
    ic_ = x_.shape[1];
    kh_ = ws[2], kw_ = ws[3];
    strides_ = ints_or(n, "strides", 2, 1);
    auto pads = ints_or(n, "pads", 4, 0);
    pl_ = {pads[0], pads[1]};
    pr_ = {pads[2], pads[3]};
    auto dil = ints_or(n, "dilations", 2, 1);
    dil_ = {dil[0] - 1, dil[1] - 1};
    w_dt_ = prec_ == Precision::kInt8 ? dt::s8 : prec_ == Precision::kBf16 ? dt::bf16 : dt::f32;

    // Weights in the executed precision (s8 per output channel for int8), user layout (g)oihw.
    const Tensor& wt = *w.constant;
    const int64_t per_oc = ws[1] * ws[2] * ws[3];
    std::vector<float> w_scales;
    Tensor user_w = wt;
    dt user_dt = dt::f32;
    if (prec_ == Precision::kInt8) {
      user_w = Tensor(DType::i8, wt.shape());
      w_scales.resize(oc_);
      quantize_weights_per_oc(wt.data<float>(), oc_, per_oc, user_w.data<int8_t>(), w_scales.data(),
                              fixed_weight_scales(w, oc_));
      user_dt = dt::s8;
    }
    user_w_ = user_w;
    wdims_ = group_ > 1 ? dnnl::memory::dims{group_, oc_ / group_, ws[1], ws[2], ws[3]}
                        : dnnl::memory::dims{ws[0], ws[1], ws[2], ws[3]};
    user_wmd_ = dnnl::memory::desc(wdims_, user_dt, group_ > 1 ? tag::goihw : tag::oihw);

    std::vector<float> bias;
    if (s.inputs.size() > 2 && s.inputs[2]) bias = s.inputs[2]->constant->to_floats();
    epi_ =
        make_epilogue(n, prec_, x_, out_, residual_ ? &*residual_ : nullptr, w_scales, bias, oc_);
    if (!epi_.bias.empty()) bias_ = Tensor::from<float>({oc_}, epi_.bias);
    max_batch_ = s.max_batch;

    const bool gemm_ok = group_ == 1 && col_bytes(s.max_batch) <= (size_t{256} << 20);
    std::string want = s.variant;
    if (want == "gemm" && !gemm_ok) want = "";
    // Not timing: small images (ResNet's 4x4 and 2x2 stages) go to the matmul form, which won
    // there on every machine measured (bench/RESULTS.md).
    if (want.empty() && !s.tune) want = gemm_ok && oh() * ow() <= 16 ? "gemm" : "direct";
    if (want.empty() && gemm_ok) {
      direct_max_ = std::make_shared<const ConvPrim>(create_direct(s.max_batch, nullptr));
      gemm_max_ = std::make_shared<const ConvPrim>(create_gemm(s.max_batch, nullptr));
      // Interleaved runs, best of each: robust to a machine that is busy now and then.
      double best[2] = {1e30, 1e30};
      for (int round = 0; round < 4; ++round)
        for (int v = 0; v < 2; ++v) best[v] = std::min(best[v], time_variant(v == 1, round == 0));
      use_gemm_ = best[1] < best[0];
      (use_gemm_ ? direct_max_ : gemm_max_).reset();
      tune_ctx_.reset();
      tune_src_ = tune_dst_ = Tensor();
    } else if (want == "gemm") {
      use_gemm_ = true;
      gemm_max_ = std::make_shared<const ConvPrim>(create_gemm(s.max_batch, nullptr));
    } else {
      direct_max_ = std::make_shared<const ConvPrim>(create_direct(s.max_batch, nullptr));
    }
  }

  void run(const KernelArgs& a) const override {
    CpuContext& ctx = cpu_ctx(a);
    if (residual_) residual_loader_.load(a, a.inputs[3], a.outputs[0]);
    run_impl(ctx, a.batch, a.inputs[0], a.outputs[0]);
  }

  std::string impl_name() const override {
    const ConvPrim* p = use_gemm_ ? gemm_max_.get() : direct_max_.get();
    if (!p) return "";
    return use_gemm_ ? "im2col+" + p->p.impl : p->p.impl;
  }
  std::string variant() const override { return use_gemm_ ? "gemm" : "direct"; }
  std::vector<std::pair<int, int>> inplace() const override {
    if (residual_ && residual_loader_.reads_residual_dtype()) return {{0, 3}};
    return {};
  }

 private:
  int64_t oh() const { return out_.shape[2]; }
  int64_t ow() const { return out_.shape[3]; }
  int64_t col_k() const { return kh_ * kw_ * ic_; }
  bool pointwise() const {
    return kh_ == 1 && kw_ == 1 && strides_[0] == 1 && strides_[1] == 1 && pl_[0] == 0 &&
           pl_[1] == 0 && pr_[0] == 0 && pr_[1] == 0;
  }
  size_t col_bytes(int64_t batch) const {
    if (pointwise()) return 0;
    return static_cast<size_t>(batch * oh() * ow() * col_k()) * dtype_size(x_.dtype);
  }
  dnnl::memory::desc bias_md(bool gemm) const {
    return gemm ? dnnl::memory::desc({1, oc_}, dt::f32, tag::ab)
                : dnnl::memory::desc({oc_}, dt::f32, tag::a);
  }
  bool has_bias() const { return !epi_.bias.empty(); }

  void run_impl(CpuContext& ctx, int64_t batch, const void* src, void* dst) const {
    std::shared_ptr<const ConvPrim> cp;
    if (use_gemm_) {
      cp = batch == max_batch_ ? gemm_max_ : cache_.get(batch, [&](int64_t b) {
        return std::make_shared<const ConvPrim>(create_gemm(b, gemm_max_.get()));
      });
    } else {
      cp = batch == max_batch_ ? direct_max_ : cache_.get(batch, [&](int64_t b) {
        return std::make_shared<const ConvPrim>(create_direct(b, direct_max_.get()));
      });
    }
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_WEIGHTS, cp->weights}};
    if (use_gemm_) {
      const void* a = src;
      if (!pointwise()) {
        void* col = ctx.workspace(col_bytes(batch));
        im2col(src, col, batch);
        a = col;
      }
      const int64_t m = batch * oh() * ow();
      args[DNNL_ARG_SRC] = mem(dnnl::memory::desc({m, col_k()}, to_dnnl(x_.dtype), tag::ab), a);
      args[DNNL_ARG_DST] = mem(dnnl::memory::desc({m, oc_}, to_dnnl(out_.dtype), tag::ab), dst);
    } else {
      args[DNNL_ARG_SRC] = mem(md_of(x_, batch), src);
      args[DNNL_ARG_DST] = mem(md_of(out_, batch), dst);
    }
    if (has_bias()) args[DNNL_ARG_BIAS] = mem(bias_md(use_gemm_), bias_.raw());
    if (epi_.src_zp) args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = zp_mem(epi_.src_zp);
    if (epi_.dst_zp) args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST] = zp_mem(epi_.dst_zp);
    execute(cp->p, ctx, std::move(args));
  }

  // NHWC src -> rows (n, oh, ow) x columns (kh, kw, c); padding holds real 0 (the zero point).
  // Along one kernel row the (kw, c) span is contiguous in both (dilation 1): one copy per row
  // of the kernel unless it crosses the border.
  void im2col(const void* src, void* col, int64_t batch) const {
    const size_t es = dtype_size(x_.dtype);
    const int64_t H = x_.shape[2], W = x_.shape[3], C = ic_, OH = oh(), OW = ow();
    const size_t row = static_cast<size_t>(C) * es;
    const uint8_t fill = is_int8(x_.dtype) ? static_cast<uint8_t>(qzero(x_)) : 0;
    const bool span = dil_[1] == 0;
    const char* s = static_cast<const char*>(src);
    char* c = static_cast<char*>(col);
    const int64_t rows = batch * OH * OW;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = r / (OH * OW), oy = (r / OW) % OH, ox = r % OW;
      char* out = c + static_cast<size_t>(r * col_k()) * es;
      const int64_t ix0 = ox * strides_[1] - pl_[1];
      for (int64_t ky = 0; ky < kh_; ++ky) {
        const int64_t iy = oy * strides_[0] - pl_[0] + ky * (dil_[0] + 1);
        if (iy < 0 || iy >= H) {
          std::memset(out, fill, row * kw_);
          out += row * kw_;
          continue;
        }
        const char* line = s + static_cast<size_t>((n * H + iy) * W) * row;
        if (span && ix0 >= 0 && ix0 + kw_ <= W) {
          std::memcpy(out, line + static_cast<size_t>(ix0) * row, row * kw_);
          out += row * kw_;
          continue;
        }
        for (int64_t kx = 0; kx < kw_; ++kx, out += row) {
          const int64_t ix = ix0 + kx * (dil_[1] + 1);
          if (ix < 0 || ix >= W)
            std::memset(out, fill, row);
          else
            std::memcpy(out, line + static_cast<size_t>(ix) * row, row);
        }
      }
    }
  }

  // Weights for the gemm form: [K = (kh, kw, c), OC], as oneDNN's {K, OC} matrix stored
  // transposed ("ba" = [OC][K]).
  Tensor gemm_user_weights() const {
    const bool q = prec_ == Precision::kInt8;
    Tensor t(q ? DType::i8 : DType::f32, {oc_, col_k()});
    auto go = [&](const auto* w, auto* o) {
      const int64_t khw = kh_ * kw_;
#pragma omp parallel for schedule(static)
      for (int64_t oc = 0; oc < oc_; ++oc)
        for (int64_t c = 0; c < ic_; ++c)
          for (int64_t k = 0; k < khw; ++k)
            o[oc * col_k() + k * ic_ + c] = w[(oc * ic_ + c) * khw + k];
    };
    if (q)
      go(static_cast<const int8_t*>(user_w_.raw()), t.data<int8_t>());
    else
      go(static_cast<const float*>(user_w_.raw()), t.data<float>());
    return t;
  }

  ConvPrim create_gemm(int64_t batch, const ConvPrim* reuse) const {
    return guarded(str("Conv as matmul ", x_.str(), " -> ", out_.str()), [&] {
      const int64_t m = batch * oh() * ow();
      auto make = [&](const dnnl::memory::desc& wmd) {
        dnnl::matmul::desc d(dnnl::memory::desc({m, col_k()}, to_dnnl(x_.dtype), tag::ab), wmd,
                             has_bias() ? bias_md(true) : dnnl::memory::desc(),
                             dnnl::memory::desc({m, oc_}, to_dnnl(out_.dtype), tag::ab));
        return dnnl::matmul::primitive_desc(d, epi_.attr, engine());
      };
      if (reuse) {
        try {
          auto pd = make(reuse->weights.get_desc());
          return ConvPrim{make_prim<dnnl::matmul::primitive_desc, dnnl::matmul>(pd),
                          reuse->weights};
        } catch (const dnnl::error&) {
        }
      }
      auto pd = make(dnnl::memory::desc({col_k(), oc_}, w_dt_, tag::any));
      Tensor uw = gemm_user_weights();
      const dt udt = prec_ == Precision::kInt8 ? dt::s8 : dt::f32;
      dnnl::memory packed = pack_weights(dnnl::memory::desc({col_k(), oc_}, udt, tag::ba), uw.raw(),
                                         pd.weights_desc());
      return ConvPrim{make_prim<dnnl::matmul::primitive_desc, dnnl::matmul>(pd), packed};
    });
  }

  // For batches other than the maximum it first asks for the weights layout already packed (so
  // weights are packed once); if oneDNN has no implementation for it, it packs a copy.
  ConvPrim create_direct(int64_t batch, const ConvPrim* reuse) const {
    return guarded(str("Conv ", x_.str(), " -> ", out_.str()), [&] {
      auto make = [&](const dnnl::memory::desc& wmd) {
        dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                          dnnl::algorithm::convolution_direct, md_of(x_, batch),
                                          wmd, has_bias() ? bias_md(false) : dnnl::memory::desc(),
                                          md_of(out_, batch), strides_, dil_, pl_, pr_);
        return skip_faulty_impls(dnnl::convolution_forward::primitive_desc(d, epi_.attr, engine()));
      };
      if (reuse) {
        try {
          auto pd = make(reuse->weights.get_desc());
          return ConvPrim{
              make_prim<dnnl::convolution_forward::primitive_desc, dnnl::convolution_forward>(pd),
              reuse->weights};
        } catch (const dnnl::error&) {
        }
      }
      auto pd = make(dnnl::memory::desc(wdims_, w_dt_, tag::any));
      dnnl::memory packed = pack_weights(user_wmd_, user_w_.raw(), pd.weights_desc());
      return ConvPrim{
          make_prim<dnnl::convolution_forward::primitive_desc, dnnl::convolution_forward>(pd),
          packed};
    });
  }

  // One run at the maximum batch on scratch buffers (ms); `warm` runs once untimed first.
  double time_variant(bool gemm, bool warm) const {
    const bool saved = use_gemm_;
    use_gemm_ = gemm;
    if (!tune_ctx_) {
      tune_ctx_ = std::make_unique<CpuContext>(0);
      tune_src_ = Tensor(DType::u8, {static_cast<int64_t>(x_.bytes()) + 64});
      tune_dst_ = Tensor(DType::u8, {static_cast<int64_t>(out_.bytes()) + 64});
      // Small non-zero values that are finite in every dtype (0x3c3c: bf16 0.0115, f32 ~0.0115).
      std::memset(tune_src_.raw(), 0x3c, tune_src_.nbytes());
    }
    if (warm) run_impl(*tune_ctx_, max_batch_, tune_src_.raw(), tune_dst_.raw());
    auto t0 = std::chrono::steady_clock::now();
    run_impl(*tune_ctx_, max_batch_, tune_src_.raw(), tune_dst_.raw());
    tune_ctx_->stream().wait();
    use_gemm_ = saved;
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }

  Precision prec_ = Precision::kFp32;
  TensorSpec x_, out_;
  std::optional<TensorSpec> residual_;
  ResidualLoader residual_loader_;
  int64_t group_ = 1, oc_ = 0, ic_ = 0, kh_ = 1, kw_ = 1;
  dnnl::memory::dims strides_, pl_, pr_, dil_, wdims_;
  dt w_dt_ = dt::f32;
  Tensor user_w_, bias_;
  dnnl::memory::desc user_wmd_;
  Epilogue epi_;
  int64_t max_batch_ = 0;
  mutable bool use_gemm_ = false;                 // only changed inside prepare (timing)
  mutable std::unique_ptr<CpuContext> tune_ctx_;  // prepare-time timing only
  mutable Tensor tune_src_, tune_dst_;
  std::shared_ptr<const ConvPrim> direct_max_, gemm_max_;
  PerBatchCache<ConvPrim> cache_;
};

std::string conv_supports(const Node& n, Precision) {
  if (n.inputs.size() < 2 || !n.inputs[0] || !n.inputs[1]) return "missing inputs";
  if (n.inputs[0]->shape.size() != 4) return "only 2-D convolution";
  if (!n.inputs[1]->is_constant()) return "weights are not a constant";
  if (n.has_input(2) && !n.inputs[2]->is_constant()) return "bias is not a constant";
  if (n.attrs.has("auto_pad") && n.attrs.s("auto_pad") != "NOTSET" && n.attrs.s("auto_pad") != "")
    return "auto_pad " + n.attrs.s("auto_pad");
  if (n.has_input(3) && n.inputs[3]->shape.size() != 4) return "residual of another rank";
  return post_ops_unsupported(n);
}

}  // namespace

void register_conv_kernels(KernelRegistry& r) {
  for (OpKind op : {OpKind::Conv, OpKind::FusedConv})
    add_kernel(
        r, op, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, conv_supports,
        [](const Node&) { return nhwc_formats(true); },
        [] { return std::make_unique<ConvKernel>(); });
}

}  // namespace mpq::cpu
